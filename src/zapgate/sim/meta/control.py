"""The Meta-specific half of the simulator's control API under ``/_sim`` (routes are listed in
``zapgate.sim.meta.app``)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.meta.delivery import MetaContext
from zapgate.sim.meta.state import Inbound, Media, SimNumber, new_media_id
from zapgate.sim.meta.templates import EVENTS
from zapgate.sim.meta.webhooks import (
    INBOUND_TYPES,
    MEDIA_DEFAULTS,
    envelope,
    inbound_message,
    messages_value,
    template_status_value,
    wamid,
)

# Template events that move the template to another status (the others leave it as it is).
EVENT_STATUS = {"REINSTATED": "APPROVED", "UNARCHIVED": "APPROVED", "UNLOCKED": "APPROVED", "FLAGGED": None}


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


Endpoint = Callable[[Request], Awaitable[Response]]


def _endpoint(handler: Callable[[Request], Awaitable[Any]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except ControlError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ControlError("the body must be JSON") from exc
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


class Control:
    def __init__(self, ctx: MetaContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/numbers", _endpoint(self.numbers), methods=["GET", "POST"]),
            Route("/_sim/inbound", _endpoint(self.inbound), methods=["GET", "POST"]),
            Route("/_sim/templates/{template_id}/status", _endpoint(self.template_status), methods=["POST"]),
            Route("/_sim/messages", _endpoint(self.messages), methods=["GET"]),
            Route("/_sim/windows", _endpoint(self.windows), methods=["POST"]),
            Route("/_sim/verify", _endpoint(self.verify), methods=["POST"]),
            Route("/_sim/callback", _endpoint(self.callback), methods=["GET", "POST"]),
        ]

    def _number(self, pnid: Any) -> SimNumber:
        numbers = self.ctx.meta.numbers
        if pnid is None and numbers:
            return next(iter(numbers.values()))
        number = numbers.get(str(pnid))
        if number is None:
            raise ControlError(f"unknown phoneNumberId {pnid!r}", 404)
        return number

    async def numbers(self, request: Request) -> Any:
        if request.method == "POST":
            body = await _body(request)
            try:
                number = SimNumber(
                    phone_number_id=str(body["phoneNumberId"]),
                    waba_id=str(body["wabaId"]),
                    access_token=str(body["accessToken"]),
                    display_phone_number=_digits(body["displayPhoneNumber"]),
                    verified_name=str(body["verifiedName"]),
                    app_secret=str(body["appSecret"]) if body.get("appSecret") else None,
                )
            except KeyError as exc:
                raise ControlError(f"missing field {exc.args[0]}") from exc
            self.ctx.meta.numbers[number.phone_number_id] = number
        return [{**n.profile(), "waba_id": n.waba_id} for n in self.ctx.meta.numbers.values()]

    async def inbound(self, request: Request) -> Any:
        if request.method == "GET":
            return [m.describe() for m in self.ctx.meta.inbound.values()]
        spec = await _body(request)
        number = self._number(spec.get("phoneNumberId"))
        sender, kind = _digits(spec.get("from")), str(spec.get("type") or "text")
        if not sender:
            raise ControlError("'from' (the user's phone number) is required")
        if kind not in INBOUND_TYPES:
            raise ControlError(f"type must be one of {', '.join(INBOUND_TYPES)}")
        media_id, sha = self._inbound_media(number, kind, spec.get("media") or {})
        id_ = wamid(sender, inbound=True)
        message = inbound_message(
            {**spec, "type": kind, "from": sender},
            id_=id_,
            sender=sender,
            display=number.display_phone_number,
            media_id=media_id,
            sha256_b64=sha,
        )
        contacts = [{"profile": {"name": spec.get("name") or "Sim User"}, "wa_id": sender}]
        parts = {"messages": [message]} if kind == "system" else {"contacts": contacts, "messages": [message]}
        value = messages_value(number.phone_number_id, number.display_phone_number, **parts)
        self.ctx.meta.inbound[id_] = Inbound(id_, number.phone_number_id, sender, kind)
        if kind != "system":
            self.ctx.meta.windows[(number.phone_number_id, sender)] = time.time()
        callback = self.ctx.delivery.post(number, envelope(number.waba_id, "messages", value))
        return {"id": id_, "posted": callback is not None, "mediaId": media_id}

    def _inbound_media(
        self, number: SimNumber, kind: str, spec: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        """Inbound media lands in the media store so GET /{media-id} and the download work."""
        if kind not in MEDIA_DEFAULTS:
            return None, None
        media_id = str(spec.get("id") or new_media_id())
        stored = self.ctx.meta.media.get(media_id)
        if stored is None:
            stored = Media(
                media_id,
                number.phone_number_id,
                str(spec.get("mimeType") or MEDIA_DEFAULTS[kind]),
                f"zapgate-sim {kind} {media_id}".encode(),
                spec.get("filename"),
            )
            self.ctx.meta.media[media_id] = stored
        return media_id, stored.sha256_b64

    async def template_status(self, request: Request) -> Any:
        body = await _body(request)
        key = str(request.path_params["template_id"])
        templates = self.ctx.meta.templates
        template = templates.get(key) or next((t for t in templates.values() if t.name == key), None)
        if template is None:
            raise ControlError(f"unknown template {key!r}", 404)
        event = str(body.get("event", "")).upper()
        if event not in EVENTS:
            raise ControlError(f"event must be one of {', '.join(EVENTS)}")
        template.status = EVENT_STATUS.get(event, event) or template.status
        template.reason = body.get("reason")
        value = template_status_value(
            event=event,
            template_id=template.id,
            name=template.name,
            language=template.language,
            category=template.category,
            reason=template.reason,
        )
        numbers = self.ctx.meta.waba_numbers(template.waba_id)
        payload = envelope(template.waba_id, "message_template_status_update", value, time_s=int(time.time()))
        callback = self.ctx.delivery.post(numbers[0] if numbers else None, payload)
        return {**template.public(), "posted": callback is not None}

    async def messages(self, request: Request) -> Any:
        wanted_id = request.query_params.get("id")
        wanted_to = _digits(request.query_params.get("to"))
        return [
            m.describe()
            for m in self.ctx.meta.outbound.values()
            if (not wanted_id or m.id == wanted_id)
            and (not wanted_to or wanted_to in (m.wa_id, _digits(m.to)))
        ]

    async def windows(self, request: Request) -> Any:
        body = await _body(request)
        number = self._number(body.get("phoneNumberId"))
        user = _digits(body.get("user"))
        if not user:
            raise ControlError("'user' (the user's phone number) is required")
        key = (number.phone_number_id, user)
        if body.get("open", True):
            self.ctx.meta.windows[key] = float(body.get("openedAt") or time.time())
        else:
            self.ctx.meta.windows.pop(key, None)
        return {"phoneNumberId": key[0], "user": user, "openedAt": self.ctx.meta.windows.get(key)}

    async def verify(self, request: Request) -> Any:
        body = await _body(request)
        url = body.get("url") or self.ctx.meta.callback_url
        if not url:
            raise ControlError("no callback URL configured")
        challenge = str(random.randint(10**8, 10**10))
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": str(body.get("verifyToken", "")),
            "hub.challenge": challenge,
        }
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(str(url), params=params)
        except httpx.HTTPError as exc:
            return {"ok": False, "status": 0, "echoed": False, "error": repr(exc)}
        echoed = response.text == challenge
        return {
            "ok": response.status_code == 200 and echoed,
            "status": response.status_code,
            "echoed": echoed,
        }

    async def callback(self, request: Request) -> Any:
        if request.method == "POST":
            body = await _body(request)
            self.ctx.meta.callback_url = str(body["url"]) if body.get("url") else None
        return {"url": self.ctx.meta.callback_url}
