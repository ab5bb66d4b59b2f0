"""Evolution API v2 adapter: sends, callback parsing, instance management, the number's
groups, number checks and inbound media (I/O only).

Every foreign failure is translated here, at the edge: sends raise ``ProviderTemporaryError`` /
``ProviderPermanentError`` / ``ProviderAuthError`` (see ``errortable``), management calls raise
``errors.Unavailable`` / ``errors.ValidationFailed`` / ``errors.ProviderAuthError``, and so do
the directory and media calls (plus ``errors.NotFound`` / ``errors.PayloadTooLarge`` for media).
Pacing is the dispatcher's job; this adapter never sleeps.
"""

from __future__ import annotations

import urllib.parse
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
from zapgate.providers.evolution_v2 import callbacks, directory, errortable, payloads

INSTANCE_PREFIX = "zapgate-"
SECRET_HEADER = "x-zapgate-secret"  # noqa: S105 - a header name, not a secret
EVENTS = ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE"]
STATES = {"open": "OPEN", "connecting": "CONNECTING", "close": "CLOSE", "refused": "CLOSE"}


def instance_name(ref: NumberRef) -> str:
    """The instance's name as a URL path segment."""
    stored = (ref.credentials or {}).get("instanceName")
    return urllib.parse.quote(str(stored) if stored else INSTANCE_PREFIX + ref.id, safe="")


FEATURES = common.unofficial_features(
    label="Evolution API v2 (QR code)", callback_path="evolution", media_source="EVO"
)


class EvolutionV2Provider:
    kind = ProviderKind.EVOLUTION_V2
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
        audio_presence_ms: int = 1500,
    ) -> None:
        self._base_url = (base_url or "").rstrip("/") or None
        self._api_key = api_key or None
        self._pace = pace_per_second
        self._jitter = pace_jitter
        self._audio_presence_ms = audio_presence_ms
        self._http = common.LazyClient(
            base_url=self._base_url or "", timeout=timeout, source_address=source_address
        )

    def __repr__(self) -> str:
        return f"EvolutionV2Provider(base_url={self._base_url!r}, api_key=***)"

    def capabilities(self, *, official: bool) -> Capabilities:
        return common.unofficial_capabilities(
            pace_per_second=self._pace, pace_jitter=self._jitter, base64_media=True
        )

    # -- sending ---------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self._configured:
            raise common.send_not_configured(
                "Evolution API v2 is not configured (ZAPGATE_EVOLUTION_URL / _API_KEY)"
            )
        request = payloads.build(message, audio_presence_ms=self._audio_presence_ms)
        path = f"/message/{request.endpoint}/{instance_name(message.number)}"
        with common.edge(_send_failure):
            response = await self._http().post(path, json=request.body, headers=self._headers(message.number))
        body = common.json_body(response)
        if response.status_code not in (200, 201):
            raise errortable.send_error(response.status_code, body)
        key_id = _key_id(body)
        if key_id is None:
            raise errors.ProviderTemporaryError("Evolution accepted the send without a message id")
        return SendResult(provider_message_id=key_id)

    def parse_callback(self, body: Any) -> list[ProviderEvent]:
        return callbacks.parse(body)

    # -- instance management (Provisioner) --------------------------------------------------

    async def provision(self, ref: NumberRef, *, callback_url: str, callback_secret: str) -> Provisioned:
        name = INSTANCE_PREFIX + ref.id
        body = {
            "instanceName": name,
            "integration": "WHATSAPP-BAILEYS",
            "qrcode": True,
            "number": ref.number,
            "webhook": {
                "url": callback_url,
                "byEvents": False,
                "base64": True,
                "headers": {SECRET_HEADER: callback_secret},
                "events": EVENTS,
            },
        }
        created = await self._manage("POST", "/instance/create", json=body) or {}
        qrcode: dict[str, Any] = created["qrcode"] if isinstance(created.get("qrcode"), dict) else {}
        state = str((created.get("instance") or {}).get("status") or "connecting")
        return Provisioned(
            credentials={
                "instanceName": name,
                "instanceToken": _token(created.get("hash")),
                "callbackSecret": callback_secret,
            },
            pairing=_pairing(STATES.get(state, "CONNECTING"), qrcode),
        )

    async def connect(self, ref: NumberRef) -> Pairing:
        params = {"number": ref.number} if ref.number else None
        found = await self._manage("GET", f"/instance/connect/{instance_name(ref)}", params=params) or {}
        if found.get("error") is True:  # Evolution answers failures here with 200
            raise errors.Unavailable(
                f"Evolution could not connect: {found.get('message')}", code="UPSTREAM_ERROR"
            )
        state = (found.get("instance") or {}).get("state")
        if state == "open":
            return Pairing("OPEN")
        return _pairing("CONNECTING", found)

    async def link_status(self, ref: NumberRef) -> LinkStatus:
        found = await self._manage(
            "GET", f"/instance/connectionState/{instance_name(ref)}", allow_missing=True
        )
        if found is None:
            return LinkStatus("CLOSE", health="INSTANCE_MISSING")
        state = str((found.get("instance") or {}).get("state") or "close")
        return LinkStatus(STATES.get(state, "CLOSE"), health="QR_LIMIT" if state == "refused" else None)

    async def deprovision(self, ref: NumberRef) -> None:
        # Deleting logs the session out first; an instance already gone is fine.
        await self._manage("DELETE", f"/instance/delete/{instance_name(ref)}", allow_missing=True)

    # -- the number's groups and number checks (Directory) ----------------------------------

    async def list_groups(self, ref: NumberRef) -> tuple[Group, ...]:
        """Without participants: Evolution refuses the call unless ``getParticipants`` is given."""
        body = await self._instance_call(
            ref, "GET", f"/group/fetchAllGroups/{instance_name(ref)}", params={"getParticipants": "false"}
        )
        return directory.groups(body)

    async def list_newsletters(self, ref: NumberRef) -> tuple[Newsletter, ...]:
        raise errors.NotSupported(
            "The number's channels are not available: Evolution API v2 cannot list channels",
            code="NOT_SUPPORTED",
        )

    async def check_numbers(self, ref: NumberRef, numbers: Sequence[str]) -> tuple[NumberCheck, ...]:
        if not numbers:
            return ()
        body = await self._instance_call(
            ref,
            "POST",
            f"/chat/whatsappNumbers/{instance_name(ref)}",
            json={"numbers": [number.lstrip("+") for number in numbers]},
        )
        return directory.number_checks(numbers, body)

    # -- inbound media (MediaSource) ---------------------------------------------------------

    async def download_media(self, ref: NumberRef, media_id: str, *, max_bytes: int) -> DownloadedMedia:
        """``media_id`` is the inbound message's key id: Evolution finds the message in its store
        and answers the decrypted media as base64 in a JSON document, read up to what that
        encoding of ``max_bytes`` takes (plus 64 KiB for the rest of the document)."""
        body = {"message": {"key": {"id": media_id}}, "convertToMp4": False}
        try:
            status, answer = await self._call(
                "POST",
                f"/chat/getBase64FromMediaMessage/{instance_name(ref)}",
                headers=self._headers(ref),
                json=body,
                max_bytes=max_bytes * 4 // 3 + 65_536,
            )
        except http.TooLarge:
            raise directory.too_large(max_bytes) from None
        if directory.message_not_found(status, answer):
            raise errors.NotFound(
                "Evolution has no media message with that id for this number", code="MEDIA_NOT_FOUND"
            )
        if not 200 <= status < 300:
            raise errortable.management_error(status, answer)
        return directory.media(answer, max_bytes=max_bytes)

    # -- callbacks (one URL per number) ------------------------------------------------------

    def callback_keys(self, numbers: Sequence[CallbackNumber]) -> object:
        """The number's callback secrets: one per link (a dual number has two instances)."""
        return tuple(str(n.credentials.get("callbackSecret") or "") for n in numbers) or None

    def accept_callback(self, request: CallbackRequest, keys: object) -> AcceptedCallback:
        """Evolution v2 posts with the ``x-zapgate-secret`` header Zapgate set on the instance
        (or ``?secret=`` in the URL)."""
        given = request.headers.get(SECRET_HEADER.lower()) or request.query.get("secret")
        if not common.one_of_secrets(given, keys):
            raise common.refused()
        return AcceptedCallback(body=common.callback_json(request.raw))

    def callback_handshake(self, query: Mapping[str, str]) -> str:
        return common.no_handshake(query)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing --------------------------------------------------------------------------

    @property
    def _configured(self) -> bool:
        return self._base_url is not None and self._api_key is not None

    def _headers(self, ref: NumberRef) -> dict[str, str]:
        token = (ref.credentials or {}).get("instanceToken")
        return {"apikey": str(token or self._api_key)}

    async def _manage(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        allow_missing: bool = False,
    ) -> dict[str, Any] | None:
        """One management call with the global key; ``None`` for an unknown instance when
        ``allow_missing``."""
        status, body = await self._call(
            method, path, headers={"apikey": str(self._api_key)}, json=json, params=params
        )
        if allow_missing and errortable.describe(status, body).instance_missing:
            return None
        if not 200 <= status < 300:
            raise errortable.management_error(status, body)
        return body if isinstance(body, dict) else {}

    async def _instance_call(self, ref: NumberRef, method: str, path: str, **request: Any) -> Any:
        """A call on the number's instance with its token; the answer's body (any JSON)."""
        status, body = await self._call(method, path, headers=self._headers(ref), **request)
        if not 200 <= status < 300:
            raise errortable.management_error(status, body)
        return body

    async def _call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        params: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> tuple[int, Any]:
        if not self._configured:
            raise errors.Unavailable(
                "Evolution API v2 is not configured (ZAPGATE_EVOLUTION_URL / ZAPGATE_EVOLUTION_API_KEY)",
                code="PROVIDER_NOT_CONFIGURED",
            )
        with common.edge(_management_failure):
            response = await self._http().request(
                method, path, json=json, params=params, headers=headers, max_bytes=max_bytes
            )
        return response.status_code, common.json_body(response)


def _pairing(state: str, qrcode: dict[str, Any]) -> Pairing:
    return Pairing(
        state, qrcode_base64=qrcode.get("base64") or None, pairing_code=qrcode.get("pairingCode") or None
    )


def _token(value: Any) -> str | None:
    if isinstance(value, dict):  # Evolution v1 answered {"apikey": ...}
        value = value.get("apikey")
    return value if isinstance(value, str) and value else None


def _key_id(body: Any) -> str | None:
    key = body.get("key") if isinstance(body, dict) else None
    key_id = key.get("id") if isinstance(key, dict) else None
    return key_id if isinstance(key_id, str) and key_id else None


def _send_failure(exc: http.TransportError) -> errors.ProviderTemporaryError:
    if isinstance(exc, http.TransportTimeout):
        return errors.ProviderTemporaryError("Evolution did not answer in time")
    return errors.ProviderTemporaryError(f"Evolution is unreachable ({type(exc).__name__})")


def _management_failure(exc: http.TransportError) -> errors.Unavailable:
    return errors.Unavailable(f"Evolution is unreachable ({type(exc).__name__})", code="UPSTREAM_TIMEOUT")
