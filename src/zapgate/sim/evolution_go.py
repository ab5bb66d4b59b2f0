"""Evolution GO simulator: a loopback Starlette app that speaks Evolution GO v0.6's HTTP API
and posts its webhooks (providers.md section C).

API (header ``apikey``; admin routes take only the global key, the others only an instance
token; a wrong key is 401 ``{"error":"not authorized"}``; while the license gate is on, every
API route answers 503 ``LICENSE_REQUIRED`` before auth):

* ``GET    /server/ok``                      health, no auth, never gated
* ``POST   /instance/create``                admin: ``{name, token, instanceId?, advancedSettings?}``
* ``GET    /instance/all``                   admin: every instance row
* ``GET    /instance/info/{id}``             admin: one instance row
* ``DELETE /instance/delete/{id}``           admin
* ``POST   /instance/connect``               ``{webhookUrl, subscribe}``; starts the client, which
                                             posts ``QRCode`` webhooks (``count``/``maxCount``)
* ``GET    /instance/qr``                    ``{Qrcode, Code}``
* ``POST   /instance/pair``                  ``{phone}`` -> ``{PairingCode: "ABCD-EFGH"}``
* ``GET    /instance/status``                ``{Connected, LoggedIn, Name}``
* ``POST   /instance/disconnect|reconnect``, ``DELETE /instance/logout``
* ``GET|PUT /instance/{id}/advanced-settings``
* ``POST   /send/text|media|button|list|location|contact|sticker``  -> ``MessageSendStruct``
* ``POST   /message/presence|markread|react``

After a send: a ``SendMessage`` webhook (not for button/list/react), then ``Receipt``
``Delivered`` and ``Read`` (``statusDelayMs`` apart; ``skipDelivered``/``dropRead``/
``reorder``/``duplicates`` apply). Webhooks go to the instance's ``webhookUrl`` and the global
URL, only for subscribed categories, with alphabetic keys and ``instanceToken`` inside.

Control (no auth, besides the common ``/_sim/requests|faults|config|callbacks|reset``):

* ``POST /_sim/license``                     ``{"required": bool}``: the license gate
* ``POST /_sim/instances/{name}/pair``       ``{number?, pushName?}``: the phone scanned the QR
                                             -> ``PairSuccess`` + ``Connected``
* ``POST /_sim/instances/{name}/disconnect`` ``{event: LoggedOut|Disconnected|TemporaryBan|
                                             ConnectFailure, reason?, code?, reconnectAfterMs?}``
                                             (Disconnected + reconnectAfterMs: whatsmeow's
                                             auto-reconnect, then ``Connected``)
* ``POST /_sim/inbound``                     ``{instance, from, name?, type?, text?, replyTo?,
                                             group?, groupName?, lid?, buttonId?, rowId?, emoji?,
                                             reactTo?, media?{url?, mimetype?, caption?,
                                             fileName?}}`` -> ``Message`` webhook; ``{"id"}``
* ``GET  /_sim/messages``                    messages sent and injected
* ``GET  /_sim/instances``                   instances with their simulated client state

Faults (``/_sim/faults``): ``http``/``slow``/``timeout`` as everywhere; ``error`` answers
``body`` (default ``{"error": code}``) with ``status`` (default 500): any Evolution GO error.
Config on top of the common switches: ``qrDelayMs``, ``qrIntervalMs``, ``qrMaxCount``,
``ownNumber``, ``pushName``, ``webhookFiles`` (``Message.base64`` on media webhooks).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import mimetypes
import random
import secrets
import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.common import (
    CallbackSender,
    Fault,
    SimState,
    apply_transport_fault,
    control_routes,
    new_hex_id,
    status_sequence,
)

EXTRA_DEFAULTS: dict[str, Any] = {
    "qrDelayMs": 20,  # client start -> first QR code
    "qrIntervalMs": 20_000,  # between QR codes (whatsmeow: 60 s, then 20 s)
    "qrMaxCount": 5,  # QRCODE_MAX_COUNT: at this count the client gives up (0 = never)
    "ownNumber": "5511900001111",  # the paired phone, when the pair call gave none
    "pushName": "Zapgate Sim",
    "webhookFiles": True,  # WEBHOOK_FILES: Message.base64 on media webhooks
}
CATEGORIES = {
    "Message": "MESSAGE", "SendMessage": "SEND_MESSAGE", "Receipt": "READ_RECEIPT",
    "Connected": "CONNECTION", "PairSuccess": "CONNECTION", "TemporaryBan": "CONNECTION",
    "LoggedOut": "CONNECTION", "ConnectFailure": "CONNECTION", "Disconnected": "CONNECTION",
    "QRCode": "QRCODE", "QRTimeout": "QRCODE",
}
KNOWN_CATEGORIES = ("MESSAGE", "SEND_MESSAGE", "READ_RECEIPT", "PRESENCE", "CHAT_PRESENCE",
                    "HISTORY_SYNC", "CALL", "CONNECTION", "LABEL", "CONTACT", "GROUP",
                    "NEWSLETTER", "QRCODE")
JID_SERVERS = ("@g.us", "@s.whatsapp.net", "@lid", "@broadcast", "@newsletter")
ADVANCED_DEFAULTS = {"alwaysOnline": False, "rejectCall": False, "msgRejectCall": "",
                     "readMessages": False, "ignoreGroups": False, "ignoreStatus": False}
PAIR_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
ZERO_TIME = "0001-01-01 00:00:00 +0000 UTC"  # Go's time.Time{}.String(): presence/markread
SERVER_TZ = timezone(timedelta(hours=-3))
MEDIA_LABELS = {"image": "ImageMessage", "video": "VideoMessage", "ptv": "PtvMessage",
                "audio": "AudioMessage", "document": "DocumentMessage"}
DEFAULT_MIME = {"image": "image/jpeg", "video": "video/mp4", "ptv": "video/mp4",
                "audio": "audio/mpeg", "document": "application/octet-stream"}
REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "/send/text": (("text", "message body is required"),),
    "/send/media": (("url", "URL is required"), ("type", "media type is required")),
    "/send/sticker": (("sticker", "sticker is required"),),
    "/send/location": (("latitude", "latitude is required"),
                       ("longitude", "longitude is required"),
                       ("address", "address is required"), ("name", "name is required")),
    "/send/contact": (("vcard.phone", "contact phone number is required"),
                      ("vcard.fullName", "contact full name is required")),
    "/send/button": (("title", "title is required"), ("description", "description is required"),
                     ("footer", "footer is required")),
    "/send/list": (("title", "title is required"), ("description", "description is required"),
                   ("footerText", "footer is required"),
                   ("buttonText", "button text is required")),
    "/message/react": (("reaction", "message reaction is required"),),
    "/message/presence": (("state", "state is required"),),
    "/message/markread": (("id", "id is required"),),
}
# Button type -> native-flow name and its params (param <- request field).
BUTTON_FLOWS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "reply": ("quick_reply", (("display_text", "displayText"), ("id", "id"))),
    "copy": ("cta_copy", (("display_text", "displayText"), ("copy_code", "copyCode"))),
    "url": ("cta_url", (("display_text", "displayText"), ("url", "url"),
                        ("merchant_url", "url"))),
    "call": ("cta_call", (("display_text", "displayText"), ("phone_number", "phoneNumber"))),
}


class GoError(Exception):
    """An Evolution GO error answer: ``{"error": text}`` (no body when ``text`` is None)."""

    def __init__(self, status: int, text: str | None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text

    def response(self) -> Response:
        if self.text is None:  # gin's panic recovery: status only
            return Response(status_code=self.status)
        return JSONResponse({"error": self.text}, status_code=self.status)


# -- Go-flavoured values --------------------------------------------------------------------


def go_time(at: float | None = None, *, whole_seconds: bool = False) -> str:
    """``time.Time`` as Go marshals it: RFC 3339, nanoseconds without trailing zeros, offset."""
    nanos = time.time_ns() if at is None else int(at * 1e9)
    moment = datetime.fromtimestamp(nanos // 1_000_000_000, SERVER_TZ)
    fraction = "" if whole_seconds else f"{nanos % 1_000_000_000:09d}".rstrip("0")
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "")
    return stamp + moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]


def ok(data: Any = None, *, with_data: bool = True) -> JSONResponse:
    """gin.H{"message": "success", "data": ...} (a Go map: keys in alphabetic order)."""
    return JSONResponse({"data": data, "message": "success"} if with_data
                        else {"message": "success"})


def _b64(size: int = 32) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


def qr_png(code: str) -> str:
    """A valid, tiny PNG data URI carrying ``code`` in a text chunk (fresh per QR)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
           + chunk(b"tEXt", b"qr\x00" + code.encode())
           + chunk(b"IDAT", zlib.compress(b"\x00\xff")) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def to_jid(number: str) -> str | None:
    """Evolution GO's number normalisation: JIDs as they are, else digits@s.whatsapp.net (18+
    digits or a long hyphenated id: a group)."""
    if any(server in number for server in JID_SERVERS):
        return number
    cleaned = number.replace(" ", "").replace("+", "").replace("(", "").replace(")", "")
    cleaned = cleaned.split(":")[0]
    if ("-" in cleaned and len(cleaned) >= 24) or len(cleaned) >= 18:
        return "".join(c for c in cleaned if c.isdigit() or c == "-") + "@g.us"
    digits = "".join(c for c in cleaned if c.isdigit())
    return digits + "@s.whatsapp.net" if digits else None


def _user(jid: str) -> str:
    return jid.partition("@")[0].split(":")[0]


def _lid_for(phone: str) -> str:
    return str(int(hashlib.sha256(phone.encode()).hexdigest()[:12], 16) % 10**15).zfill(15)


def _upload(mimetype: str, size: int) -> dict[str, Any]:
    path = f"/v/t62.7118-24/{random.randint(10**7, 10**8)}_{secrets.token_hex(8)}.enc"
    return {"URL": f"https://mmg.whatsapp.net{path}?ccb=11-4", "mimetype": mimetype,
            "fileSHA256": _b64(), "fileLength": size, "mediaKey": _b64(),
            "fileEncSHA256": _b64(), "directPath": path, "mediaKeyTimestamp": int(time.time())}


def _send_info(chat: str, sender: str, message_id: str, label: str) -> dict[str, Any]:
    return {
        "Chat": chat, "Sender": sender, "IsFromMe": True, "IsGroup": chat.endswith("@g.us"),
        "AddressingMode": "", "SenderAlt": "", "RecipientAlt": "", "BroadcastListOwner": "",
        "BroadcastRecipients": None, "ID": message_id, "ServerID": 0, "Type": label,
        "PushName": "", "Timestamp": go_time(), "Category": "", "Multicast": False,
        "MediaType": "", "Edit": "",
        "MsgBotInfo": {"EditType": "", "EditTargetID": "",
                       "EditSenderTimestampMS": "0001-01-01T00:00:00Z"},
        "MsgMetaInfo": {"TargetID": "", "TargetSender": "", "TargetChat": "",
                        "DeprecatedLIDSession": None, "ThreadMessageID": "",
                        "ThreadMessageSenderJID": ""},
        "VerifiedName": None, "DeviceSentMeta": None,
    }


def _context(quoted: Any) -> dict[str, Any]:
    quoted = quoted if isinstance(quoted, dict) else {}
    return {"stanzaID": str(quoted.get("messageId") or ""),
            "participant": str(quoted.get("participant") or ""),
            "quotedMessage": {"conversation": ""}}


def _missing(body: dict[str, Any], path: str) -> bool:
    value: Any = body
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value in (None, "", 0, [], {})


# -- state ----------------------------------------------------------------------------------


@dataclass
class Instance:
    id: str
    name: str
    token: str
    created_at: str
    advanced: dict[str, Any] = field(default_factory=lambda: dict(ADVANCED_DEFAULTS))
    webhook: str = ""
    events: list[str] = field(default_factory=list)  # stored (cleared by /disconnect)
    subs: list[str] = field(default_factory=list)  # the running client's subscriptions
    client: bool = False  # a whatsmeow client runs
    connected: bool = False  # its websocket is up
    logged_in: bool = False  # paired (the device store survives client restarts)
    jid: str = ""
    lid: str = ""
    push_name: str = ""
    qr: tuple[str, str] | None = None
    qr_count: int = 0
    pairing_phone: str = ""
    disconnect_reason: str = ""
    qr_task: asyncio.Task[None] | None = field(default=None, repr=False)

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "token": self.token, "webhook": self.webhook,
                "rabbitmqEnable": "", "websocketEnable": "", "natsEnable": "", "jid": self.jid,
                "qrcode": "|".join(self.qr) if self.qr else "", "connected": self.connected,
                "expiration": 0, "disconnect_reason": self.disconnect_reason,
                "events": ",".join(self.events), "os_name": "Evolution GO", "proxy": "null",
                "client_name": "evolution", "createdAt": self.created_at, **self.advanced}

    def describe(self) -> dict[str, Any]:
        return {**self.row(), "client": self.client, "loggedIn": self.logged_in,
                "subscribe": self.subs, "pushName": self.push_name,
                "pairingPhone": self.pairing_phone, "qrCount": self.qr_count}


ApiHandler = Callable[[Request, dict[str, Any], Instance | None], Awaitable[Response]]


class EvolutionGoSim:
    def __init__(self, *, api_key: str, global_webhook_url: str | None, license_required: bool,
                 config: dict[str, Any] | None) -> None:
        self.api_key = api_key
        self.global_webhook_url = global_webhook_url
        self.license_default = license_required
        self.license_required = license_required
        self.state = SimState(extra_defaults={**EXTRA_DEFAULTS, **(config or {})})
        self.sender = CallbackSender(self.state)
        self.instances: dict[str, Instance] = {}
        self.messages: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.stop_clients()
        self.instances.clear()
        self.messages.clear()
        self.license_required = self.license_default

    def stop_clients(self) -> None:
        for inst in self.instances.values():
            self._stop_client(inst)

    # -- plumbing ---------------------------------------------------------------------------

    def api(self, handler: ApiHandler, auth: str | None) -> Callable[[Request],
                                                                     Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await self.state.log_request(request)
            number = body.get("number") if isinstance(body, dict) else None
            to = _user(to_jid(number) or "") if isinstance(number, str) else None
            fault = self.state.take_fault(request.url.path, to)
            early = await apply_transport_fault(fault) or self._fault_error(fault)
            if early is not None:
                return early
            if self.license_required and auth is not None:
                return self._license_gate(request)
            allowed, inst = self._authorize(request, auth)
            if not allowed:
                return JSONResponse({"error": "not authorized"}, status_code=401)
            if await request.body() and not isinstance(body, dict):
                return JSONResponse({"error": "Invalid JSON format"}, status_code=400)
            try:
                return await handler(request, body or {}, inst)
            except GoError as exc:
                return exc.response()

        return endpoint

    def _authorize(self, request: Request, auth: str | None) -> tuple[bool, Instance | None]:
        """(allowed, the instance the token names). Admin routes take only the global key,
        instance routes only an instance token."""
        key = request.headers.get("apikey", "")
        if auth == "admin":
            return bool(key) and secrets.compare_digest(key, self.api_key), None
        if auth == "instance":
            inst = next((i for i in self.instances.values() if key and i.token == key), None)
            return inst is not None, inst
        return True, None

    @staticmethod
    def _fault_error(fault: Fault | None) -> Response | None:
        if fault is None or fault.kind != "error":
            return None
        body = fault.body if fault.body is not None else {
            "error": str(fault.code or "simulated failure")}
        return JSONResponse(body, status_code=fault.status or 500)

    @staticmethod
    def _license_gate(request: Request) -> Response:
        host = request.headers.get("host", "127.0.0.1")
        return JSONResponse({
            "error": "service not activated", "code": "LICENSE_REQUIRED",
            "register_url": f"http://{host}/manager/login",
            "message": "License required. Open the manager to activate your license.",
        }, status_code=503)

    def emit(self, inst: Instance, event: str, data: dict[str, Any], *,
             state: str | None = None, delay: float = 0.0) -> None:
        """Post one webhook to the instance URL and the global URL, if subscribed."""
        subs = {s.upper() for s in inst.subs}
        if "ALL" not in subs and CATEGORIES.get(event) not in subs:
            return
        envelope: dict[str, Any] = {"data": data, "event": event, "instanceId": inst.id,
                                    "instanceName": inst.name, "instanceToken": inst.token}
        if state is not None:
            envelope["state"] = state
        raw = json.dumps(envelope, sort_keys=True, ensure_ascii=False).encode()
        for url in (inst.webhook, self.global_webhook_url):
            if url and url != "disabled":
                self.sender.post(url, envelope, delay=delay, body=raw)

    def _by_name(self, name: str) -> Instance:
        inst = self.instances.get(name)
        if inst is None:
            raise GoError(404, f"instance {name!r} not found")
        return inst

    def _by_id(self, instance_id: str) -> Instance:
        found = next((i for i in self.instances.values() if i.id == instance_id), None)
        if found is None:
            raise GoError(500, "record not found")
        return found

    # -- the simulated whatsmeow client -----------------------------------------------------

    def _start_client(self, inst: Instance) -> None:
        inst.client = inst.connected = True
        if inst.logged_in:
            self._emit_connected(inst)
            return
        inst.qr, inst.qr_count = None, 0
        inst.qr_task = asyncio.create_task(self._qr_loop(inst))

    def _stop_client(self, inst: Instance) -> None:
        if inst.qr_task is not None:
            inst.qr_task.cancel()
            inst.qr_task = None
        inst.client = inst.connected = False
        inst.qr = None

    async def _qr_loop(self, inst: Instance) -> None:
        config = self.state.config
        await asyncio.sleep(float(config["qrDelayMs"]) / 1000)
        maximum = int(config["qrMaxCount"])
        while not inst.logged_in:
            inst.qr_count += 1
            if maximum and inst.qr_count >= maximum:
                self._qr_limit(inst, maximum)
                return
            code = f"2@{_b64(24)},{_b64()},{_b64()},{_b64()}"
            inst.qr = (qr_png(code), code)
            self.emit(inst, "QRCode", {"qrcode": inst.qr[0], "code": code,
                                       "count": inst.qr_count, "maxCount": maximum})
            await asyncio.sleep(float(config["qrIntervalMs"]) / 1000)

    def _qr_limit(self, inst: Instance, maximum: int) -> None:
        inst.qr_task = None
        self._stop_client(inst)
        inst.disconnect_reason = f"QR code limit reached ({maximum})"
        self.emit(inst, "QRTimeout", {"reason": f"Maximum QR code count ({maximum}) reached",
                                      "qrcount": inst.qr_count, "maxCount": maximum,
                                      "forceLogout": True})

    def _reconnect(self, inst: Instance) -> None:
        if inst.client and not inst.connected:
            inst.connected = True
            if inst.logged_in:
                self._emit_connected(inst)

    def _emit_connected(self, inst: Instance) -> None:
        self.emit(inst, "Connected", {"status": "open", "jid": inst.jid,
                                      "pushName": inst.push_name}, delay=0.01)

    def _require_session(self, inst: Instance) -> None:
        if not inst.client:
            raise GoError(500, "no active session found")
        if not inst.connected:
            raise GoError(500, "client disconnected")
        if not inst.logged_in:
            raise GoError(500, "no active session found")

    # -- admin routes -----------------------------------------------------------------------

    async def create(self, _: Request, body: dict[str, Any], __: Instance | None) -> Response:
        name, token = str(body.get("name") or ""), str(body.get("token") or "")
        if not name:
            raise GoError(400, "name is required")
        if not token:
            raise GoError(400, "token is required")
        if name in self.instances:
            raise GoError(500, "instance already exists")
        inst = Instance(id=str(body.get("instanceId") or uuid.uuid4()), name=name, token=token,
                        created_at=go_time())
        inst.advanced.update({k: v for k, v in (body.get("advancedSettings") or {}).items()
                              if k in ADVANCED_DEFAULTS})
        self.instances[name] = inst
        return ok(inst.row())

    async def list_all(self, *_: Any) -> Response:
        return ok([i.row() for i in self.instances.values()])

    async def info(self, request: Request, *_: Any) -> Response:
        return ok(self._by_id(request.path_params["instance_id"]).row())

    async def delete(self, request: Request, *_: Any) -> Response:
        inst = self._by_id(request.path_params["instance_id"])
        self._stop_client(inst)
        del self.instances[inst.name]
        return ok(with_data=False)

    # -- instance routes --------------------------------------------------------------------

    async def connect(self, _: Request, body: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        wanted = [str(s) for s in body.get("subscribe") or []]
        if not wanted:
            events = ["MESSAGE"]
        elif wanted[0].upper() == "ALL":
            events = list(KNOWN_CATEGORIES)
        else:
            events = [s for s in wanted if s.upper() in KNOWN_CATEGORIES]
        inst.events, inst.subs = events, list(events)
        inst.webhook = str(body.get("webhookUrl") or "")
        if not inst.client:
            self._start_client(inst)
        elif not inst.connected:  # whatsmeow would have reconnected by itself by now
            self._reconnect(inst)
        return ok({"jid": inst.jid, "webhookUrl": inst.webhook, "eventString": ",".join(events)})

    async def qr(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client or inst.logged_in:
            if not inst.client:
                self._start_client(inst)
                await asyncio.sleep(float(self.state.config["qrDelayMs"]) / 1000 + 0.02)
            if inst.logged_in:
                raise GoError(400, "session already logged in")
        if inst.qr is None:
            raise GoError(400, "no QR code available. Please wait a moment and try again")
        return ok({"Qrcode": inst.qr[0], "Code": inst.qr[1]})

    async def pair(self, _: Request, body: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        phone = str(body.get("phone") or "")
        if not phone:
            raise GoError(400, "phone is required")
        if not inst.client:
            raise GoError(500, None)  # a nil client: gin recovers from the panic with a bare 500
        if inst.logged_in:
            return ok({"PairingCode": ""})  # PairPhone failed: logged, still "success"
        inst.pairing_phone = "".join(c for c in phone if c.isdigit())
        code = "".join(random.choice(PAIR_ALPHABET) for _ in range(8))
        return ok({"PairingCode": f"{code[:4]}-{code[4:]}"})

    async def status(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(400, "no active session found")
        if not inst.connected:
            raise GoError(400, "client disconnected")
        return ok({"Connected": inst.connected, "LoggedIn": inst.logged_in,
                   "Name": inst.push_name if inst.logged_in else ""})

    async def disconnect(self, _: Request, __: dict[str, Any],
                         inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(500, "no active session found")
        if inst.connected and inst.logged_in:
            # The kill signal: the client disconnects (the session stays), says "Logged out",
            # and the client loop starts again with its in-memory subscriptions.
            self.emit(inst, "LoggedOut", {"reason": "Logged out"})
            inst.events = []
            self._stop_client(inst)
            self._start_client(inst)
        return ok(with_data=False)

    async def reconnect(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(500, "no active session found")
        inst.connected = False
        self._reconnect(inst)
        return ok(with_data=False)

    async def logout(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(400, "no active session found")
        if not inst.connected:
            raise GoError(400, "ignoring logout as it was not connected")
        if inst.logged_in:
            self.emit(inst, "LoggedOut", {"reason": "Logged out"})
            inst.logged_in, inst.jid, inst.lid, inst.push_name = False, "", "", ""
        self._stop_client(inst)
        return ok(with_data=False)

    async def advanced(self, request: Request, body: dict[str, Any],
                       _: Instance | None) -> Response:
        inst = next((i for i in self.instances.values()
                     if i.id == request.path_params["instance_id"]), None)
        if inst is None:
            raise GoError(404, "instance not found")
        if request.method == "GET":
            return JSONResponse(inst.advanced)
        inst.advanced.update({k: v for k, v in body.items() if k in ADVANCED_DEFAULTS})
        return JSONResponse({"message": "Advanced settings updated successfully",
                             "settings": inst.advanced})

    # -- sends ------------------------------------------------------------------------------

    async def send(self, request: Request, body: dict[str, Any],
                   inst: Instance | None) -> Response:
        assert inst is not None
        path = request.url.path
        chat = self._validate(path, body)
        self._require_session(inst)
        kind = path.rsplit("/", 1)[-1]
        label, message, webhook = self._build(kind, body, chat, inst)
        self._check_recipient(body, chat)
        message_id = str(body.get("id") or new_hex_id("3EB0"))
        info = _send_info(chat, inst.jid, message_id, label)
        context = _context(body.get("quoted"))
        self.messages.append({"direction": "out", "id": message_id, "instance": inst.name,
                              "path": path, "type": label, "chat": chat,
                              "to": _user(chat), "body": body, "at": time.time()})
        if webhook:
            self.emit(inst, "SendMessage", {"Info": info, "Message": self._with_file(message),
                                            "MessageContextInfo": context})
        self._receipts(inst, chat, message_id)
        return ok({"Info": info, "Message": message, "MessageContextInfo": context})

    def _validate(self, path: str, body: dict[str, Any]) -> str:
        """The JID middleware and the handler's required fields, in the server's order."""
        number = body.get("number")
        if number == "":
            raise GoError(400, "number is required and cannot be empty")
        if not isinstance(number, str):
            raise GoError(400, "phone number is required")
        chat = to_jid(number)
        if chat is None:
            raise GoError(400, "Invalid number format: invalid number format")
        for key, text in REQUIRED.get(path, ()):
            if _missing(body, key):
                raise GoError(400, text)
        return chat.replace("+", "")

    def _check_recipient(self, body: dict[str, Any], chat: str) -> None:
        """CHECK_USER_EXISTS: an IsOnWhatsApp query for phone recipients."""
        if chat.endswith("@s.whatsapp.net") and self.state.is_unknown(_user(chat)):
            raise GoError(500, f"number {body.get('number')} is not registered on WhatsApp")

    def _build(self, kind: str, body: dict[str, Any], chat: str,
               inst: Instance) -> tuple[str, dict[str, Any], bool]:
        """(Info.Type, Message, whether a SendMessage webhook follows)."""
        if kind == "text":
            return "ExtendedTextMessage", {"extendedTextMessage": {
                "text": body["text"], "contextInfo": self._quote(body)}}, True
        if kind == "media":
            label, message = self._media(body)
            return label, message, True
        if kind == "sticker":
            if not str(body["sticker"]).startswith("http"):
                raise GoError(500, "invalid sticker URL")
            return "StickerMessage", {"stickerMessage": {**_upload("image/webp", 18_000),
                                                         "contextInfo": {}}}, True
        if kind == "location":
            return "LocationMessage", {"locationMessage": {
                "degreesLatitude": body["latitude"], "degreesLongitude": body["longitude"],
                "name": body["name"], "address": body["address"], "contextInfo": {}}}, True
        if kind == "contact":
            return "ContactMessage", {"contactMessage": _vcard(body["vcard"])}, True
        if kind == "button":
            return "ButtonMessage", _native_flow(body, _buttons(body), body["footer"]), False
        return "ListMessage", _native_flow(body, _list_button(body), body["footerText"]), False

    @staticmethod
    def _quote(body: dict[str, Any]) -> dict[str, Any]:
        quoted = body.get("quoted")
        return _context(quoted) if isinstance(quoted, dict) and quoted.get("messageId") else {}

    def _media(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        url, media_type = str(body["url"]), str(body["type"])
        if not url.lower().startswith(("http://", "https://")):
            scheme = url.split(":", 1)[0] if ":" in url else ""
            raise GoError(500, f'Get "{url}": unsupported protocol scheme "{scheme}"')
        if media_type not in MEDIA_LABELS:
            raise GoError(500, "invalid media type")
        mimetype = _sniff(url, media_type)
        part = {**_upload(mimetype, 48_213), "contextInfo": self._quote(body)}
        caption = str(body.get("caption") or "")
        if media_type == "audio":
            part.update(mimetype="audio/ogg; codecs=opus", PTT=True, seconds=7)
        elif media_type == "document":
            name = str(body.get("filename") or "")
            part.update(fileName=name, title=name)
            if caption:
                part["caption"] = caption
                return "DocumentMessage", {"documentWithCaptionMessage": {
                    "message": {"documentMessage": part}}}
        else:
            part["caption"] = caption
        return MEDIA_LABELS[media_type], {f"{media_type}Message": part}

    def _with_file(self, message: dict[str, Any]) -> dict[str, Any]:
        media = any(k.endswith("Message") and k not in ("extendedTextMessage", "locationMessage",
                                                        "contactMessage") for k in message)
        if not media or not self.state.config["webhookFiles"]:
            return message
        return {**message, "base64": base64.b64encode(b"simulated media bytes").decode()}

    def _receipts(self, inst: Instance, chat: str, message_id: str) -> None:
        if chat.endswith("@newsletter"):
            return
        if chat.endswith("@g.us") and inst.advanced.get("ignoreGroups"):
            return
        config = self.state.config
        gap = float(config["statusDelayMs"]) / 1000
        states = status_sequence(config, ["Delivered", "Read"], delivered="Delivered",
                                 read="Read")
        sender = chat if not chat.endswith("@g.us") else "5511977776666@s.whatsapp.net"
        for index, state in enumerate(states):
            delay = gap * (index + 1)
            self.emit(inst, "Receipt", {
                "Chat": chat, "Sender": sender, "IsFromMe": False,
                "IsGroup": chat.endswith("@g.us"), "AddressingMode": "", "SenderAlt": "",
                "RecipientAlt": "", "BroadcastListOwner": "", "BroadcastRecipients": None,
                "MessageIDs": [message_id], "Timestamp": go_time(time.time() + delay),
                "Type": "" if state == "Delivered" else "read", "MessageSender": "",
            }, state=state, delay=delay)

    # -- message operations -----------------------------------------------------------------

    async def presence(self, request: Request, body: dict[str, Any],
                       inst: Instance | None) -> Response:
        assert inst is not None
        self._validate(request.url.path, body)
        self._require_session(inst)
        return ok({"timestamp": ZERO_TIME})

    async def react(self, request: Request, body: dict[str, Any],
                    inst: Instance | None) -> Response:
        assert inst is not None
        chat = self._validate(request.url.path, body)
        self._require_session(inst)
        if not body.get("id"):
            raise GoError(500, "missing id in payload")
        emoji = "" if body["reaction"] == "remove" else str(body["reaction"])
        key = {"remoteJID": chat, "fromMe": bool(body.get("fromMe")), "ID": str(body["id"])}
        if body.get("participant"):
            key["participant"] = str(body["participant"])
        message = {"reactionMessage": {"key": key, "text": emoji,
                                       "senderTimestampMS": int(time.time() * 1000)}}
        info = _send_info(chat, inst.jid, str(body["id"]), "ReactionMessage")
        self.messages.append({"direction": "out", "id": body["id"], "instance": inst.name,
                              "path": request.url.path, "type": "ReactionMessage",
                              "chat": chat, "to": _user(chat), "body": body, "at": time.time()})
        return ok({"Info": info, "Message": message, "MessageContextInfo": None})

    # -- control ----------------------------------------------------------------------------

    async def control_license(self, request: Request) -> Response:
        body = await request.json()
        self.license_required = bool(body.get("required"))
        return JSONResponse({"required": self.license_required})

    async def control_pair(self, request: Request) -> Response:
        body = await _json_or_empty(request)
        try:
            inst = self._by_name(request.path_params["name"])
        except GoError as exc:
            return exc.response()
        if not inst.client:
            return JSONResponse({"error": "no client running: call /instance/connect first"},
                                status_code=409)
        number = str(body.get("number") or inst.pairing_phone or self.state.config["ownNumber"])
        device = random.randint(2, 60)
        if inst.qr_task is not None:
            inst.qr_task.cancel()
            inst.qr_task = None
        inst.qr, inst.logged_in, inst.connected = None, True, True
        inst.jid = f"{number}:{device}@s.whatsapp.net"
        inst.lid = f"{_lid_for(number)}:{device}@lid"
        inst.push_name = str(body.get("pushName") or self.state.config["pushName"])
        inst.disconnect_reason = ""
        self.emit(inst, "PairSuccess", {"ID": inst.jid, "LID": inst.lid, "BusinessName": "",
                                        "Platform": "android", "status": "open",
                                        "jid": inst.jid, "pushName": inst.push_name})
        self._emit_connected(inst)
        return JSONResponse(inst.describe())

    async def control_disconnect(self, request: Request) -> Response:
        body = await _json_or_empty(request)
        try:
            inst = self._by_name(request.path_params["name"])
            event, data = _disconnect_event(body)
        except GoError as exc:
            return exc.response()
        self.emit(inst, event, data)
        inst.connected = False
        inst.disconnect_reason = str(data.get("reason") or data.get("Message") or event)
        if event == "LoggedOut":
            self._stop_client(inst)
            inst.logged_in, inst.jid, inst.lid, inst.push_name = False, "", "", ""
        elif event == "Disconnected" and body.get("reconnectAfterMs") is not None:
            asyncio.get_running_loop().call_later(float(body["reconnectAfterMs"]) / 1000,
                                                  self._reconnect, inst)
        return JSONResponse(inst.describe())

    async def control_inbound(self, request: Request) -> Response:
        spec = await request.json()
        try:
            inst = self._by_name(str(spec.get("instance")))
        except GoError as exc:
            return exc.response()
        if not inst.logged_in or not inst.connected:
            return JSONResponse({"error": "instance is not connected"}, status_code=409)
        message_id = new_hex_id("3A")
        data = _inbound(inst, spec, message_id, files=bool(self.state.config["webhookFiles"]))
        chat = data["Info"]["Chat"]
        self.messages.append({"direction": "in", "id": message_id, "instance": inst.name,
                              "type": spec.get("type", "text"), "chat": chat,
                              "from": data["Info"]["Sender"], "body": spec, "at": time.time()})
        if not (chat.endswith("@g.us") and inst.advanced.get("ignoreGroups")):
            self.emit(inst, "Message", data)
        return JSONResponse({"id": message_id})

    async def control_messages(self, _: Request) -> Response:
        return JSONResponse(self.messages)

    async def control_instances(self, _: Request) -> Response:
        return JSONResponse([i.describe() for i in self.instances.values()])


# -- message shapes -------------------------------------------------------------------------


def _sniff(url: str, media_type: str) -> str:
    """The MIME type the server would detect (here: from the file extension) and its rules."""
    path = urlparse(url).path.lower()
    mimetype = ("video/mp4" if path.endswith(".mp4")
                else mimetypes.guess_type(path)[0] or DEFAULT_MIME[media_type])
    if media_type == "image" and mimetype not in ("image/jpeg", "image/png", "image/webp"):
        raise GoError(500, f"Invalid file format: '{mimetype}'. Only 'image/jpeg', "
                           "'image/png' and 'image/webp' are accepted")
    if media_type in ("video", "ptv") and mimetype != "video/mp4":
        raise GoError(500, f"Invalid file format: '{mimetype}'. Only 'video/mp4' are accepted")
    return "image/jpeg" if mimetype == "image/webp" else mimetype


def _vcard(card: dict[str, Any]) -> dict[str, Any]:
    name, phone = str(card["fullName"]), "".join(c for c in str(card["phone"]) if c.isdigit())
    vcard = (f"BEGIN:VCARD\nVERSION:3.0\nN:;{name};;;\nFN:{name}\n"
             f"ORG:{card.get('organization') or ''};\n"
             f"TEL;type=CELL;type=VOICE;waid={phone}:+{phone}\nEND:VCARD")
    return {"displayName": name, "vcard": vcard, "contextInfo": {}}


def _buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    buttons = [b for b in body.get("buttons") or [] if isinstance(b, dict)]
    kinds = [str(b.get("type")) for b in buttons]
    replies = kinds.count("reply")
    if replies > 3:
        raise GoError(500, "máximo de 3 botões do tipo 'reply' permitidos")
    if replies and any(k not in ("reply", "pix") for k in kinds):
        raise GoError(500, "botões do tipo 'reply' não podem ser misturados com outros tipos")
    if "pix" in kinds and len(buttons) > 1:
        raise GoError(500, "botão do tipo 'pix' não pode ser combinado com outros botões")
    out: list[dict[str, Any]] = []
    for button, kind in zip(buttons, kinds, strict=True):
        flow = BUTTON_FLOWS.get(kind)
        if flow is None:  # pix and unknown types: not simulated
            out.append({"name": None, "buttonParamsJSON": None})
            continue
        name, params = flow
        fields = {param: str(button.get(source) or "") for param, source in params}
        out.append({"name": name, "buttonParamsJSON": json.dumps(fields, ensure_ascii=False)})
    return out


def _list_button(body: dict[str, Any]) -> list[dict[str, Any]]:
    sections = [{"title": str(s.get("title") or ""),
                 "rows": [{"title": str(r.get("title") or ""),
                           "description": str(r.get("description") or ""),
                           "id": str(r.get("rowId") or "")} for r in s.get("rows") or []]}
                for s in body.get("sections") or [] if isinstance(s, dict)]
    spec = {"title": body["buttonText"], "sections": sections}
    return [{"name": "single_select", "buttonParamsJSON": json.dumps(spec, ensure_ascii=False)}]


def _native_flow(body: dict[str, Any], buttons: list[dict[str, Any]],
                 footer: str) -> dict[str, Any]:
    text = f"*{body['title']}*\n\n{body['description']}\n"
    params = json.dumps({"from": "api", "templateId": int(time.time() * 1000)})
    return {"viewOnceMessage": {"message": {"interactiveMessage": {
        "body": {"text": text}, "footer": {"text": footer},
        "nativeFlowMessage": {"buttons": buttons, "messageParamsJSON": params}}}}}


def _disconnect_event(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    event, reason = str(body.get("event") or ""), body.get("reason")
    if event == "LoggedOut":
        return event, {"OnConnect": False, "Reason": int(body.get("code") or 401),
                       "reason": reason or "logged out from another device"}
    if event == "Disconnected":
        return event, {}
    if event == "TemporaryBan":
        expire = 3_600_000_000_000
        return event, {"Code": int(body.get("code") or 101), "Expire": expire, "expire": expire,
                       "reason": reason or "you sent too many messages to people who don't "
                                           "have you in their address books"}
    if event == "ConnectFailure":
        code = int(body.get("code") or 403)
        return event, {"Reason": code, "Message": reason or "connect failure",
                       "Raw": {"Tag": "failure", "Attrs": {"reason": str(code)}}}
    raise GoError(400, "event must be LoggedOut, Disconnected, TemporaryBan or ConnectFailure")


def _inbound(inst: Instance, spec: dict[str, Any], message_id: str, *,
             files: bool) -> dict[str, Any]:
    """A whatsmeow ``events.Message`` as Evolution GO forwards it (LID already swapped)."""
    phone = "".join(c for c in _user(str(spec.get("from") or "")) if c.isdigit())
    sender, lid = f"{phone}@s.whatsapp.net", f"{_lid_for(phone)}@lid"
    group = spec.get("group")
    chat = str(group) if group else sender
    kind = str(spec.get("type") or "text")
    message, info_type, media_type = _inbound_message(inst, spec, kind, chat, files=files)
    info = _send_info(chat, sender, message_id, info_type)
    info.update(IsFromMe=False, AddressingMode="lid" if spec.get("lid") else "pn",
                SenderAlt=lid, PushName=str(spec.get("name") or ""), MediaType=media_type,
                Timestamp=go_time(whole_seconds=True))
    data: dict[str, Any] = {
        "Info": info, "Message": message, "IsEphemeral": False, "IsViewOnce": False,
        "IsViewOnceV2": False, "IsViewOnceV2Extension": False,
        "IsDocumentWithCaption": False, "IsLottieSticker": False, "IsBotInvoke": False,
        "IsEdit": False, "SourceWebMsg": None, "UnavailableRequestID": "", "RetryCount": 0,
        "NewsletterMeta": None}
    if spec.get("replyTo") and kind in ("text", "image", "audio", "document", "video"):
        data["quoted"] = {"stanzaID": str(spec["replyTo"]),
                          "quotedMessage": {"conversation": ""}}
        data["isQuoted"] = True
    if group:
        data["groupData"] = _group_info(chat, sender, lid, spec)
    return data


def _inbound_message(inst: Instance, spec: dict[str, Any], kind: str, chat: str, *,
                     files: bool) -> tuple[dict[str, Any], str, str]:
    """(Message, Info.Type, Info.MediaType)."""
    text = str(spec.get("text") or "")
    context = ({"stanzaID": str(spec["replyTo"]), "participant": _bare(inst.jid),
                "quotedMessage": {"conversation": ""}} if spec.get("replyTo") else None)
    if kind == "text":
        if context is None:
            return {"conversation": text}, "text", ""
        return {"extendedTextMessage": {"text": text, "contextInfo": context}}, "text", ""
    if kind in ("image", "video", "audio", "document"):
        return _inbound_media(spec, kind, context, files=files), "media", (
            "ptt" if kind == "audio" else kind)
    context = context or {"stanzaID": new_hex_id("3EB0"), "participant": _bare(inst.jid),
                          "quotedMessage": {"conversation": ""}}
    if kind == "buttonReply":
        return {"buttonsResponseMessage": {
            "selectedButtonID": str(spec.get("buttonId") or ""),
            "Response": {"SelectedDisplayText": text or str(spec.get("buttonId") or "")},
            "contextInfo": context, "type": 1}}, "text", ""
    if kind == "listReply":
        return {"listResponseMessage": {
            "title": text or str(spec.get("rowId") or ""), "listType": 1,
            "singleSelectReply": {"selectedRowID": str(spec.get("rowId") or "")},
            "contextInfo": context}}, "text", ""
    if kind == "reaction":
        return {"reactionMessage": {
            "key": {"remoteJID": chat, "fromMe": True, "ID": str(spec.get("reactTo") or "")},
            "text": str(spec.get("emoji") or ""),
            "senderTimestampMS": int(time.time() * 1000)}}, "reaction", ""
    raise GoError(400, f"unknown inbound type {kind!r}")


def _inbound_media(spec: dict[str, Any], kind: str, context: dict[str, Any] | None, *,
                   files: bool) -> dict[str, Any]:
    given = spec.get("media")
    media: dict[str, Any] = given if isinstance(given, dict) else {}
    default = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg; codecs=opus",
               "document": "application/pdf"}[kind]
    mimetype = str(media.get("mimetype") or default)
    part = _upload(mimetype, 48_213)
    caption = media.get("caption") or spec.get("text")
    if caption and kind != "audio":
        part["caption"] = str(caption)
    if kind == "audio":
        part.update(PTT=True, seconds=7)
    if kind == "document":
        name = str(media.get("fileName") or "document.pdf")
        part.update(fileName=name, title=name, pageCount=1)
    if kind in ("image", "video"):
        part.update(height=1280, width=960)
    if context is not None:
        part["contextInfo"] = context
    message: dict[str, Any] = {f"{kind}Message": part}
    if media.get("url"):  # MinIO/S3 enabled: a link instead of the bytes
        message.update(mediaUrl=str(media["url"]), mimetype=mimetype)
    elif files:
        message["base64"] = base64.b64encode(b"simulated inbound media").decode()
    return message


def _group_info(chat: str, sender: str, lid: str, spec: dict[str, Any]) -> dict[str, Any]:
    created = go_time(time.time() - 86_400, whole_seconds=True)
    return {"JID": chat, "OwnerJID": "", "OwnerPN": "",
            "Name": str(spec.get("groupName") or "Grupo Simulado"), "NameSetAt": created,
            "NameSetBy": "", "Topic": "", "IsLocked": False, "IsAnnounce": False,
            "IsEphemeral": False, "GroupCreated": created, "ParticipantVersionID": "",
            "Participants": [{"JID": sender, "PhoneNumber": sender, "LID": lid,
                              "IsAdmin": False, "IsSuperAdmin": False, "DisplayName": "",
                              "Error": 0, "AddRequest": None}]}


def _bare(jid: str) -> str:
    user, _, server = jid.partition("@")
    return f"{user.split(':')[0]}@{server}" if server else jid


async def _json_or_empty(request: Request) -> dict[str, Any]:
    raw = await request.body()
    parsed = json.loads(raw) if raw else {}
    return parsed if isinstance(parsed, dict) else {}


# -- app ------------------------------------------------------------------------------------


def create_app(*, api_key: str = "sim-evolution-go-key", global_webhook_url: str | None = None,
               license_required: bool = False,
               config: dict[str, Any] | None = None) -> Starlette:
    sim = EvolutionGoSim(api_key=api_key, global_webhook_url=global_webhook_url,
                         license_required=license_required, config=config)

    async def server_ok(_: Request, __: dict[str, Any], ___: Instance | None) -> Response:
        return JSONResponse({"status": "ok"})

    admin: list[tuple[str, ApiHandler, list[str]]] = [
        ("/instance/create", sim.create, ["POST"]), ("/instance/all", sim.list_all, ["GET"]),
        ("/instance/info/{instance_id}", sim.info, ["GET"]),
        ("/instance/delete/{instance_id}", sim.delete, ["DELETE"]),
    ]
    instance: list[tuple[str, ApiHandler, list[str]]] = [
        ("/instance/connect", sim.connect, ["POST"]), ("/instance/qr", sim.qr, ["GET"]),
        ("/instance/pair", sim.pair, ["POST"]), ("/instance/status", sim.status, ["GET"]),
        ("/instance/disconnect", sim.disconnect, ["POST"]),
        ("/instance/reconnect", sim.reconnect, ["POST"]),
        ("/instance/logout", sim.logout, ["DELETE"]),
        ("/instance/{instance_id}/advanced-settings", sim.advanced, ["GET", "PUT"]),
        *[(f"/send/{kind}", sim.send, ["POST"])
          for kind in ("text", "media", "button", "list", "location", "contact", "sticker")],
        ("/message/presence", sim.presence, ["POST"]),
        ("/message/markread", sim.presence, ["POST"]),
        ("/message/react", sim.react, ["POST"]),
    ]
    routes = [Route("/server/ok", sim.api(server_ok, None), methods=["GET"])]
    routes += [Route(path, sim.api(handler, "admin"), methods=methods)
               for path, handler, methods in admin]
    routes += [Route(path, sim.api(handler, "instance"), methods=methods)
               for path, handler, methods in instance]
    routes += [
        *control_routes(sim.state, on_reset=sim.reset),
        Route("/_sim/license", sim.control_license, methods=["POST"]),
        Route("/_sim/instances", sim.control_instances, methods=["GET"]),
        Route("/_sim/instances/{name}/pair", sim.control_pair, methods=["POST"]),
        Route("/_sim/instances/{name}/disconnect", sim.control_disconnect, methods=["POST"]),
        Route("/_sim/inbound", sim.control_inbound, methods=["POST"]),
        Route("/_sim/messages", sim.control_messages, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await sim.sender.start()
        try:
            yield
        finally:
            sim.stop_clients()
            await sim.sender.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sim = sim
    return app
