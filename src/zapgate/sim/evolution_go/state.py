"""The Evolution GO simulator's state: instances and their simulated whatsmeow clients (QR
codes, pairing, reconnects), the plumbing every API call goes through (request log, faults, the
license gate, the ``apikey`` check) and the webhooks it posts; plus the Go-flavoured values
(times, JIDs, ``{"data", "message"}`` answers) the other modules use."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zapgate.sim.common import (
    CallbackSender,
    Fault,
    Handler,
    SimState,
    apply_fault,
    png_data_uri,
)

EXTRA_DEFAULTS: dict[str, Any] = {
    "qrDelayMs": 20,  # client start -> first QR code
    "qrIntervalMs": 20_000,  # between QR codes (whatsmeow: 60 s, then 20 s)
    "qrMaxCount": 5,  # QRCODE_MAX_COUNT: at this count the client gives up (0 = never)
    "ownNumber": "5511900001111",  # the paired phone, when the pair call gave none
    "pushName": "Zapgate Sim",
    "webhookFiles": True,  # WEBHOOK_FILES: Message.base64 on media webhooks
    # What /group/list and /newsletter/list answer (every instance sees the same).
    "groups": [
        {"id": "120363025246125486@g.us", "subject": "Equipe Vendas", "size": 3, "desc": "Metas"},
        {"id": "120363041234567890@g.us", "subject": "Clientes VIP", "size": 2},
    ],
    "newsletters": [{"id": "120363144038483540@newsletter", "name": "Canal de Ofertas", "subscribers": 1523}],
}
CATEGORIES = {
    "Message": "MESSAGE",
    "SendMessage": "SEND_MESSAGE",
    "Receipt": "READ_RECEIPT",
    "Connected": "CONNECTION",
    "PairSuccess": "CONNECTION",
    "TemporaryBan": "CONNECTION",
    "LoggedOut": "CONNECTION",
    "ConnectFailure": "CONNECTION",
    "Disconnected": "CONNECTION",
    "QRCode": "QRCODE",
    "QRTimeout": "QRCODE",
}
KNOWN_CATEGORIES = (
    "MESSAGE",
    "SEND_MESSAGE",
    "READ_RECEIPT",
    "PRESENCE",
    "CHAT_PRESENCE",
    "HISTORY_SYNC",
    "CALL",
    "CONNECTION",
    "LABEL",
    "CONTACT",
    "GROUP",
    "NEWSLETTER",
    "QRCODE",
)
JID_SERVERS = ("@g.us", "@s.whatsapp.net", "@lid", "@broadcast", "@newsletter")
ADVANCED_DEFAULTS = {
    "alwaysOnline": False,
    "rejectCall": False,
    "msgRejectCall": "",
    "readMessages": False,
    "ignoreGroups": False,
    "ignoreStatus": False,
}
ZERO_TIME = "0001-01-01 00:00:00 +0000 UTC"  # Go's time.Time{}.String(): presence/markread
SERVER_TZ = timezone(timedelta(hours=-3))


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
    return JSONResponse({"data": data, "message": "success"} if with_data else {"message": "success"})


def b64(size: int = 32) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


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


def jid_user(jid: str) -> str:
    return jid.partition("@")[0].split(":")[0]


def lid_for(phone: str) -> str:
    return str(int(hashlib.sha256(phone.encode()).hexdigest()[:12], 16) % 10**15).zfill(15)


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
        return {
            "id": self.id,
            "name": self.name,
            "token": self.token,
            "webhook": self.webhook,
            "rabbitmqEnable": "",
            "websocketEnable": "",
            "natsEnable": "",
            "jid": self.jid,
            "qrcode": "|".join(self.qr) if self.qr else "",
            "connected": self.connected,
            "expiration": 0,
            "disconnect_reason": self.disconnect_reason,
            "events": ",".join(self.events),
            "os_name": "Evolution GO",
            "proxy": "null",
            "client_name": "evolution",
            "createdAt": self.created_at,
            **self.advanced,
        }

    def describe(self) -> dict[str, Any]:
        return {
            **self.row(),
            "client": self.client,
            "loggedIn": self.logged_in,
            "subscribe": self.subs,
            "pushName": self.push_name,
            "pairingPhone": self.pairing_phone,
            "qrCount": self.qr_count,
        }


ApiHandler = Callable[[Request, dict[str, Any], Instance | None], Awaitable[Response]]


def _fault_body(fault: Fault, _status: int) -> dict[str, Any]:
    return {"error": str(fault.code or "simulated failure")}


class EvolutionGoSim:
    def __init__(
        self,
        *,
        api_key: str,
        global_webhook_url: str | None,
        license_required: bool,
        config: dict[str, Any] | None,
    ) -> None:
        self.api_key = api_key
        self.global_webhook_url = global_webhook_url
        self.license_default = license_required
        self.license_required = license_required
        self.state = SimState(extra_defaults={**EXTRA_DEFAULTS, **(config or {})})
        self.sender = CallbackSender(self.state)
        self.instances: dict[str, Instance] = {}
        self.messages: list[dict[str, Any]] = []
        # The simulated MinIO bucket: object id -> (bytes, content type).
        self.bucket: dict[str, tuple[bytes, str]] = {}

    def reset(self) -> None:
        self.stop_clients()
        self.instances.clear()
        self.messages.clear()
        self.bucket.clear()
        self.license_required = self.license_default

    def stop_clients(self) -> None:
        for inst in self.instances.values():
            self.stop_client(inst)

    # -- plumbing ---------------------------------------------------------------------------

    def api(self, handler: ApiHandler, auth: str | None) -> Handler:
        async def endpoint(request: Request) -> Response:
            body = await self.state.log_request(request)
            number = body.get("number") if isinstance(body, dict) else None
            to = jid_user(to_jid(number) or "") if isinstance(number, str) else None
            fault = self.state.take_fault(request.url.path, to)
            early = await apply_fault(fault, status=500, body=_fault_body)
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
    def _license_gate(request: Request) -> Response:
        host = request.headers.get("host", "127.0.0.1")
        return JSONResponse(
            {
                "error": "service not activated",
                "code": "LICENSE_REQUIRED",
                "register_url": f"http://{host}/manager/login",
                "message": "License required. Open the manager to activate your license.",
            },
            status_code=503,
        )

    def emit(
        self,
        inst: Instance,
        event: str,
        data: dict[str, Any],
        *,
        state: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Post one webhook to the instance URL and the global URL, if subscribed."""
        subs = {s.upper() for s in inst.subs}
        if "ALL" not in subs and CATEGORIES.get(event) not in subs:
            return
        envelope: dict[str, Any] = {
            "data": data,
            "event": event,
            "instanceId": inst.id,
            "instanceName": inst.name,
            "instanceToken": inst.token,
        }
        if state is not None:
            envelope["state"] = state
        raw = json.dumps(envelope, sort_keys=True, ensure_ascii=False).encode()
        for url in (inst.webhook, self.global_webhook_url):
            if url and url != "disabled":
                self.sender.post(url, envelope, delay=delay, body=raw)

    def by_name(self, name: str) -> Instance:
        inst = self.instances.get(name)
        if inst is None:
            raise GoError(404, f"instance {name!r} not found")
        return inst

    def by_id(self, instance_id: str) -> Instance:
        found = next((i for i in self.instances.values() if i.id == instance_id), None)
        if found is None:
            raise GoError(500, "record not found")
        return found

    # -- the simulated whatsmeow client -----------------------------------------------------

    def start_client(self, inst: Instance) -> None:
        inst.client = inst.connected = True
        if inst.logged_in:
            self.emit_connected(inst)
            return
        inst.qr, inst.qr_count = None, 0
        inst.qr_task = asyncio.create_task(self._qr_loop(inst))

    def stop_client(self, inst: Instance) -> None:
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
            code = f"2@{b64(24)},{b64()},{b64()},{b64()}"
            inst.qr = (png_data_uri(code), code)
            self.emit(
                inst,
                "QRCode",
                {"qrcode": inst.qr[0], "code": code, "count": inst.qr_count, "maxCount": maximum},
            )
            await asyncio.sleep(float(config["qrIntervalMs"]) / 1000)

    def _qr_limit(self, inst: Instance, maximum: int) -> None:
        inst.qr_task = None
        self.stop_client(inst)
        inst.disconnect_reason = f"QR code limit reached ({maximum})"
        self.emit(
            inst,
            "QRTimeout",
            {
                "reason": f"Maximum QR code count ({maximum}) reached",
                "qrcount": inst.qr_count,
                "maxCount": maximum,
                "forceLogout": True,
            },
        )

    def reconnect_client(self, inst: Instance) -> None:
        if inst.client and not inst.connected:
            inst.connected = True
            if inst.logged_in:
                self.emit_connected(inst)

    def emit_connected(self, inst: Instance) -> None:
        self.emit(
            inst, "Connected", {"status": "open", "jid": inst.jid, "pushName": inst.push_name}, delay=0.01
        )

    def require_session(self, inst: Instance) -> None:
        if not inst.client:
            raise GoError(500, "no active session found")
        if not inst.connected:
            raise GoError(500, "client disconnected")
        if not inst.logged_in:
            raise GoError(500, "no active session found")
