"""Evolution API v2 simulator (Baileys flavour, v2.3.x wire format; providers.md section B).

API (``apikey`` header: the global key on every route, or an instance's token on its own
routes; an unknown instance is 404 before the key is checked):

* ``POST   /instance/create``                  global key; 201 ``{instance, hash, webhook, settings,
                                                 qrcode?}``; 403 name in use
* ``GET    /instance/connect/{i}[?number=]``   QR object ``{pairingCode, code, base64, count}``, or
                                                 ``{instance: {instanceName, state: "open"}}``
* ``GET    /instance/connectionState/{i}``     ``{instance: {instanceName, state}}``
* ``DELETE /instance/logout/{i}``              400 when already closed
* ``DELETE /instance/delete/{i}``
* ``POST   /webhook/set/{i}`` (201), ``GET /webhook/find/{i}``
* ``POST   /message/{op}/{i}`` (201)           op: sendText, sendMedia, sendWhatsAppAudio,
                                                 sendSticker, sendButtons, sendList, sendReaction,
                                                 sendLocation — body validation as Evolution's JSON
                                                 schemas, the not-on-WhatsApp 400, "Connection
                                                 Closed" 500 unless the instance is ``open``
* ``POST   /chat/markMessageAsRead/{i}`` (201), ``POST /chat/sendPresence/{i}`` (201, blocks
  for ``delay`` ms), ``POST /chat/whatsappNumbers/{i}`` (200)

Errors use Evolution's envelope ``{"status", "error", "response": {"message": [...]}}`` (a
string ``message`` for 401 and for 500 "Connection Closed"). After each send: ``send.message``
at once, then ``messages.update`` SERVER_ACK -> DELIVERY_ACK -> READ (-> PLAYED for voice notes)
``statusDelayMs`` apart, with the common skip/drop/reorder/duplicate switches; recipients in
``errorRecipients`` get one ``ERROR`` instead.

Webhooks: the envelope ``{event, instance, data, destination, date_time, sender, server_url,
apikey}`` goes to the instance webhook (its ``headers`` as HTTP headers, ``jwt_key`` turned into
an HS256 bearer token, ``/<event-name>`` appended when ``byEvents``; only subscribed events, all
when ``events`` is empty) and to the global URL when set. Retries come from ``CallbackSender``.

Control API (besides the common ``/_sim/requests|faults|config|callbacks|reset``):

* ``POST /_sim/instances/{name}/pair``        ``{number?, profileName?}``: the QR was scanned ->
                                                ``open`` + ``connection.update`` open
* ``POST /_sim/instances/{name}/disconnect``  ``{reason?: 401}``: -> ``close`` +
                                                ``connection.update`` close (``logout.instance``
                                                too for 401)
* ``POST /_sim/instances/{name}/qr``          a new QR (``qrcode.updated``); past ``qrcodeLimit``
                                                the instance is ``refused``
* ``POST /_sim/inbound``                      ``{instance, from, name?, text?, type: text|image|
                                                audio|video|document|buttonReply|listReply|reaction,
                                                replyTo?, group?, lid?, buttonId?, buttonStyle?:
                                                native|classic|template, rowId?, emoji?, reactTo?,
                                                media?: {url?, mimetype?, caption?, fileName?,
                                                base64?}}`` -> ``messages.upsert``; ``{"id"}``
* ``GET  /_sim/messages[?instance=]``         sent messages: ``{id, instance, endpoint, body,
                                                response, statuses}``
* ``GET  /_sim/instances``                    every instance with its token, state and webhook

Faults (``/_sim/faults``) apply to every API route: ``http`` / ``slow`` / ``timeout`` as usual;
``error`` returns ``body`` (any Evolution envelope) with ``status`` (default 400).

Extra config switches: ``errorRecipients`` (digits), ``qrcodeLimit`` (30),
``exposeInstanceToken`` (true: the envelope's ``apikey`` is the instance token, else null),
``globalWebhookByEvents`` (false).

Simplifications: no Brazilian 9th-digit rewriting, groups are assumed to exist, ``http(s)`` is
required for media URLs, and the native-flow button reply shape is proto-derived [verify].
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.common import (
    DEFAULT_CONFIG,
    CallbackSender,
    SimState,
    apply_transport_fault,
    control_routes,
    new_hex_id,
    status_sequence,
)

EXTRA_DEFAULTS: dict[str, Any] = {
    "errorRecipients": [],
    "qrcodeLimit": 30,
    "exposeInstanceToken": True,
    "globalWebhookByEvents": False,
}
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           500: "Internal Server Error"}
EVENTS = {
    "APPLICATION_STARTUP": "application.startup", "QRCODE_UPDATED": "qrcode.updated",
    "MESSAGES_SET": "messages.set", "MESSAGES_UPSERT": "messages.upsert",
    "MESSAGES_EDITED": "messages.edited", "MESSAGES_UPDATE": "messages.update",
    "MESSAGES_DELETE": "messages.delete", "SEND_MESSAGE": "send.message",
    "SEND_MESSAGE_UPDATE": "send.message.update", "CONTACTS_SET": "contacts.set",
    "CONTACTS_UPSERT": "contacts.upsert", "CONTACTS_UPDATE": "contacts.update",
    "PRESENCE_UPDATE": "presence.update", "CHATS_SET": "chats.set",
    "CHATS_UPSERT": "chats.upsert", "CHATS_UPDATE": "chats.update",
    "CHATS_DELETE": "chats.delete", "GROUPS_UPSERT": "groups.upsert",
    "GROUP_UPDATE": "group.update", "GROUP_PARTICIPANTS_UPDATE": "group-participants.update",
    "CONNECTION_UPDATE": "connection.update", "LABELS_EDIT": "labels.edit",
    "LABELS_ASSOCIATION": "labels.association", "CALL": "call",
    "TYPEBOT_START": "typebot.start", "TYPEBOT_CHANGE_STATUS": "typebot.change-status",
    "REMOVE_INSTANCE": "remove.instance", "LOGOUT_INSTANCE": "logout.instance",
    "INSTANCE_CREATE": "instance.create", "INSTANCE_DELETE": "instance.delete",
    "STATUS_INSTANCE": "status.instance",
}
INTEGRATIONS = ("WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION")
PRESENCES = ("unavailable", "available", "composing", "recording", "paused")
PAIRING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
CDN = "https://mmg.whatsapp.net/v/t62.7118-24/"
MEDIA_MIMES = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/mpeg",
               "document": "application/octet-stream"}
BUTTON_FLOWS = {"reply": "quick_reply", "copy": "cta_copy", "url": "cta_url", "call": "cta_call",
                "pix": "payment_info"}

# -- body validation (Evolution's JSON schemas) --------------------------------------------

STR, BOOL, INT, NUM, OBJ, ARR = "string", "boolean", "integer", "number", "object", "array"
COMMON_FIELDS = {"number": STR, "delay": INT, "quoted": OBJ, "mentionsEveryOne": BOOL,
                 "mentioned": ARR}
SCHEMAS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "sendText": ({**COMMON_FIELDS, "text": STR, "linkPreview": BOOL}, ("number", "text")),
    "sendMedia": ({**COMMON_FIELDS, "mediatype": STR, "mimetype": STR, "media": STR,
                   "fileName": STR, "caption": STR}, ("number", "mediatype")),
    "sendWhatsAppAudio": ({**COMMON_FIELDS, "audio": STR, "encoding": BOOL}, ("number",)),
    "sendSticker": ({**COMMON_FIELDS, "sticker": STR}, ("number",)),
    "sendButtons": ({**COMMON_FIELDS, "thumbnailUrl": STR, "title": STR, "description": STR,
                     "footer": STR, "buttons": ARR}, ("number",)),
    "sendList": ({**COMMON_FIELDS, "title": STR, "description": STR, "footerText": STR,
                  "buttonText": STR, "sections": ARR},
                 ("number", "title", "footerText", "buttonText", "sections")),
    "sendReaction": ({"key": OBJ, "reaction": STR}, ("key", "reaction")),
    "sendLocation": ({**COMMON_FIELDS, "latitude": NUM, "longitude": NUM, "name": STR,
                      "address": STR}, ("number", "latitude", "longitude", "name", "address")),
}
DESCRIPTIONS = {"number": "Invalid format", "delay": "Enter a value in milliseconds"}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind in (INT, NUM) and isinstance(value, bool):
        return False
    if kind == INT:
        return isinstance(value, int)
    if kind == NUM:
        return isinstance(value, int | float)
    return isinstance(value, dict if kind == OBJ else list)


def check_fields(body: dict[str, Any], fields: dict[str, str], required: tuple[str, ...],
                 prefix: str = "") -> list[str]:
    """jsonschema-style messages: type errors first, then missing properties."""
    problems = [DESCRIPTIONS.get(name) or f"{prefix}{name} is not of a type(s) {kind}"
                for name, kind in fields.items()
                if name in body and not _type_ok(body[name], kind)]
    where = prefix.rstrip(".") or "instance"
    problems += [f'{where} requires property "{name}"' for name in required if name not in body]
    return problems


def not_empty(item: dict[str, Any], *names: str) -> list[str]:
    return [f'The "{n}" cannot be empty' for n in names if item.get(n) == ""]


def _nested_problems(op: str, body: dict[str, Any]) -> list[str]:
    if op == "sendMedia" and isinstance(body.get("mediatype"), str) \
            and body["mediatype"] not in ("image", "document", "video", "audio"):
        return ["mediatype is not one of enum values: image,document,video,audio"]
    if op == "sendButtons" and isinstance(body.get("buttons"), list):
        return [p for i, b in enumerate(body["buttons"]) for p in _button_problems(i, b)]
    if op == "sendList" and isinstance(body.get("sections"), list):
        return _sections_problems(body["sections"])
    if op == "sendReaction" and isinstance(body.get("key"), dict):
        key = body["key"]
        return check_fields(key, {"id": STR, "remoteJid": STR, "fromMe": BOOL},
                            ("id", "remoteJid", "fromMe"), "key.") \
            + not_empty(key, "id", "remoteJid")
    return []


def _button_problems(index: int, button: Any) -> list[str]:
    if not isinstance(button, dict):
        return [f"buttons[{index}] is not of a type(s) object"]
    problems = check_fields(button, {"type": STR}, ("type",), f"buttons[{index}].")
    if isinstance(button.get("type"), str) and button["type"] not in BUTTON_FLOWS:
        problems.append(f"buttons[{index}].type is not one of enum values: "
                        "reply,copy,url,call,pix")
    return problems + not_empty(button, "id", "url", "phoneNumber")


def _sections_problems(sections: list[Any]) -> list[str]:
    if not sections:
        return ["sections does not meet minimum length of 1"]
    problems: list[str] = []
    for i, section in enumerate(sections):
        if not isinstance(section, dict):
            problems.append(f"sections[{i}] is not of a type(s) object")
            continue
        problems += check_fields(section, {"title": STR, "rows": ARR}, ("title", "rows"),
                                 f"sections[{i}].") + not_empty(section, "title")
        rows = section.get("rows")
        if isinstance(rows, list) and not rows:
            problems.append(f"sections[{i}].rows does not meet minimum length of 1")
        for j, row in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(row, dict):
                problems += check_fields(row, {"title": STR, "description": STR, "rowId": STR},
                                         ("title", "rowId"), f"sections[{i}].rows[{j}].")
                problems += not_empty(row, "title", "description", "rowId")
    return problems


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def is_base64(value: Any) -> bool:
    """Raw base64 only: a ``data:`` URI is neither a URL nor base64 for Evolution."""
    if not isinstance(value, str) or not value:
        return False
    compact = re.sub(r"\s+", "", value)
    return bool(BASE64.fullmatch(compact)) and len(compact) % 4 == 0


def _service_problems(op: str, body: dict[str, Any]) -> list[str]:
    """The checks Evolution's service code makes after the schema (BadRequestException)."""
    if op == "sendText" and not body["text"].strip():
        return ["Text is required"]
    if op == "sendMedia":
        if is_url(body.get("media")):
            return []
        if not is_base64(body.get("media")):
            return ["Owned media must be a url or base64"]
        if body["mediatype"] == "document" and not body.get("fileName"):
            return ["For base64 the file name must be informed."]
    if op in ("sendWhatsAppAudio", "sendSticker"):
        media = body.get("audio" if op == "sendWhatsAppAudio" else "sticker")
        if not (is_url(media) or is_base64(media)):
            return ["Owned media must be a url or base64"]
    if op == "sendButtons":
        return _buttons_rules(body.get("buttons") or [])
    if op == "sendReaction" and not is_reaction(body["reaction"]):
        return ["Reaction must be a single emoji or empty string"]
    return []


def _buttons_rules(buttons: list[dict[str, Any]]) -> list[str]:
    if not buttons:
        return ["At least one button is required"]
    kinds = [b.get("type") for b in buttons]
    others = [k for k in kinds if k not in ("reply", "pix")]
    if "reply" in kinds and len(buttons) > 3:
        return ["Maximum of 3 reply buttons allowed"]
    if "reply" in kinds and others:
        return ["Reply buttons cannot be mixed with other button types"]
    if "pix" in kinds and len(buttons) > 1:
        return ["Only one PIX button is allowed"]
    return []


def is_reaction(value: str) -> bool:
    if value == "":
        return True
    return len(value) <= 8 and not any((ch.isalnum() and ch.isascii()) or ch.isspace()
                                       for ch in value) and ord(value[0]) >= 0x2000


# -- model -----------------------------------------------------------------------------------

def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class Webhook:
    url: str
    enabled: bool = True
    events: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    by_events: bool = False
    base64: bool = False
    id: str = field(default_factory=lambda: "cl" + secrets.token_hex(11))
    created_at: str = field(default_factory=lambda: _iso(datetime.now(UTC)))
    updated_at: str = ""

    def wants(self, event: str) -> bool:
        return self.enabled and bool(self.url) and (not self.events or event in self.events)

    def row(self, instance_id: str) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "headers": self.headers,
                "enabled": self.enabled, "events": self.events,
                "webhookByEvents": self.by_events, "webhookBase64": self.base64,
                "createdAt": self.created_at, "updatedAt": self.updated_at or self.created_at,
                "instanceId": instance_id}


@dataclass
class Instance:
    name: str
    token: str
    integration: str
    settings: dict[str, Any]
    number: str | None = None
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "close"  # close | connecting | open | refused
    webhook: Webhook | None = None
    qr_count: int = 0
    qr_code: str | None = None
    qr_base64: str | None = None
    pairing_code: str | None = None
    wuid: str | None = None
    profile_name: str | None = None

    def qrcode(self) -> dict[str, Any]:
        if self.qr_code is None:
            return {"count": 0}
        return {"pairingCode": self.pairing_code, "code": self.qr_code,
                "base64": self.qr_base64, "count": self.qr_count}

    def state_body(self) -> dict[str, Any]:
        return {"instance": {"instanceName": self.name, "state": self.state}}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "instanceId": self.instance_id, "token": self.token,
                "integration": self.integration, "state": self.state, "wuid": self.wuid,
                "profileName": self.profile_name, "qrcode": self.qrcode(),
                "webhook": self.webhook.row(self.instance_id) if self.webhook else None}


def envelope(status: int, message: Any) -> dict[str, Any]:
    return {"status": status, "error": REASONS.get(status, "Error"),
            "response": {"message": message}}


def error(status: int, message: Any) -> JSONResponse:
    return JSONResponse(envelope(status, message), status_code=status)


def connection_closed() -> JSONResponse:
    return error(500, "Connection Closed")


def fake_png(text: str) -> str:
    """A valid 1x1 PNG data URI carrying ``text`` (so every QR image differs)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data \
            + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
           + chunk(b"tEXt", b"qr\x00" + text.encode()) + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
           + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def jid_for(number: str) -> str:
    """Evolution's ``createJid``: JIDs pass through; digits become a user or group JID."""
    if "@" in number:
        return number.lower()
    cleaned = re.sub(r"[\s+()]", "", number)
    if "-" in cleaned or len(cleaned) >= 18:
        return cleaned + "@g.us"
    return cleaned + "@s.whatsapp.net"


def _long(value: int) -> dict[str, Any]:
    return {"low": value, "high": 0, "unsigned": True}


def jwt_hs256(key: str, now: int) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook"}
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


# -- the simulator -------------------------------------------------------------------------

class EvolutionSim:
    def __init__(self, *, api_key: str, global_webhook_url: str | None, server_url: str,
                 config: dict[str, Any] | None) -> None:
        unknown = sorted(set(config or {}) - set(DEFAULT_CONFIG) - set(EXTRA_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown config keys {unknown}")
        self.state = SimState(extra_defaults={**EXTRA_DEFAULTS, **(config or {})})
        self.sender = CallbackSender(self.state)
        self.api_key = api_key
        self.global_url = global_webhook_url
        self.server_url = server_url
        self.instances: dict[str, Instance] = {}
        self.messages: list[dict[str, Any]] = []
        self.generation = 0

    def reset(self) -> None:
        self.instances.clear()
        self.messages.clear()
        self.generation += 1  # receipts scheduled before the reset are dropped

    # -- webhooks --------------------------------------------------------------------------

    def emit(self, inst: Instance, event: str, data: Any, *, delay: float = 0.0,
             webhook: Webhook | None = None) -> None:
        """Post ``event`` to the instance webhook (if subscribed) and the global URL, now or
        ``delay`` seconds from now."""
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._emit_later, self.generation,
                                                  inst, event, data, webhook)
            return
        targets: list[tuple[str, bool, dict[str, str]]] = []
        hook = webhook or inst.webhook
        if hook is not None and hook.wants(event):
            targets.append((hook.url, hook.by_events, self._hook_headers(hook)))
        if self.global_url:
            targets.append((self.global_url, bool(self.state.config["globalWebhookByEvents"]),
                            {}))
        for base, by_events, headers in targets:
            url = base.rstrip("/") + "/" + EVENTS[event].replace(".", "-") if by_events \
                else base
            self.sender.post(url, self._envelope(inst, event, data, url), headers=headers)

    def _emit_later(self, generation: int, inst: Instance, event: str, data: Any,
                    webhook: Webhook | None) -> None:
        if generation == self.generation:
            self.emit(inst, event, data, webhook=webhook)

    def _envelope(self, inst: Instance, event: str, data: Any, url: str) -> dict[str, Any]:
        # Evolution formats its local wall clock and appends "Z" (a time-zone quirk).
        out: dict[str, Any] = {"event": EVENTS[event], "instance": inst.name, "data": data,
                               "destination": url, "date_time": _iso(datetime.now())}
        if inst.wuid:
            out["sender"] = inst.wuid
        out["server_url"] = self.server_url
        out["apikey"] = inst.token if self.state.config["exposeInstanceToken"] else None
        return out

    @staticmethod
    def _hook_headers(hook: Webhook) -> dict[str, str]:
        headers = {str(k): str(v) for k, v in hook.headers.items() if k != "jwt_key"}
        if hook.headers.get("jwt_key"):
            headers["Authorization"] = "Bearer " + jwt_hs256(str(hook.headers["jwt_key"]),
                                                             int(time.time()))
        return headers

    # -- request plumbing ------------------------------------------------------------------

    async def enter(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        """Log the request, parse its body, apply a queued fault."""
        parsed = await self.state.log_request(request)
        body = parsed if isinstance(parsed, dict) else {}
        key: dict[str, Any] = body["key"] if isinstance(body.get("key"), dict) else {}
        to = body.get("number") or key.get("remoteJid")
        fault = self.state.take_fault(request.url.path, str(to) if to else None)
        if fault is None:
            return body, None
        response = await apply_transport_fault(fault)
        if response is None and fault.kind == "error":
            status = fault.status or 400
            payload = fault.body if fault.body is not None \
                else envelope(status, [str(fault.code or "Simulated error")])
            response = JSONResponse(payload, status_code=status)
        return body, response

    def guard(self, request: Request) -> Instance | Response:
        name = request.path_params["instance"]
        inst = self.instances.get(name)
        if inst is None:
            return error(404, [f'The "{name}" instance does not exist'])
        if request.headers.get("apikey") not in (self.api_key, inst.token):
            return error(401, "Unauthorized")
        return inst

    async def open_call(self, request: Request) -> tuple[dict[str, Any], Instance | Response]:
        body, fault = await self.enter(request)
        return body, fault if fault is not None else self.guard(request)

    # -- instances -------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        body, fault = await self.enter(request)
        if fault is not None:
            return fault
        name = body.get("instanceName")
        if isinstance(name, str) and name in self.instances:
            return error(403, [f'This name "{name}" is already in use.'])
        if request.headers.get("apikey") != self.api_key:
            return error(401, "Unauthorized")
        problems = check_fields(body, {"instanceName": STR, "token": STR, "number": STR,
                                       "qrcode": BOOL, "integration": STR, "webhook": OBJ},
                                ("instanceName",)) + not_empty(body, "instanceName")
        if problems:
            return error(400, problems)
        if body.get("integration") not in INTEGRATIONS:
            return error(400, ["Invalid integration"])
        inst = self._new_instance(body)
        self.instances[inst.name] = inst
        self.emit(inst, "INSTANCE_CREATE", {"instanceName": inst.name,
                                            "instanceId": inst.instance_id})
        if body.get("qrcode") is True and inst.integration == "WHATSAPP-BAILEYS":
            self.start_connecting(inst, body.get("number"))
        return JSONResponse(self._created(inst, body), status_code=201)

    def _new_instance(self, body: dict[str, Any]) -> Instance:
        settings = {k: body.get(k, default) for k, default in (
            ("rejectCall", False), ("msgCall", ""), ("groupsIgnore", False),
            ("alwaysOnline", False), ("readMessages", False), ("readStatus", False),
            ("syncFullHistory", False), ("wavoipToken", ""))}
        inst = Instance(name=body["instanceName"], integration=body["integration"],
                        token=body.get("token") or str(uuid.uuid4()).upper(),
                        settings=settings, number=body.get("number"))
        hook = body.get("webhook")
        if isinstance(hook, dict) and hook.get("url"):
            inst.webhook = self._webhook_from(hook)
        return inst

    @staticmethod
    def _webhook_from(hook: dict[str, Any], old: Webhook | None = None) -> Webhook:
        enabled = hook.get("enabled", True) is not False
        made = Webhook(url=str(hook["url"]), enabled=enabled,
                       events=[str(e) for e in hook.get("events") or []] if enabled else [],
                       headers=dict(hook.get("headers") or {}),
                       by_events=bool(hook.get("byEvents")), base64=bool(hook.get("base64")))
        if old is not None:
            made.id, made.created_at = old.id, old.created_at
            made.updated_at = _iso(datetime.now(UTC))
        return made

    def _created(self, inst: Instance, body: dict[str, Any]) -> dict[str, Any]:
        hook = inst.webhook
        out: dict[str, Any] = {
            "instance": {"instanceName": inst.name, "instanceId": inst.instance_id,
                         "integration": inst.integration, "webhookWaBusiness": None,
                         "accessTokenWaBusiness": "", "status": inst.state},
            "hash": inst.token,
            "webhook": {"webhookUrl": hook.url, "webhookHeaders": hook.headers,
                        "webhookByEvents": hook.by_events,
                        "webhookBase64": hook.base64} if hook else {},
            "websocket": {}, "rabbitmq": {}, "nats": {}, "sqs": {},
            "settings": inst.settings,
        }
        if body.get("qrcode") is True and inst.integration == "WHATSAPP-BAILEYS":
            out["qrcode"] = inst.qrcode()
        return out

    def start_connecting(self, inst: Instance, number: Any = None) -> None:
        if inst.state in ("close", "refused"):
            inst.qr_count = 0
        inst.state = "connecting"
        self.emit(inst, "CONNECTION_UPDATE", {"instance": inst.name, "state": "connecting",
                                              "statusReason": 200})
        self.new_qr(inst, number)

    def new_qr(self, inst: Instance, number: Any = None) -> None:
        inst.qr_count += 1
        inst.qr_code = "2@" + ",".join(base64.b64encode(secrets.token_bytes(n)).decode()
                                       for n in (48, 32, 32, 32))
        inst.qr_base64 = fake_png(inst.qr_code)
        if isinstance(number, str) and number:
            inst.pairing_code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
        self.emit(inst, "QRCODE_UPDATED", {"qrcode": {"instance": inst.name,
                                                      "pairingCode": inst.pairing_code,
                                                      "code": inst.qr_code,
                                                      "base64": inst.qr_base64}})

    async def connect(self, request: Request) -> Response:
        _, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state == "open":
            return JSONResponse(inst.state_body())
        number = request.query_params.get("number")
        if inst.state == "connecting":
            if number and not inst.pairing_code:
                inst.pairing_code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
        else:
            inst.pairing_code = None
            self.start_connecting(inst, number)
        return JSONResponse(inst.qrcode())

    async def connection_state(self, request: Request) -> Response:
        _, inst = await self.open_call(request)
        return JSONResponse(inst.state_body()) if isinstance(inst, Instance) else inst

    async def logout(self, request: Request) -> Response:
        _, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state == "close":
            return error(400, [f'The "{inst.name}" instance is not connected'])
        self.close(inst, 401)
        return JSONResponse({"status": "SUCCESS", "error": False,
                             "response": {"message": "Instance logged out"}})

    def close(self, inst: Instance, reason: int) -> None:
        inst.state = "close"
        inst.qr_code = inst.qr_base64 = inst.pairing_code = None
        self.emit(inst, "STATUS_INSTANCE", {
            "instance": inst.name, "status": "closed",
            "disconnectionAt": _iso(datetime.now(UTC)),
            "disconnectionReasonCode": reason,
            "disconnectionObject": json.dumps({"error": {"output": {"statusCode": reason}}})})
        self.emit(inst, "CONNECTION_UPDATE", {"instance": inst.name, "state": "close",
                                              "statusReason": reason})
        if reason == 401:
            self.emit(inst, "LOGOUT_INSTANCE", None)
            inst.wuid = inst.profile_name = None

    async def delete(self, request: Request) -> Response:
        _, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state != "close":
            self.close(inst, 401)
        self.emit(inst, "INSTANCE_DELETE", {"instanceName": inst.name,
                                            "instanceId": inst.instance_id})
        self.emit(inst, "REMOVE_INSTANCE", None)
        del self.instances[inst.name]
        return JSONResponse({"status": "SUCCESS", "error": False,
                             "response": {"message": "Instance deleted"}})

    async def webhook_set(self, request: Request) -> Response:
        body, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"webhook": OBJ}, ("webhook",))
        hook = body.get("webhook")
        if isinstance(hook, dict):
            problems += check_fields(hook, {"enabled": BOOL, "url": STR, "headers": OBJ,
                                            "byEvents": BOOL, "base64": BOOL, "events": ARR},
                                     ("enabled", "url"), "webhook.") + not_empty(hook, "url")
            problems += [f"webhook.events[{i}] is not one of enum values: {','.join(EVENTS)}"
                         for i, e in enumerate(hook.get("events") or []) if e not in EVENTS]
        if problems or not isinstance(hook, dict):
            return error(400, problems)
        inst.webhook = self._webhook_from(hook, inst.webhook)
        return JSONResponse(inst.webhook.row(inst.instance_id), status_code=201)

    async def webhook_find(self, request: Request) -> Response:
        _, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        return JSONResponse(inst.webhook.row(inst.instance_id) if inst.webhook else None)

    # -- sending ---------------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        op = request.path_params["op"]
        if op not in SCHEMAS:
            await self.state.log_request(request)
            return error(404, [f"Cannot POST {request.url.path}"])
        body, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        fields, required = SCHEMAS[op]
        problems = check_fields(body, fields, required) or _nested_problems(op, body)
        problems = problems or _service_problems(op, body)
        if problems:
            return error(400, problems)
        number = body["key"]["remoteJid"] if op == "sendReaction" else body["number"]
        refused = self._before_send(inst, number)
        if refused is not None:
            return refused
        if isinstance(body.get("delay"), int) and body["delay"] > 0:
            await asyncio.sleep(min(body["delay"], 120_000) / 1000)  # "composing..." first
        return JSONResponse(self._deliver(inst, op, body, jid_for(number)), status_code=201)

    def _before_send(self, inst: Instance, number: str) -> Response | None:
        """Baileys' onWhatsApp lookup: fails on a closed socket, 400 for unknown users."""
        if inst.state != "open":
            return connection_closed()
        jid = jid_for(number)
        if jid.endswith("@s.whatsapp.net"):
            user = jid.split("@", 1)[0]
            if not user.isdigit() or self.state.is_unknown(user):
                return error(400, [{"jid": jid, "exists": False, "number": number}])
        return None

    def _deliver(self, inst: Instance, op: str, body: dict[str, Any],
                 jid: str) -> dict[str, Any]:
        content, message_type = sent_content(op, body)
        key_id = new_hex_id("3EB0", 20)
        if inst.webhook and inst.webhook.base64 and op in ("sendMedia", "sendWhatsAppAudio",
                                                           "sendSticker"):
            media = body.get("media") or body.get("audio") or body.get("sticker")
            content["base64"] = media if is_base64(media) else base64.b64encode(
                b"simulated media " + key_id.encode()).decode()
        sent = {"key": {"remoteJid": jid, "fromMe": True, "id": key_id}, "pushName": "Você",
                "status": "PENDING", "message": content, "messageType": message_type,
                "messageTimestamp": int(time.time()), "instanceId": inst.instance_id,
                "source": "web"}
        record = {"id": key_id, "instance": inst.name, "endpoint": op, "body": body,
                  "response": sent, "statuses": []}
        self.messages.append(record)
        self.emit(inst, "SEND_MESSAGE", sent)
        self._schedule_statuses(inst, record, jid, voice=op == "sendWhatsAppAudio")
        return sent

    def _schedule_statuses(self, inst: Instance, record: dict[str, Any], jid: str, *,
                           voice: bool) -> None:
        config = self.state.config
        user = jid.split("@", 1)[0]
        if user in {str(u).lstrip("+") for u in config["errorRecipients"]}:
            sequence = ["ERROR"]
        else:
            sequence = ["SERVER_ACK", "DELIVERY_ACK", "READ"]
            if voice and not config["dropRead"]:
                sequence.append("PLAYED")
            sequence = status_sequence(config, sequence, delivered="DELIVERY_ACK", read="READ")
        step = float(config["statusDelayMs"]) / 1000
        webhook = inst.webhook  # statuses keep flowing even if the instance is deleted
        for i, status in enumerate(sequence, 1):
            data = {"keyId": record["id"], "remoteJid": jid, "fromMe": True, "status": status,
                    "instanceId": inst.instance_id}
            self.emit(inst, "MESSAGES_UPDATE", data, delay=step * i, webhook=webhook)
            record["statuses"].append(status)

    # -- chat ------------------------------------------------------------------------------

    async def mark_read(self, request: Request) -> Response:
        body, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"readMessages": ARR}, ("readMessages",))
        for i, item in enumerate(body.get("readMessages") or []):
            problems += check_fields(item if isinstance(item, dict) else {},
                                     {"remoteJid": STR, "fromMe": BOOL, "id": STR},
                                     ("remoteJid", "fromMe", "id"), f"readMessages[{i}].")
        if problems:
            return error(400, problems)
        if inst.state != "open":
            return error(500, ["Read messages fail", "Error: Connection Closed"])
        return JSONResponse({"message": "Read messages", "read": "success"}, status_code=201)

    async def presence(self, request: Request) -> Response:
        body, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"number": STR, "presence": STR, "delay": INT},
                                ("number", "presence", "delay"))
        if not problems and body["presence"] not in PRESENCES:
            problems = [f"presence is not one of enum values: {','.join(PRESENCES)}"]
        if problems:
            return error(400, problems)
        if inst.state != "open":
            return error(400, ["Error: Connection Closed"])  # caught and wrapped there
        refused = self._before_send(inst, body["number"])
        if refused is not None:
            return refused
        await asyncio.sleep(min(max(body["delay"], 0), 120_000) / 1000)
        return JSONResponse({"presence": body["presence"]}, status_code=201)

    async def whatsapp_numbers(self, request: Request) -> Response:
        body, inst = await self.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"numbers": ARR}, ("numbers",))
        if problems:
            return error(400, problems)
        if inst.state != "open":
            return connection_closed()
        out = []
        for number in body["numbers"]:
            jid = jid_for(str(number))
            user = jid.split("@", 1)[0]
            exists = not jid.endswith("@s.whatsapp.net") or (
                user.isdigit() and not self.state.is_unknown(user))
            out.append({"jid": jid, "exists": exists, "number": str(number)})
        return JSONResponse(out)

    # -- control ---------------------------------------------------------------------------

    def _control_instance(self, request: Request) -> Instance | Response:
        inst = self.instances.get(request.path_params["name"])
        return inst if inst is not None else JSONResponse(
            {"error": "unknown instance"}, status_code=404)

    async def pair(self, request: Request) -> Response:
        inst = self._control_instance(request)
        if not isinstance(inst, Instance):
            return inst
        body = await _json_or_empty(request)
        digits = re.sub(r"\D", "", str(body.get("number") or inst.number or "")) \
            or "5511" + "".join(secrets.choice("0123456789") for _ in range(9))
        inst.state = "open"
        inst.wuid = digits + "@s.whatsapp.net"
        inst.profile_name = str(body.get("profileName") or f"Sim {inst.name}")
        inst.qr_code = inst.qr_base64 = inst.pairing_code = None
        self.emit(inst, "CONNECTION_UPDATE", {
            "instance": inst.name, "wuid": inst.wuid, "profileName": inst.profile_name,
            "profilePictureUrl": None, "state": "open", "statusReason": 200})
        return JSONResponse(inst.describe())

    async def disconnect(self, request: Request) -> Response:
        inst = self._control_instance(request)
        if not isinstance(inst, Instance):
            return inst
        body = await _json_or_empty(request)
        self.close(inst, int(body.get("reason") or 401))
        return JSONResponse(inst.describe())

    async def qr(self, request: Request) -> Response:
        inst = self._control_instance(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state == "open":
            return JSONResponse({"error": "the instance is open: no QR code"}, status_code=409)
        if inst.state != "connecting":
            self.start_connecting(inst, inst.number)
        elif inst.qr_count >= int(self.state.config["qrcodeLimit"]):
            self._refuse(inst)
        else:
            self.new_qr(inst)
        return JSONResponse(inst.describe())

    def _refuse(self, inst: Instance) -> None:
        inst.state = "refused"
        inst.qr_code = inst.qr_base64 = inst.pairing_code = None
        self.emit(inst, "QRCODE_UPDATED", {"message": "QR code limit reached, please login again",
                                           "statusCode": 500})
        self.emit(inst, "CONNECTION_UPDATE", {
            "instance": inst.name, "state": "refused", "statusReason": 428, "wuid": None,
            "profileName": None, "profilePictureUrl": None})

    async def inbound(self, request: Request) -> Response:
        spec = await _json_or_empty(request)
        inst = self.instances.get(str(spec.get("instance")))
        if inst is None:
            return JSONResponse({"error": "unknown instance"}, status_code=404)
        if inst.state != "open" or not spec.get("from"):
            return JSONResponse({"error": "the instance must be open and 'from' given"},
                                status_code=409)
        data = self._upsert(inst, spec)
        self.emit(inst, "MESSAGES_UPSERT", data)
        self.emit(inst, "CONTACTS_UPSERT", [{"remoteJid": data["key"]["remoteJid"],
                                             "pushName": data["pushName"],
                                             "profilePicUrl": None,
                                             "instanceId": inst.instance_id}])
        return JSONResponse({"id": data["key"]["id"]})

    def _upsert(self, inst: Instance, spec: dict[str, Any]) -> dict[str, Any]:
        key = inbound_key(spec)
        context = self._context(inst, spec.get("replyTo"))
        base64_on = bool(inst.webhook and inst.webhook.base64)
        message, message_type = inbound_content(spec, key, context, base64_on,
                                                ours=self._sent_ids())
        data: dict[str, Any] = {
            "key": key, "pushName": str(spec.get("name") or ""), "status": "DELIVERY_ACK",
            "message": message, "messageType": message_type,
            "messageTimestamp": int(time.time()), "instanceId": inst.instance_id,
            "source": "ios"}
        if context:
            data["contextInfo"] = context
        return data

    def _sent_ids(self) -> set[str]:
        return {str(m["id"]) for m in self.messages}

    def _context(self, inst: Instance, reply_to: Any) -> dict[str, Any] | None:
        if not reply_to:
            return None
        context: dict[str, Any] = {"stanzaId": str(reply_to),
                                   "participant": inst.wuid or "0@s.whatsapp.net"}
        quoted = next((m for m in self.messages if m["id"] == reply_to), None)
        if quoted is not None:
            context["quotedMessage"] = {k: v for k, v in quoted["response"]["message"].items()
                                        if k != "base64"}
        return context

    async def list_messages(self, request: Request) -> Response:
        name = request.query_params.get("instance")
        return JSONResponse([m for m in self.messages if not name or m["instance"] == name])

    async def list_instances(self, _: Request) -> Response:
        return JSONResponse([i.describe() for i in self.instances.values()])

    def routes(self) -> list[Route]:
        return [
            Route("/instance/create", self.create, methods=["POST"]),
            Route("/instance/connect/{instance}", self.connect, methods=["GET"]),
            Route("/instance/connectionState/{instance}", self.connection_state,
                  methods=["GET"]),
            Route("/instance/logout/{instance}", self.logout, methods=["DELETE"]),
            Route("/instance/delete/{instance}", self.delete, methods=["DELETE"]),
            Route("/webhook/set/{instance}", self.webhook_set, methods=["POST"]),
            Route("/webhook/find/{instance}", self.webhook_find, methods=["GET"]),
            Route("/message/{op}/{instance}", self.send, methods=["POST"]),
            Route("/chat/markMessageAsRead/{instance}", self.mark_read, methods=["POST"]),
            Route("/chat/sendPresence/{instance}", self.presence, methods=["POST"]),
            Route("/chat/whatsappNumbers/{instance}", self.whatsapp_numbers, methods=["POST"]),
            Route("/_sim/instances/{name}/pair", self.pair, methods=["POST"]),
            Route("/_sim/instances/{name}/disconnect", self.disconnect, methods=["POST"]),
            Route("/_sim/instances/{name}/qr", self.qr, methods=["POST"]),
            Route("/_sim/inbound", self.inbound, methods=["POST"]),
            Route("/_sim/messages", self.list_messages, methods=["GET"]),
            Route("/_sim/instances", self.list_instances, methods=["GET"]),
            *control_routes(self.state, on_reset=self.reset),
        ]


async def _json_or_empty(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


# -- message shapes (pure) -------------------------------------------------------------------

def _media_part(kind: str, mimetype: str, **extra: Any) -> dict[str, Any]:
    token = secrets.token_hex(8)
    part: dict[str, Any] = {"url": f"{CDN}{token}.enc", "mimetype": mimetype,
                            "fileSha256": base64.b64encode(secrets.token_bytes(32)).decode(),
                            "fileLength": _long(48213), "mediaKeyTimestamp": _long(
                                int(time.time())),
                            "directPath": f"/v/t62.7118-24/{token}.enc"}
    if kind == "image":
        part.update(height=1280, width=960)
    part.update({k: v for k, v in extra.items() if v not in (None, "")})
    return part


def sent_content(op: str, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The Baileys message Evolution returns for a send, flattened like ``prepareMessage``."""
    if op == "sendText":
        return {"conversation": body["text"]}, "conversation"
    if op == "sendMedia":
        return _sent_media(body)
    if op == "sendWhatsAppAudio":
        part = _media_part("audio", "audio/ogg; codecs=opus", ptt=True, seconds=3)
        return {"audioMessage": part}, "audioMessage"
    if op == "sendSticker":
        return {"stickerMessage": _media_part("sticker", "image/webp")}, "stickerMessage"
    if op == "sendButtons":
        return _sent_buttons(body), "viewOnceMessage"
    if op == "sendList":
        return {"listMessage": {"title": body["title"], "description": body.get("description"),
                                "buttonText": body["buttonText"],
                                "footerText": body["footerText"],
                                "sections": body["sections"], "listType": 2}}, "listMessage"
    if op == "sendReaction":
        return {"reactionMessage": {"key": body["key"], "text": body["reaction"]}}, \
            "reactionMessage"
    return {"locationMessage": {"degreesLatitude": body["latitude"],
                                "degreesLongitude": body["longitude"], "name": body["name"],
                                "address": body["address"]}}, "locationMessage"


def _sent_media(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    kind = body["mediatype"]
    file_name = body.get("fileName")
    if kind == "document" and not file_name:
        found = re.search(r".*/(.+?)\.", body["media"])  # Evolution: the URL's last segment
        file_name = found.group(1) if found else "file"
    mimetype = "image/jpeg" if kind == "image" else body.get("mimetype") or MEDIA_MIMES[kind]
    part = _media_part(kind, mimetype, caption=body.get("caption"),
                       fileName=file_name if kind == "document" else None)
    return {f"{kind}Message": part}, f"{kind}Message"


def _button_params(button: dict[str, Any]) -> str:
    kind = button["type"]
    params: dict[str, Any] = {"display_text": button.get("displayText")}
    if kind == "reply":
        params["id"] = button.get("id")
    elif kind == "url":
        params.update(url=button.get("url"), merchant_url=button.get("url"))
    elif kind == "call":
        params["phone_number"] = button.get("phoneNumber")
    elif kind == "copy":
        params["copy_code"] = button.get("copyCode")
    return json.dumps({k: v for k, v in params.items() if v is not None}, ensure_ascii=False)


def _sent_buttons(body: dict[str, Any]) -> dict[str, Any]:
    # Evolution writes "*<title>*" then, with a description, "\n\n<description>\n".
    text = f"*{body.get('title')}*" if "title" in body else "*undefined*"
    if body.get("description"):
        text += "\n\n" + body["description"] + "\n"
    interactive: dict[str, Any] = {
        "body": {"text": text}, "footer": {"text": body.get("footer")},
        "nativeFlowMessage": {
            "buttons": [{"name": BUTTON_FLOWS[b["type"]], "buttonParamsJson": _button_params(b)}
                        for b in body["buttons"]],
            "messageParamsJson": json.dumps({"from": "api", "templateId": str(uuid.uuid4())})}}
    if body.get("thumbnailUrl"):
        interactive["header"] = {"hasMediaAttachment": True,
                                 "imageMessage": _media_part("image", "image/jpeg")}
    return {"viewOnceMessage": {"message": {"interactiveMessage": interactive}}}


def inbound_key(spec: dict[str, Any]) -> dict[str, Any]:
    phone_jid = re.sub(r"\D", "", str(spec["from"])) + "@s.whatsapp.net"
    lid_jid = "".join(secrets.choice("0123456789") for _ in range(15)) + "@lid"
    key: dict[str, Any] = {"remoteJid": phone_jid, "fromMe": False, "id": new_hex_id("3A", 20)}
    group, lid = spec.get("group"), bool(spec.get("lid"))
    if group and lid:
        key.update(remoteJid=group, participant=lid_jid, participantAlt=phone_jid,
                   addressingMode="lid")
    elif group:
        key.update(remoteJid=group, participant=phone_jid, addressingMode="pn")
    elif lid:
        key.update(remoteJid=lid_jid, remoteJidAlt=phone_jid, addressingMode="lid")
    return key


def inbound_content(spec: dict[str, Any], key: dict[str, Any], context: dict[str, Any] | None,
                    base64_on: bool, *, ours: set[str]) -> tuple[dict[str, Any], str]:
    kind = str(spec.get("type") or "text")
    text = spec.get("text")
    ctx = {"contextInfo": context} if context else {}
    if kind in ("image", "video", "audio", "document"):
        return _inbound_media(kind, spec.get("media") or {}, ctx, base64_on)
    if kind == "buttonReply":
        return _button_reply(spec, ctx)
    if kind == "listReply":
        row = str(spec.get("rowId") or "row-1")
        return {"listResponseMessage": {"title": text or row, "listType": 1,
                                        "singleSelectReply": {"selectedRowId": row},
                                        **ctx}}, "listResponseMessage"
    if kind == "reaction":
        target = str(spec.get("reactTo") or "")
        return {"reactionMessage": {
            "key": {"remoteJid": key["remoteJid"], "fromMe": target in ours, "id": target},
            "text": str(spec.get("emoji") or "👍"),
            "senderTimestampMs": _long(int(time.time() * 1000))}}, "reactionMessage"
    # extendedTextMessage (replies) is flattened to conversation; contextInfo is lifted.
    return {"conversation": str(text if text is not None else "Hello"),
            "messageContextInfo": {"deviceListMetadataVersion": 2}}, "conversation"


def _inbound_media(kind: str, media: dict[str, Any], ctx: dict[str, Any],
                   base64_on: bool) -> tuple[dict[str, Any], str]:
    extra: dict[str, Any] = {"caption": media.get("caption"), **ctx}
    if kind == "audio":
        extra.update(ptt=True, seconds=4)
    if kind == "document":
        extra.update(fileName=media.get("fileName") or "file.pdf",
                     title=media.get("fileName") or "file.pdf")
    default_mime = {"audio": "audio/ogg; codecs=opus", "document": "application/pdf"}
    part = _media_part(kind, str(media.get("mimetype") or default_mime.get(kind)
                                 or MEDIA_MIMES[kind]), **extra)
    if media.get("url"):
        part["url"] = media["url"]
    message: dict[str, Any] = {f"{kind}Message": part}
    if base64_on:
        message["base64"] = media.get("base64") or base64.b64encode(
            b"simulated inbound " + kind.encode()).decode()
    return message, f"{kind}Message"


def _button_reply(spec: dict[str, Any], ctx: dict[str, Any]) -> tuple[dict[str, Any], str]:
    button_id = str(spec.get("buttonId") or "button-1")
    label = str(spec.get("text") or button_id)
    style = spec.get("buttonStyle") or "native"
    if style == "classic":
        return {"buttonsResponseMessage": {"selectedButtonId": button_id,
                                           "selectedDisplayText": label, "type": 1,
                                           **ctx}}, "buttonsResponseMessage"
    if style == "template":
        return {"templateButtonReplyMessage": {"selectedId": button_id,
                                               "selectedDisplayText": label,
                                               "selectedIndex": 0, **ctx}}, \
            "templateButtonReplyMessage"
    return {"interactiveResponseMessage": {
        "body": {"text": label, "format": 1},
        "nativeFlowResponseMessage": {"name": "quick_reply",
                                      "paramsJson": json.dumps({"id": button_id}),
                                      "version": 3},
        **ctx}}, "interactiveResponseMessage"


def create_app(*, api_key: str = "sim-evolution-key", global_webhook_url: str | None = None,
               server_url: str = "http://127.0.0.1",
               config: dict[str, Any] | None = None) -> Starlette:
    sim = EvolutionSim(api_key=api_key, global_webhook_url=global_webhook_url,
                       server_url=server_url, config=config)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await sim.sender.start()
        try:
            yield
        finally:
            await sim.sender.stop()

    async def not_found(request: Request, _: Exception) -> Response:
        # Express answers unknown routes (and wrong methods) with this 404.
        return error(404, [f"Cannot {request.method} {request.url.path}"])

    app = Starlette(routes=sim.routes(), lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_found})
    app.state.sim = sim
    return app

