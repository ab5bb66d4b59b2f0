"""Meta WhatsApp Cloud API provider (I/O only).

Request bodies come from :mod:`payloads` and :mod:`templates`, errors are translated by
:mod:`errortable`, callbacks parsed by :mod:`callbacks`; this module only talks HTTP. One
The HTTP client (``providers.http``) is created on first use and closed by :meth:`MetaProvider.aclose`. The
access token travels in the ``Authorization`` header only: it is never logged nor put in an
exception message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zapgate import errors
from zapgate.providers import common, http
from zapgate.providers.base import (
    AcceptedCallback,
    CallbackNumber,
    CallbackRequest,
    CallbackScope,
    Capabilities,
    DownloadedMedia,
    Features,
    NumberProfile,
    NumberRef,
    OutboundMessage,
    ProviderEvent,
    ProviderKind,
    Registration,
    SendResult,
    TemplateSubmission,
)
from zapgate.providers.meta import callback_auth, callbacks, errortable, payloads, templates

GRAPH_API_VERSION = "v23.0"
DEFAULT_PACE_PER_SECOND = 80.0
MAX_IN_FLIGHT = 32
# A second of the number's pace in flight: the Graph API answers a send in a few hundred ms, so
# 32 in flight held a number at 80 msg/s to about 56 msg/s at 500 ms (bench/pacing.py).
IN_FLIGHT_SECONDS = 1.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """What ``NumberRef.credentials`` holds for a Meta number (``appSecret`` is for the web
    layer's callback check and not needed here)."""

    phone_number_id: str
    access_token: str = field(repr=False)
    waba_id: str | None = None

    @classmethod
    def of(cls, ref: NumberRef) -> Credentials | None:
        raw = ref.credentials or {}
        pnid, token, waba = (raw.get(k) for k in ("phoneNumberId", "accessToken", "wabaId"))
        if not isinstance(pnid, str | int) or not pnid or not isinstance(token, str) or not token:
            return None
        return cls(
            phone_number_id=str(pnid),
            access_token=token,
            waba_id=str(waba) if isinstance(waba, str | int) and waba else None,
        )


INCOMPLETE = "Meta credentials incomplete: phoneNumberId and accessToken are needed"
# Template statuses Meta accepts an edit in (providers.md A.7).
EDITABLE = ("APPROVED", "REJECTED", "PAUSED")
GONE = "GONE"  # our word for a template Meta does not know (any more)
DELETED = frozenset({GONE, "DELETED", "PENDING_DELETION"})


FEATURES = Features(
    label="Meta Cloud API (your WABA)",
    registration=Registration.CREDENTIALS,
    template_submission=True,
    cloud_api=True,
    callback_scope=CallbackScope.APP,
    callback_path="meta",
    media_source="META",
)


class MetaProvider:
    kind = ProviderKind.META
    features = FEATURES

    def __init__(
        self,
        *,
        graph_url: str,
        timeout: float = 15.0,
        source_address: str | None = None,
        app_secret: str = "",
        verify_token: str = "",
    ) -> None:
        """``app_secret``: the operator's app secret, for numbers registered without their own;
        ``verify_token``: the answer Meta's subscription check must carry."""
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._graph_url = graph_url.rstrip("/")
        self._http = common.LazyClient(
            base_url=self._graph_url, timeout=timeout, source_address=source_address
        )

    def capabilities(self, *, official: bool) -> Capabilities:
        return Capabilities(
            base64_media=True,
            groups=False,
            newsletters=False,
            templates_need_approval=True,
            enforces_24h_window=True,
            mark_read_on_send=True,
            default_pace_per_second=DEFAULT_PACE_PER_SECOND,
            max_in_flight=MAX_IN_FLIGHT,
            in_flight_seconds=IN_FLIGHT_SECONDS,
            modes=frozenset({"template", "text", "media", "list", "flow"}),
        )

    # -- sending -----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        creds = Credentials.of(message.number)
        if creds is None:
            raise errors.ProviderAuthError(INCOMPLETE)
        media_id = await self._upload_if_needed(creds, message)
        body = payloads.build(message, media_id=media_id)
        marked = False
        if message.mark_read and message.mark_read_message_id:
            marked = await self._mark_read(creds, message, message.mark_read_message_id)
        answer = await self._send_call(creds, "messages", message.attempt, json=body)
        return SendResult(provider_message_id=_wamid(answer), marked_read=marked)

    async def _upload_if_needed(self, creds: Credentials, message: OutboundMessage) -> str | None:
        source = payloads.upload_source(message)
        if source is None:
            return None
        file_name = message.payload.get("fileName")
        upload = payloads.decode_data_uri(source, file_name=file_name if isinstance(file_name, str) else None)
        answer = await self._send_call(
            creds,
            "media",
            message.attempt,
            files={"file": (upload.file_name, upload.content, upload.mime_type)},
            data={"type": upload.mime_type, "messaging_product": "whatsapp"},
        )
        media_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(media_id, str | int) or isinstance(media_id, bool):
            raise errors.ProviderTemporaryError("Meta media upload answered without an id")
        return str(media_id)

    async def _mark_read(self, creds: Credentials, message: OutboundMessage, inbound_id: str) -> bool:
        """Read receipt + typing indicator (True when Meta took it); only an auth failure stops
        the send."""
        try:
            await self._send_call(creds, "messages", message.attempt, json=payloads.mark_read(inbound_id))
            return True
        except errors.ProviderAuthError:
            raise
        except errors.ProviderError as exc:
            log.warning(
                "meta mark-read failed; sending anyway",
                extra={
                    "fields": {
                        "message_id": message.message_id,
                        "phone_number_id": creds.phone_number_id,
                        "error": exc.message,
                    }
                },
            )
            return False

    async def _send_call(self, creds: Credentials, what: str, attempt: int, **request: Any) -> Any:
        path = f"/{GRAPH_API_VERSION}/{creds.phone_number_id}/{what}"
        with common.edge(errortable.transport_error):
            response = await self._http().post(path, headers=_auth(creds), **request)
        answer = common.json_body(response)
        if not response.is_success:
            raise errortable.send_error(response.status_code, answer, attempt=attempt)
        return answer

    # -- callbacks ---------------------------------------------------------------------------

    def parse_callback(self, body: Any) -> list[ProviderEvent]:
        return callbacks.parse(body)

    # -- number management -------------------------------------------------------------------

    async def submit_template(self, ref: NumberRef, template: dict[str, Any]) -> TemplateSubmission:
        creds = _managed(ref)
        body = templates.create_body(template)
        path = f"/{GRAPH_API_VERSION}/{_waba_id(creds)}/message_templates"
        answer = await self._manage("POST", path, creds, json=body)
        template_id = _str(answer.get("id"))
        if template_id is None:
            raise errors.Unavailable("Meta answered the template submit without an id", code="UPSTREAM_ERROR")
        return TemplateSubmission(
            provider_template_id=template_id, status=_str(answer.get("status")) or "PENDING"
        )

    async def edit_template(
        self, ref: NumberRef, provider_template_id: str, template: dict[str, Any]
    ) -> None:
        """New content for a template Meta already has: it keeps its id and goes back to review.
        Meta refuses the edit unless the template is APPROVED, REJECTED or PAUSED; that refusal
        becomes ``TEMPLATE_NOT_EDITABLE``."""
        creds = _managed(ref)
        body = templates.edit_body(template)
        try:
            answer = await self._manage(
                "POST", f"/{GRAPH_API_VERSION}/{provider_template_id}", creds, json=body
            )
        except errors.ValidationFailed as refused:
            conflict = await self._not_editable(creds, provider_template_id, refused)
            if conflict is None:
                raise
            raise conflict from refused
        if answer.get("success") is not True:
            raise errors.Unavailable("Meta answered the template edit without success", code="UPSTREAM_ERROR")

    async def delete_template(self, ref: NumberRef, name: str, provider_template_id: str) -> None:
        """Delete one template at Meta (``hsm_id`` limits it to this language). A template Meta
        no longer knows counts as deleted; any other refusal is ``TEMPLATE_NOT_DELETABLE``."""
        creds = _managed(ref)
        path = f"/{GRAPH_API_VERSION}/{_waba_id(creds)}/message_templates"
        try:
            await self._manage("DELETE", path, creds, params={"name": name, "hsm_id": provider_template_id})
        except errors.ValidationFailed as refused:
            if await self._template_status(creds, provider_template_id) in DELETED:
                return
            raise errors.Conflict(
                f"Meta refused to delete the template: {refused.message}", code="TEMPLATE_NOT_DELETABLE"
            ) from refused

    async def _not_editable(
        self, creds: Credentials, template_id: str, refused: errors.ValidationFailed
    ) -> errors.Conflict | None:
        # Meta's refusal names no reason we could branch on (code 100 also means bad content),
        # so the template's own status tells a state refusal apart.
        status = await self._template_status(creds, template_id)
        if status is None or status == GONE or status in EDITABLE:
            return None
        return errors.Conflict(
            f"Meta cannot edit the template while it is {status} (only "
            f"{', '.join(EDITABLE)} templates can be edited): {refused.message}",
            code="TEMPLATE_NOT_EDITABLE",
            details={"metaStatus": status},
        )

    async def _template_status(self, creds: Credentials, template_id: str) -> str | None:
        """Meta's status of one template, ``GONE`` when Meta does not know it, None when Meta
        could not be asked."""
        try:
            answer = await self._manage(
                "GET", f"/{GRAPH_API_VERSION}/{template_id}", creds, params={"fields": "status"}
            )
        except errors.ValidationFailed:
            return GONE
        except (errors.Unavailable, errors.ProviderAuthError):
            return None
        return _str(answer.get("status"))

    async def describe_number(self, ref: NumberRef) -> NumberProfile:
        creds = _managed(ref)
        answer = await self._manage(
            "GET",
            f"/{GRAPH_API_VERSION}/{creds.phone_number_id}",
            creds,
            params={"fields": "display_phone_number,verified_name,quality_rating"},
        )
        return NumberProfile(
            display_phone_number=_str(answer.get("display_phone_number")),
            verified_name=_str(answer.get("verified_name")),
            quality_rating=_str(answer.get("quality_rating")),
        )

    # -- inbound media -----------------------------------------------------------------------

    async def download_media(self, ref: NumberRef, media_id: str, *, max_bytes: int) -> DownloadedMedia:
        """Graph's two steps: ``GET /{media-id}`` for a short-lived URL, then that URL with the
        same token, streamed and cut at ``max_bytes``. Meta keeps inbound media for 7 days."""
        creds = _managed(ref)
        try:
            info = await self._manage(
                "GET",
                f"/{GRAPH_API_VERSION}/{media_id}",
                creds,
                params={"phone_number_id": creds.phone_number_id},
            )
        except errors.ValidationFailed as refused:  # Graph error 100: no such (or expired) media
            raise errors.NotFound(
                "Meta has no media with that id for this number (unknown, or older than 7 days)",
                code="MEDIA_NOT_FOUND",
            ) from refused
        url, mime = _str(info.get("url")), _str(info.get("mime_type")) or "application/octet-stream"
        if url is None:
            raise errors.Unavailable("Meta answered the media lookup without a URL", code="UPSTREAM_ERROR")
        if _int(info.get("file_size"), 0) > max_bytes:
            raise _too_large(max_bytes)
        try:
            with common.edge(errortable.management_transport_error):
                response = await self._http().download(url, headers=_auth(creds), max_bytes=max_bytes)
        except http.TooLarge:
            raise _too_large(max_bytes) from None
        if response.status_code == 404:
            raise errors.NotFound("Meta no longer has this media", code="MEDIA_NOT_FOUND")
        if not response.is_success:
            status = response.status_code
            raise errors.Unavailable(
                f"Meta answered the media download with HTTP {status}", code="UPSTREAM_ERROR"
            )
        return DownloadedMedia(response.content, mime)

    async def _manage(self, method: str, path: str, creds: Credentials, **request: Any) -> dict[str, Any]:
        with common.edge(errortable.management_transport_error):
            response = await self._http().request(method, path, headers=_auth(creds), **request)
        answer = common.json_body(response)
        if not response.is_success:
            raise errortable.management_error(response.status_code, answer)
        return answer if isinstance(answer, dict) else {}

    def callback_keys(self, numbers: Sequence[CallbackNumber]) -> object:
        return callback_auth.keys(numbers, self._app_secret)

    def accept_callback(self, request: CallbackRequest, keys: object) -> AcceptedCallback:
        assert isinstance(keys, tuple)
        return callback_auth.accept(request, keys)

    def callback_handshake(self, query: Mapping[str, str]) -> str:
        return callback_auth.handshake(query, self._verify_token)

    async def aclose(self) -> None:
        await self._http.aclose()


def _auth(creds: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {creds.access_token}"}


def _managed(ref: NumberRef) -> Credentials:
    creds = Credentials.of(ref)
    if creds is None:
        raise errors.Unavailable(INCOMPLETE, code="PROVIDER_NOT_CONFIGURED")
    return creds


def _waba_id(creds: Credentials) -> str:
    if creds.waba_id is None:
        raise errors.Unavailable(
            "Meta credentials lack the wabaId templates are managed in", code="PROVIDER_NOT_CONFIGURED"
        )
    return creds.waba_id


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


def _wamid(answer: Any) -> str:
    messages = answer.get("messages") if isinstance(answer, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = _str(first.get("id")) if isinstance(first, dict) else None
    if wamid is None:
        # Accepted but unidentifiable: a retry could send twice, so do not retry.
        raise errors.ProviderPermanentError(
            "Meta accepted the message without a message id", code="PROVIDER_REJECTED"
        )
    return wamid


def _int(value: Any, default: int) -> int:
    """An int Graph may send as a string (``file_size``)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _too_large(max_bytes: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"The media is larger than the download limit ({max_bytes:,} bytes; ZAPGATE_MEDIA_MAX_BYTES)",
        code="MEDIA_TOO_LARGE",
    )
