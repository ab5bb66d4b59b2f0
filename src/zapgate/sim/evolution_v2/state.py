"""The Evolution API v2 simulator's state: instances, their webhooks, the messages sent, and the
shared plumbing of every API call (request log, faults, the ``apikey`` check) and of every
webhook (event envelope, instance and global targets)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zapgate.sim.common import (
    DEFAULT_CONFIG,
    CallbackSender,
    Fault,
    SimState,
    apply_fault,
    new_pairing_code,
    png_data_uri,
)

EXTRA_DEFAULTS: dict[str, Any] = {
    "errorRecipients": [],
    "qrcodeLimit": 30,
    "exposeInstanceToken": True,
    "globalWebhookByEvents": False,
    # What ``/group/fetchAllGroups`` lists (every instance belongs to the same groups).
    "groups": [
        {"id": "120363025246125486@g.us", "subject": "Equipe Vendas", "size": 42},
        {"id": "120363041234567890@g.us", "subject": "Clientes VIP", "size": 7},
    ],
}
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
}
EVENTS = {
    "APPLICATION_STARTUP": "application.startup",
    "QRCODE_UPDATED": "qrcode.updated",
    "MESSAGES_SET": "messages.set",
    "MESSAGES_UPSERT": "messages.upsert",
    "MESSAGES_EDITED": "messages.edited",
    "MESSAGES_UPDATE": "messages.update",
    "MESSAGES_DELETE": "messages.delete",
    "SEND_MESSAGE": "send.message",
    "SEND_MESSAGE_UPDATE": "send.message.update",
    "CONTACTS_SET": "contacts.set",
    "CONTACTS_UPSERT": "contacts.upsert",
    "CONTACTS_UPDATE": "contacts.update",
    "PRESENCE_UPDATE": "presence.update",
    "CHATS_SET": "chats.set",
    "CHATS_UPSERT": "chats.upsert",
    "CHATS_UPDATE": "chats.update",
    "CHATS_DELETE": "chats.delete",
    "GROUPS_UPSERT": "groups.upsert",
    "GROUP_UPDATE": "group.update",
    "GROUP_PARTICIPANTS_UPDATE": "group-participants.update",
    "CONNECTION_UPDATE": "connection.update",
    "LABELS_EDIT": "labels.edit",
    "LABELS_ASSOCIATION": "labels.association",
    "CALL": "call",
    "TYPEBOT_START": "typebot.start",
    "TYPEBOT_CHANGE_STATUS": "typebot.change-status",
    "REMOVE_INSTANCE": "remove.instance",
    "LOGOUT_INSTANCE": "logout.instance",
    "INSTANCE_CREATE": "instance.create",
    "INSTANCE_DELETE": "instance.delete",
    "STATUS_INSTANCE": "status.instance",
}
INTEGRATIONS = ("WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION")
PRESENCES = ("unavailable", "available", "composing", "recording", "paused")


def iso(at: datetime) -> str:
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
    created_at: str = field(default_factory=lambda: iso(datetime.now(UTC)))
    updated_at: str = ""

    def wants(self, event: str) -> bool:
        return self.enabled and bool(self.url) and (not self.events or event in self.events)

    def row(self, instance_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "headers": self.headers,
            "enabled": self.enabled,
            "events": self.events,
            "webhookByEvents": self.by_events,
            "webhookBase64": self.base64,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at or self.created_at,
            "instanceId": instance_id,
        }


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
        return {
            "pairingCode": self.pairing_code,
            "code": self.qr_code,
            "base64": self.qr_base64,
            "count": self.qr_count,
        }

    def state_body(self) -> dict[str, Any]:
        return {"instance": {"instanceName": self.name, "state": self.state}}

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "instanceId": self.instance_id,
            "token": self.token,
            "integration": self.integration,
            "state": self.state,
            "wuid": self.wuid,
            "profileName": self.profile_name,
            "qrcode": self.qrcode(),
            "webhook": self.webhook.row(self.instance_id) if self.webhook else None,
        }


def envelope(status: int, message: Any) -> dict[str, Any]:
    return {"status": status, "error": REASONS.get(status, "Error"), "response": {"message": message}}


def error(status: int, message: Any) -> JSONResponse:
    return JSONResponse(envelope(status, message), status_code=status)


def connection_closed() -> JSONResponse:
    return error(500, "Connection Closed")


def jid_for(number: str) -> str:
    """Evolution's ``createJid``: JIDs pass through; digits become a user or group JID."""
    if "@" in number:
        return number.lower()
    cleaned = re.sub(r"[\s+()]", "", number)
    if "-" in cleaned or len(cleaned) >= 18:
        return cleaned + "@g.us"
    return cleaned + "@s.whatsapp.net"


def whatsapp_jid(digits: str) -> str:
    """WhatsApp's own address for a phone number: a Brazilian mobile keeps its 9th digit in area
    codes 11-30 (added when left out) and drops it from 31 up (when a 7-9 follows)."""
    if digits.startswith("55") and digits[2:4].isdigit():
        area, rest = int(digits[2:4]), digits[4:]
        if len(rest) == 9 and area >= 31 and rest[0] == "9" and rest[1] in "789":
            digits = digits[:4] + rest[1:]
        elif len(rest) == 8 and area < 31 and rest[0] in "6789":
            digits = digits[:4] + "9" + rest
    return digits + "@s.whatsapp.net"


def jwt_hs256(key: str, now: int) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook"}
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _fault_envelope(fault: Fault, status: int) -> dict[str, Any]:
    return envelope(status, [str(fault.code or "Simulated error")])


# -- the simulator -------------------------------------------------------------------------


class EvolutionSim:
    def __init__(
        self, *, api_key: str, global_webhook_url: str | None, server_url: str, config: dict[str, Any] | None
    ) -> None:
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
        self.media: dict[str, dict[str, Any]] = {}  # key id -> an injected inbound media message
        self.generation = 0

    def reset(self) -> None:
        self.instances.clear()
        self.messages.clear()
        self.media.clear()
        self.generation += 1  # receipts scheduled before the reset are dropped

    # -- webhooks --------------------------------------------------------------------------

    def emit(
        self, inst: Instance, event: str, data: Any, *, delay: float = 0.0, webhook: Webhook | None = None
    ) -> None:
        """Post ``event`` to the instance webhook (if subscribed) and the global URL, now or
        ``delay`` seconds from now."""
        if delay > 0:
            asyncio.get_running_loop().call_later(
                delay, self._emit_later, self.generation, inst, event, data, webhook
            )
            return
        targets: list[tuple[str, bool, dict[str, str]]] = []
        hook = webhook or inst.webhook
        if hook is not None and hook.wants(event):
            targets.append((hook.url, hook.by_events, self._hook_headers(hook)))
        if self.global_url:
            targets.append((self.global_url, bool(self.state.config["globalWebhookByEvents"]), {}))
        for base, by_events, headers in targets:
            url = base.rstrip("/") + "/" + EVENTS[event].replace(".", "-") if by_events else base
            self.sender.post(url, self._envelope(inst, event, data, url), headers=headers)

    def _emit_later(
        self, generation: int, inst: Instance, event: str, data: Any, webhook: Webhook | None
    ) -> None:
        if generation == self.generation:
            self.emit(inst, event, data, webhook=webhook)

    def _envelope(self, inst: Instance, event: str, data: Any, url: str) -> dict[str, Any]:
        # Evolution formats its local wall clock and appends "Z" (a time-zone quirk).
        out: dict[str, Any] = {
            "event": EVENTS[event],
            "instance": inst.name,
            "data": data,
            "destination": url,
            "date_time": iso(datetime.now()),
        }
        if inst.wuid:
            out["sender"] = inst.wuid
        out["server_url"] = self.server_url
        out["apikey"] = inst.token if self.state.config["exposeInstanceToken"] else None
        return out

    @staticmethod
    def _hook_headers(hook: Webhook) -> dict[str, str]:
        headers = {str(k): str(v) for k, v in hook.headers.items() if k != "jwt_key"}
        if hook.headers.get("jwt_key"):
            headers["Authorization"] = "Bearer " + jwt_hs256(str(hook.headers["jwt_key"]), int(time.time()))
        return headers

    # -- request plumbing ------------------------------------------------------------------

    async def enter(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        """Log the request, parse its body, apply a queued fault."""
        parsed = await self.state.log_request(request)
        body = parsed if isinstance(parsed, dict) else {}
        key: dict[str, Any] = body["key"] if isinstance(body.get("key"), dict) else {}
        to = body.get("number") or key.get("remoteJid")
        fault = self.state.take_fault(request.url.path, str(to) if to else None)
        return body, await apply_fault(fault, status=400, body=_fault_envelope)

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

    # -- connection ------------------------------------------------------------------------

    def start_connecting(self, inst: Instance, number: Any = None) -> None:
        if inst.state in ("close", "refused"):
            inst.qr_count = 0
        inst.state = "connecting"
        self.emit(
            inst, "CONNECTION_UPDATE", {"instance": inst.name, "state": "connecting", "statusReason": 200}
        )
        self.new_qr(inst, number)

    def new_qr(self, inst: Instance, number: Any = None) -> None:
        inst.qr_count += 1
        inst.qr_code = "2@" + ",".join(
            base64.b64encode(secrets.token_bytes(n)).decode() for n in (48, 32, 32, 32)
        )
        inst.qr_base64 = png_data_uri(inst.qr_code)
        if isinstance(number, str) and number:
            inst.pairing_code = new_pairing_code()
        self.emit(
            inst,
            "QRCODE_UPDATED",
            {
                "qrcode": {
                    "instance": inst.name,
                    "pairingCode": inst.pairing_code,
                    "code": inst.qr_code,
                    "base64": inst.qr_base64,
                }
            },
        )

    def close(self, inst: Instance, reason: int) -> None:
        inst.state = "close"
        inst.qr_code = inst.qr_base64 = inst.pairing_code = None
        self.emit(
            inst,
            "STATUS_INSTANCE",
            {
                "instance": inst.name,
                "status": "closed",
                "disconnectionAt": iso(datetime.now(UTC)),
                "disconnectionReasonCode": reason,
                "disconnectionObject": json.dumps({"error": {"output": {"statusCode": reason}}}),
            },
        )
        self.emit(
            inst, "CONNECTION_UPDATE", {"instance": inst.name, "state": "close", "statusReason": reason}
        )
        if reason == 401:
            self.emit(inst, "LOGOUT_INSTANCE", None)
            inst.wuid = inst.profile_name = None
