"""Evolution GO adapter: HTTP I/O only (payloads, error table, callback parsing and directory
answers are pure modules next to this one).

Two keys on one header (``apikey``): the server's global key for admin routes (create, info,
delete) and each instance's own token for everything else. Zapgate uses the instance token as
the callback secret too: Evolution GO puts ``instanceToken`` in every webhook body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from zapgate import errors
from zapgate.providers import common, http
from zapgate.providers.base import (
    AcceptedCallback,
    CallbackNumber,
    CallbackRequest,
    Capabilities,
    DownloadedMedia,
    Group,
    LinkStatus,
    Newsletter,
    NumberCheck,
    NumberRef,
    OutboundMessage,
    Pairing,
    ProviderEvent,
    ProviderKind,
    Provisioned,
    SendResult,
)
from zapgate.providers.evolution_go import callbacks, directory, errortable, payloads

SUBSCRIBE = ["MESSAGE", "SEND_MESSAGE", "READ_RECEIPT", "CONNECTION", "QRCODE"]
INSTANCE_PREFIX = "zapgate-"
# The QR code appears a moment after the client starts: ask again every 0.25 s for a while.
QR_INTERVAL_SECONDS = 0.25
NO_QR_YET = "no qr code available"
ALREADY_LOGGED_IN = "session already logged in"


FEATURES = common.unofficial_features(
    label="Evolution GO (QR code)", callback_path="evolution-go", media_source="EVO_GO"
)


class EvolutionGoProvider:
    kind = ProviderKind.EVOLUTION_GO
    features = FEATURES

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        pace_per_second: float = 0.5,
        pace_jitter: float = 0.5,
        timeout: float = 30.0,
        source_address: str | None = None,
        qr_wait: float = 3.0,
    ) -> None:
        self._base_url = (base_url or "").rstrip("/")
        self._api_key = api_key or ""
        self._pace = pace_per_second
        self._jitter = pace_jitter
        self._qr_attempts = max(1, round(qr_wait / QR_INTERVAL_SECONDS))
        self._http = common.LazyClient(
            base_url=self._base_url, timeout=timeout, source_address=source_address
        )

    def __repr__(self) -> str:
        return f"EvolutionGoProvider(base_url={self._base_url!r}, api_key=<redacted>)"

    def capabilities(self, *, official: bool) -> Capabilities:
        return common.unofficial_capabilities(
            pace_per_second=self._pace, pace_jitter=self._jitter, base64_media=False
        )

    # -- sending ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self._configured:
            raise common.send_not_configured(
                "Evolution GO is not configured (ZAPGATE_EVOLUTION_GO_URL / _API_KEY)"
            )
        token = _instance_token(message.number)
        plan = payloads.build(message)
        data: Any = None
        for call in plan.calls:
            data = await self._send_call(call, token)
        message_id = _dig(data, "Info", "ID")
        if not isinstance(message_id, str) or not message_id:
            raise errors.ProviderTemporaryError(
                "Evolution GO answered without Info.ID", code="DELIVERY_TIMEOUT"
            )
        return SendResult(provider_message_id=message_id)

    async def _send_call(self, call: payloads.Call, token: str) -> Any:
        with common.edge(_send_failure):
            response = await self._http().post(call.path, json=call.body, headers={"apikey": token})
        body = common.json_body(response, text_fallback=True)
        if response.status_code >= 300:
            raise errortable.send_error(response.status_code, body)
        return body.get("data") if isinstance(body, dict) else None

    def parse_callback(self, body: Any) -> list[ProviderEvent]:
        return callbacks.parse(body)

    # -- number management (Provisioner) ----------------------------------------------------

    async def provision(self, ref: NumberRef, *, callback_url: str, callback_secret: str) -> Provisioned:
        name = INSTANCE_PREFIX + ref.id
        instance = await self._create(name, callback_secret)
        await self._start(callback_secret, callback_url)
        pairing = await self._pairing(ref, callback_secret)
        credentials = {
            "instanceName": name,
            "instanceId": str(instance.get("id", "")),
            "instanceToken": callback_secret,
            "callbackUrl": callback_url,
        }
        return Provisioned(credentials=credentials, pairing=pairing)

    async def connect(self, ref: NumberRef) -> Pairing:
        self._require_configured()
        token = _instance_token(ref)
        status = await self._status(token)
        if status is not None and status.get("LoggedIn") and status.get("Connected"):
            return Pairing("OPEN")
        # (Re)starting the client re-sends the webhook and subscriptions: /instance/connect
        # overwrites both, and /instance/disconnect clears the subscriptions.
        await self._start(token, await self._callback_url(ref))
        return await self._pairing(ref, token)

    async def link_status(self, ref: NumberRef) -> LinkStatus:
        self._require_configured()
        status = await self._status(_instance_token(ref))
        if status is None:
            return LinkStatus("CLOSE", health="DISCONNECTED")
        name = status.get("Name") if isinstance(status.get("Name"), str) else None
        if status.get("Connected") and status.get("LoggedIn"):
            return LinkStatus("OPEN", profile_name=name or None)
        if status.get("Connected"):
            return LinkStatus("CONNECTING")
        return LinkStatus("CLOSE", health="DISCONNECTED")

    async def deprovision(self, ref: NumberRef) -> None:
        credentials = ref.credentials or {}
        instance_id = credentials.get("instanceId") or await self._find_id(
            str(credentials.get("instanceName") or INSTANCE_PREFIX + ref.id)
        )
        if not instance_id:
            return
        status, body = await self._manage(
            "DELETE", f"/instance/delete/{instance_id}", self._api_key, raise_for_status=False
        )
        if status >= 300 and "not found" not in errortable.full_text(body).lower():
            raise errortable.management_error(status, body)

    # -- the number's groups, channels and number checks (Directory) ------------------------

    async def list_groups(self, ref: NumberRef) -> tuple[Group, ...]:
        return directory.groups(await self._data(ref, "GET", "/group/list"))

    async def list_newsletters(self, ref: NumberRef) -> tuple[Newsletter, ...]:
        return directory.newsletters(await self._data(ref, "GET", "/newsletter/list"))

    async def check_numbers(self, ref: NumberRef, numbers: Sequence[str]) -> tuple[NumberCheck, ...]:
        if not numbers:
            return ()
        body = {"number": list(numbers), "formatJid": True}
        return directory.number_checks(numbers, await self._data(ref, "POST", "/user/check", body=body))

    async def _data(self, ref: NumberRef, method: str, path: str, *, body: Any = None) -> Any:
        """The ``data`` of a call on the number's instance (with its token)."""
        self._require_configured()
        _, answer = await self._manage(method, path, _instance_token(ref), body=body)
        return _dig(answer, "data")

    # -- callbacks (one URL per number) ------------------------------------------------------

    def callback_keys(self, numbers: Sequence[CallbackNumber]) -> object:
        """The number's instance tokens: one per link (a dual number has two instances)."""
        return tuple(str(n.credentials.get("instanceToken") or "") for n in numbers) or None

    def accept_callback(self, request: CallbackRequest, keys: object) -> AcceptedCallback:
        """Evolution GO carries the instance token (Zapgate generated it) in every body."""
        body = common.callback_json(request.raw)
        given = body.get("instanceToken") if isinstance(body, dict) else None
        if not common.one_of_secrets(given, keys):
            raise common.refused()
        return AcceptedCallback(body=body)

    def callback_handshake(self, query: Mapping[str, str]) -> str:
        return common.no_handshake(query)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- management steps -------------------------------------------------------------------

    async def _create(self, name: str, token: str) -> dict[str, Any]:
        body = {"name": name, "token": token}
        status, answer = await self._manage(
            "POST", "/instance/create", self._api_key, body=body, raise_for_status=False
        )
        if status >= 300 and "already exists" in errortable.full_text(answer):
            # A provisioning attempt that died half-way left our instance behind: start over.
            stale = await self._find_id(name)
            if stale:
                await self._manage("DELETE", f"/instance/delete/{stale}", self._api_key)
            status, answer = await self._manage(
                "POST", "/instance/create", self._api_key, body=body, raise_for_status=False
            )
        if status >= 300:
            raise errortable.management_error(status, answer)
        data = answer.get("data") if isinstance(answer, dict) else None
        return data if isinstance(data, dict) else {}

    async def _start(self, token: str, callback_url: str) -> None:
        await self._manage(
            "POST", "/instance/connect", token, body={"webhookUrl": callback_url, "subscribe": SUBSCRIBE}
        )

    async def _pairing(self, ref: NumberRef, token: str) -> Pairing:
        qrcode = await self._qrcode(token)
        if qrcode == ALREADY_LOGGED_IN:
            return Pairing("OPEN")
        _, answer = await self._manage("POST", "/instance/pair", token, body={"phone": ref.number})
        code = _dig(answer, "data", "PairingCode")
        return Pairing(
            "CONNECTING", qrcode_base64=qrcode, pairing_code=code if isinstance(code, str) and code else None
        )

    async def _qrcode(self, token: str) -> str | None:
        """The QR data URI, ALREADY_LOGGED_IN, or None when none came up in time."""
        for attempt in range(self._qr_attempts):
            status, answer = await self._manage("GET", "/instance/qr", token, raise_for_status=False)
            text = errortable.full_text(answer).lower()
            if status < 300:
                qrcode = _dig(answer, "data", "Qrcode")
                return qrcode if isinstance(qrcode, str) and qrcode else None
            if ALREADY_LOGGED_IN in text:
                return ALREADY_LOGGED_IN
            if NO_QR_YET not in text:
                raise errortable.management_error(status, answer)
            if attempt + 1 < self._qr_attempts:
                await asyncio.sleep(QR_INTERVAL_SECONDS)
        return None

    async def _status(self, token: str) -> dict[str, Any] | None:
        """``/instance/status`` data, or None when the instance has no running session."""
        status, answer = await self._manage("GET", "/instance/status", token, raise_for_status=False)
        if status < 300:
            data = _dig(answer, "data")
            return data if isinstance(data, dict) else {}
        text = errortable.full_text(answer).lower()
        if status == 400 and ("no active session" in text or "client disconnected" in text):
            return None
        raise errortable.management_error(status, answer)

    async def _callback_url(self, ref: NumberRef) -> str:
        stored = (ref.credentials or {}).get("callbackUrl")
        if isinstance(stored, str) and stored:
            return stored
        instance_id = (ref.credentials or {}).get("instanceId")
        _, answer = await self._manage("GET", f"/instance/info/{instance_id}", self._api_key)
        webhook = _dig(answer, "data", "webhook")
        return webhook if isinstance(webhook, str) else ""

    async def _find_id(self, name: str) -> str | None:
        _, answer = await self._manage("GET", "/instance/all", self._api_key)
        rows = _dig(answer, "data")
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("name") == name and row.get("id"):
                return str(row["id"])
        return None

    async def _manage(
        self, method: str, path: str, key: str, *, body: Any = None, raise_for_status: bool = True
    ) -> tuple[int, Any]:
        self._require_configured()
        with common.edge(_management_failure):
            response = await self._http().request(method, path, json=body, headers={"apikey": key})
        answer = common.json_body(response, text_fallback=True)
        if raise_for_status and response.status_code >= 300:
            raise errortable.management_error(response.status_code, answer)
        if errortable.is_license_gate(response.status_code, answer):
            raise errortable.management_error(response.status_code, answer)
        return response.status_code, answer

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _configured(self) -> bool:
        return bool(self._base_url and self._api_key)

    def _require_configured(self) -> None:
        if not self._configured:
            raise errors.Unavailable(
                "Evolution GO is not configured: set "
                "ZAPGATE_EVOLUTION_GO_URL and ZAPGATE_EVOLUTION_GO_API_KEY",
                code="PROVIDER_NOT_CONFIGURED",
            )

    # -- inbound media (MediaSource of links) -------------------------------------------------

    async def download_media(self, ref: NumberRef, media_id: str, *, max_bytes: int) -> DownloadedMedia:
        """Evolution GO has no download of an old message's media: with S3/MinIO its webhook
        carries a presigned link (``Message.mediaUrl``), which Zapgate keeps at intake and
        hands here as ``media_id`` (never a customer's input: see the registry). Read with no
        key (the link carries its own signature), streamed, cut at ``max_bytes``."""
        try:
            with common.edge(directory.media_unreachable):
                response = await self._http().download(
                    directory.media_link(media_id), headers={}, max_bytes=max_bytes
                )
        except http.TooLarge:
            raise directory.media_too_large(max_bytes) from None
        return directory.media(response)


def _send_failure(exc: http.TransportError) -> errors.ProviderTemporaryError:
    if isinstance(exc, http.TransportTimeout):
        return errors.ProviderTemporaryError("Evolution GO did not answer in time", code="DELIVERY_TIMEOUT")
    return errors.ProviderTemporaryError(
        f"Evolution GO unreachable: {type(exc).__name__}", code="DELIVERY_TIMEOUT"
    )


def _management_failure(exc: http.TransportError) -> errors.Unavailable:
    return errors.Unavailable(f"Evolution GO unreachable: {type(exc).__name__}", code="UPSTREAM_TIMEOUT")


def _instance_token(ref: NumberRef) -> str:
    token = (ref.credentials or {}).get("instanceToken")
    if not isinstance(token, str) or not token:
        raise errors.ProviderAuthError("No Evolution GO instance token is stored for this number")
    return token


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
