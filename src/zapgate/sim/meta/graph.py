"""The Graph API half of the Meta simulator: sends, media, number profile and templates
(routes are listed in ``zapgate.sim.meta.app``)."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.common import Fault, apply_transport_fault, status_sequence
from zapgate.sim.meta import templates as meta_templates
from zapgate.sim.meta.delivery import MetaContext
from zapgate.sim.meta.errors import GraphError, bad_token, invalid, unknown_object
from zapgate.sim.meta.state import Inbound, Media, Outbound, SimNumber, TokenBucket, new_media_id
from zapgate.sim.meta.templates import STATUS_ERRORS, Template
from zapgate.sim.meta.validate import SendRequest, is_mark_read, validate_mark_read, validate_send
from zapgate.sim.meta.webhooks import billing, wamid

VERSION = re.compile(r"^v\d+\.\d+$")
MB = 1024 * 1024
MEDIA_LIMITS = {
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "image/webp": 500 * 1024,
    "video/mp4": 16 * MB,
    "video/3gpp": 16 * MB,
    "audio/aac": 16 * MB,
    "audio/amr": 16 * MB,
    "audio/mpeg": 16 * MB,
    "audio/mp4": 16 * MB,
    "audio/ogg": 16 * MB,
    "text/plain": 100 * MB,
    "application/pdf": 100 * MB,
    "application/msword": 100 * MB,
    "application/vnd.ms-excel": 100 * MB,
    "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
}


@dataclass(frozen=True)
class Call:
    request: Request
    version: str
    object_id: str
    token: str
    body: Any
    fault: Fault | None

    @property
    def method(self) -> str:
        return self.request.method


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


Handler = Callable[[Call], Awaitable[Response]]


class GraphApi:
    def __init__(self, ctx: MetaContext) -> None:
        self.ctx = ctx
        self._url_key = secrets.token_bytes(16)

    def routes(self) -> list[Route]:
        return [
            Route("/whatsapp_business/attachments/", self.download, methods=["GET"]),
            Route("/{version}/{object_id}/messages", self._graph(self.messages), methods=["POST"]),
            Route("/{version}/{object_id}/media", self._graph(self.upload), methods=["POST"]),
            Route(
                "/{version}/{object_id}/message_templates",
                self._graph(self.templates),
                methods=["GET", "POST", "DELETE"],
            ),
            Route("/{version}/{object_id}", self._graph(self.node), methods=["GET", "POST", "DELETE"]),
        ]

    # -- the Graph edge: version, faults, token ----------------------------------------------

    def _graph(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await self.ctx.sim.log_request(request)
            version = str(request.path_params["version"])
            try:
                if not VERSION.match(version):
                    raise GraphError(
                        2500, message=f"Unknown path components: {request.url.path}", with_error_data=False
                    )
                fault = self.ctx.sim.take_fault(request.url.path, _recipient(body))
                early = await self._fault(fault)
                if early is not None:
                    return early
                return await handler(
                    Call(
                        request,
                        version,
                        str(request.path_params["object_id"]),
                        self._token(request),
                        body,
                        fault,
                    )
                )
            except GraphError as exc:
                return exc.response(version if VERSION.match(version) else None)

        return endpoint

    async def _fault(self, fault: Fault | None) -> Response | None:
        if fault is None or fault.kind == "async_error":
            return None
        if fault.kind == "error":
            raise GraphError(int(fault.code) if fault.code is not None else 131000, status=fault.status)
        return await apply_transport_fault(fault)

    def _token(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        token = (
            header[7:].strip()
            if header.lower().startswith("bearer ")
            else request.query_params.get("access_token", "")
        )
        if not token or not self.ctx.meta.token_known(token):
            raise bad_token(bool(token))
        return token

    def _number(self, call: Call) -> SimNumber:
        number = self.ctx.meta.numbers.get(call.object_id)
        if number is None or number.access_token != call.token:
            raise unknown_object(call.object_id, call.method)
        return number

    @staticmethod
    def _json(call: Call, payload: Any) -> JSONResponse:
        return JSONResponse(
            payload, headers={"facebook-api-version": call.version, "x-fb-trace-id": secrets.token_urlsafe(8)}
        )

    # -- POST /{v}/{phone-number-id}/messages --------------------------------------------------

    async def messages(self, call: Call) -> Response:
        number = self._number(call)
        if isinstance(call.body, dict) and is_mark_read(call.body):
            return self._mark_read(call, number, call.body)
        send = validate_send(call.body)
        template = self._template(number, send) if send.type == "template" else None
        if send.digits == re.sub(r"\D", "", number.display_phone_number):
            raise GraphError(131021)
        self._throttle(number, send)
        wa_id = str(self.ctx.sim.config["waIdOverrides"].get(send.digits, send.digits))
        failure = self._failure(call, number, send, wa_id)
        message = Outbound(
            id=wamid(wa_id),
            phone_number_id=number.phone_number_id,
            to=send.to,
            wa_id=wa_id,
            type=send.type,
            request=call.body,
            tracker=send.tracker,
            failure=failure[0] if failure else None,
            failure_details=failure[1] if failure else None,
            billing=self._billing(number, wa_id, template),
        )
        self.ctx.meta.outbound[message.id] = message
        self.ctx.delivery.schedule(message.id, self._sequence(send, failure is not None))
        return self._json(call, self._accepted(send, message, template))

    def _accepted(self, send: SendRequest, message: Outbound, template: Template | None) -> dict[str, Any]:
        item: dict[str, Any] = {"id": message.id}
        if template is not None:
            item["message_status"] = self.ctx.sim.config["templateMessageStatus"]
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": send.to, "wa_id": message.wa_id}],
            "messages": [item],
        }

    def _template(self, number: SimNumber, send: SendRequest) -> Template:
        name, code = str(send.obj["name"]), str(send.obj["language"]["code"])
        template = self.ctx.meta.find_template(number.waba_id, name, code)
        if template is None or template.status != "APPROVED":
            status = template.status if template else None
            raise GraphError(
                STATUS_ERRORS.get(status or "", 132001),
                f"template name ({name}) does not exist in {code}"
                if status is None
                else f"template {name} ({code}) has status {status}",
            )
        meta_templates.check_send(template, list(send.obj.get("components") or []))
        return template

    def _throttle(self, number: SimNumber, send: SendRequest) -> None:
        config, now = self.ctx.sim.config, time.monotonic()
        bucket = self.ctx.meta.buckets.setdefault(number.phone_number_id, TokenBucket())
        if not bucket.take(capacity=float(config["mps"]), rate=float(config["mps"]), now=now):
            raise GraphError(130429)
        pair = self.ctx.meta.pair_buckets.setdefault((number.phone_number_id, send.digits), TokenBucket())
        if not pair.take(
            capacity=float(config["pairBurst"]), rate=float(config["pairRatePerSecond"]), now=now
        ):
            raise GraphError(131056)

    def _failure(
        self, call: Call, number: SimNumber, send: SendRequest, wa_id: str
    ) -> tuple[int, str | None] | None:
        """The asynchronous failure this send will end in (or the synchronous 131047)."""
        config = self.ctx.sim.config
        if call.fault is not None and call.fault.kind == "async_error":
            return int(call.fault.code or 131000), None
        if self.ctx.sim.is_unknown(send.digits) or self.ctx.sim.is_unknown(wa_id):
            return 131026, None
        if (
            config["enforceWindow"]
            and send.type not in ("template", "reaction")
            and not self.ctx.meta.window_open(
                number.phone_number_id, wa_id, seconds=float(config["windowSeconds"])
            )
        ):
            if config["windowErrorSync"]:
                raise GraphError(131047)
            return 131047, None
        lost = [m for m in send.media_ids if m not in self.ctx.meta.media]
        if lost:
            return 131053, f"Media id {lost[0]} was not found (not uploaded, deleted or expired)."
        return None

    def _sequence(self, send: SendRequest, failed: bool) -> list[str]:
        config = self.ctx.sim.config
        base = ["failed"] if failed else ["sent", "delivered", "read"]
        if send.voice and not failed and not config["dropRead"]:
            base.append("played")
        return status_sequence(config, base, delivered="delivered", read="read")

    def _billing(self, number: SimNumber, wa_id: str, template: Template | None) -> dict[str, Any]:
        category = template.category.lower() if template else "service"
        conversation, expires = self.ctx.meta.conversation(number.phone_number_id, wa_id, category)
        return billing(conversation, category=category, billable=template is not None, expires_s=expires)

    def _mark_read(self, call: Call, number: SimNumber, body: dict[str, Any]) -> Response:
        message_id = validate_mark_read(body)
        inbound = self.ctx.meta.inbound.get(message_id)
        if inbound is None or inbound.phone_number_id != number.phone_number_id:
            raise invalid(f"Invalid message_id: {message_id} is not a message this number received.")
        for other in self._conversation_inbound(inbound):
            other.read = True
        inbound.typing = inbound.typing or body.get("typing_indicator") is not None
        return self._json(call, {"success": True})

    def _conversation_inbound(self, inbound: Inbound) -> list[Inbound]:
        """Marking one message read marks the earlier ones of that chat read too."""
        return [
            m
            for m in self.ctx.meta.inbound.values()
            if (m.phone_number_id, m.sender) == (inbound.phone_number_id, inbound.sender)
            and m.at <= inbound.at
        ]

    # -- media ---------------------------------------------------------------------------------

    async def upload(self, call: Call) -> Response:
        number = self._number(call)
        fields = parse_multipart(call.request.headers.get("content-type", ""), await call.request.body())
        product = fields.get("messaging_product")
        if product is None or product.data.decode(errors="replace") != "whatsapp":
            raise GraphError(
                100, message="(#100) The parameter messaging_product is required.", with_error_data=False
            )
        upload = fields.get("file")
        if upload is None or upload.filename is None:
            raise GraphError(100, message="(#100) The parameter file is required.", with_error_data=False)
        declared = fields.get("type")
        mime = declared.data.decode(errors="replace") if declared else upload.content_type or ""
        check_media(mime, len(upload.data))
        media = Media(new_media_id(), number.phone_number_id, mime, upload.data, upload.filename)
        self.ctx.meta.media[media.id] = media
        return self._json(call, {"id": media.id})

    def _media_info(self, call: Call, media: Media) -> Response:
        expires = int(time.time() + float(self.ctx.sim.config["mediaUrlTtlSeconds"]))
        base = str(call.request.base_url).rstrip("/")
        url = (
            f"{base}/whatsapp_business/attachments/?mid={media.id}&ext={expires}"
            f"&hash={self._url_hash(media.id, str(expires))}"
        )
        return self._json(
            call,
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": media.mime,
                "sha256": media.sha256,
                "file_size": len(media.content),
                "id": media.id,
            },
        )

    def _url_hash(self, media_id: str, expires: str) -> str:
        return hmac.new(self._url_key, f"{media_id}:{expires}".encode(), "sha256").hexdigest()[:32]

    async def download(self, request: Request) -> Response:
        await self.ctx.sim.log_request(request)
        try:
            self._token(request)
        except GraphError as exc:
            return exc.response()
        query = request.query_params
        media = self.ctx.meta.media.get(query.get("mid", ""))
        expires = query.get("ext", "")
        if (
            media is None
            or not expires.isdigit()
            or int(expires) < time.time()
            or not hmac.compare_digest(query.get("hash", ""), self._url_hash(media.id, expires))
        ):
            return Response("URL signature mismatch or expired", status_code=404, media_type="text/plain")
        disposition = f'attachment; filename="{media.filename or media.id}"'
        return Response(media.content, media_type=media.mime, headers={"content-disposition": disposition})

    # -- GET/POST/DELETE /{v}/{object-id} ------------------------------------------------------

    async def node(self, call: Call) -> Response:
        meta = self.ctx.meta
        if call.object_id in meta.numbers and call.method == "GET":
            return self._json(call, self._number(call).profile())
        media = meta.media.get(call.object_id)
        if media is not None and call.method in ("GET", "DELETE"):
            if call.method == "GET":
                return self._media_info(call, media)
            del meta.media[media.id]
            return self._json(call, {"success": True})
        template = meta.templates.get(call.object_id)
        if template is not None and call.method in ("GET", "POST"):
            self._waba_access(call, template.waba_id)
            if call.method == "GET":
                return self._json(call, template.public())
            meta_templates.edit(template, call.body)
            return self._json(call, {"success": True})
        raise unknown_object(call.object_id, call.method)

    # -- /{v}/{waba-id}/message_templates ------------------------------------------------------

    def _waba_access(self, call: Call, waba_id: str) -> None:
        if not any(n.access_token == call.token for n in self.ctx.meta.waba_numbers(waba_id)):
            raise unknown_object(call.object_id, call.method)

    async def templates(self, call: Call) -> Response:
        self._waba_access(call, call.object_id)
        if call.method == "POST":
            return self._create_template(call)
        if call.method == "DELETE":
            return self._delete_template(call)
        return self._list_templates(call)

    def _create_template(self, call: Call) -> Response:
        meta = self.ctx.meta
        existing = [t for t in meta.templates.values() if t.waba_id == call.object_id]
        template = meta_templates.create(call.body, waba_id=call.object_id, existing=existing)
        meta.templates[template.id] = template
        return self._json(call, {"id": template.id, "status": template.status, "category": template.category})

    def _list_templates(self, call: Call) -> Response:
        query = dict(call.request.query_params)
        items = [
            t
            for t in self.ctx.meta.templates.values()
            if t.waba_id == call.object_id and meta_templates.matches(t, query)
        ]
        if not query.get("limit", "25").isdigit():
            raise invalid("Param limit must be a positive integer.")
        limit, start = int(query.get("limit", "25")), meta_templates.from_cursor(query.get("after"))
        page = items[start : start + limit]
        end = start + len(page)
        paging: dict[str, Any] = {
            "cursors": {"before": meta_templates.cursor(start), "after": meta_templates.cursor(end)}
        }
        if end < len(items):
            paging["next"] = str(call.request.url.include_query_params(after=meta_templates.cursor(end)))
        return self._json(
            call, {"data": [meta_templates.project(t, query.get("fields")) for t in page], "paging": paging}
        )

    def _delete_template(self, call: Call) -> Response:
        name = call.request.query_params.get("name")
        hsm_id = call.request.query_params.get("hsm_id")
        if not name:
            raise GraphError(100, message="(#100) The parameter name is required.", with_error_data=False)
        victims = [
            t
            for t in self.ctx.meta.templates.values()
            if t.waba_id == call.object_id and t.name == name and (not hsm_id or t.id == hsm_id)
        ]
        if not victims:
            raise invalid(f'Message template "{name}" was not found.')
        for template in victims:
            del self.ctx.meta.templates[template.id]
        return self._json(call, {"success": True})


# -- pure helpers ----------------------------------------------------------------------------


def _recipient(body: Any) -> str | None:
    return str(body["to"]) if isinstance(body, dict) and body.get("to") is not None else None


def check_media(mime: str, size: int) -> None:
    base = mime.split(";")[0].strip().lower()
    limit = MEDIA_LIMITS.get(base)
    if limit is None:
        raise GraphError(
            131053,
            f"Param file must be a file with one of the following types: "
            f"{', '.join(MEDIA_LIMITS)}. Received file of type '{base}'.",
        )
    if not 0 < size <= limit:
        raise GraphError(131053, f"File of {size} bytes is outside the limits for {base} (1..{limit} bytes).")


def parse_multipart(content_type: str, raw: bytes) -> dict[str, Part]:
    """A small ``multipart/form-data`` reader (the project does not ship python-multipart)."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/form-data") or boundary is None:
        raise invalid("Media uploads must be multipart/form-data.")
    parts: dict[str, Part] = {}
    for chunk in raw.split(b"--" + boundary.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = dict(_header_line(line) for line in head.decode(errors="replace").split("\r\n"))
        params = dict(re.findall(r'(\w+)="([^"]*)"', headers.get("content-disposition", "")))
        if "name" in params:
            parts[params["name"]] = Part(
                params["name"],
                params.get("filename"),
                headers.get("content-type"),
                data.removesuffix(b"\r\n"),
            )
    return parts


def _header_line(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()
