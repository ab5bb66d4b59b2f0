"""The Evolution API v2 routes of the simulator: instances, webhooks, sends and chat calls
(the routes are listed in ``zapgate.sim.evolution_v2.app``)."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.common import new_hex_id, new_pairing_code, status_sequence
from zapgate.sim.evolution_v2.shapes import sent_content
from zapgate.sim.evolution_v2.state import (
    EVENTS,
    INTEGRATIONS,
    PRESENCES,
    EvolutionSim,
    Instance,
    Webhook,
    connection_closed,
    error,
    iso,
    jid_for,
)
from zapgate.sim.evolution_v2.validate import (
    ARR,
    BOOL,
    INT,
    OBJ,
    SCHEMAS,
    STR,
    check_fields,
    is_base64,
    not_empty,
    send_problems,
)


class Api:
    def __init__(self, sim: EvolutionSim) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            Route("/instance/create", self.create, methods=["POST"]),
            Route("/instance/connect/{instance}", self.connect, methods=["GET"]),
            Route("/instance/connectionState/{instance}", self.connection_state, methods=["GET"]),
            Route("/instance/logout/{instance}", self.logout, methods=["DELETE"]),
            Route("/instance/delete/{instance}", self.delete, methods=["DELETE"]),
            Route("/webhook/set/{instance}", self.webhook_set, methods=["POST"]),
            Route("/webhook/find/{instance}", self.webhook_find, methods=["GET"]),
            Route("/message/{op}/{instance}", self.send, methods=["POST"]),
            Route("/chat/markMessageAsRead/{instance}", self.mark_read, methods=["POST"]),
            Route("/chat/sendPresence/{instance}", self.presence, methods=["POST"]),
        ]

    # -- instances -------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        body, fault = await self.sim.enter(request)
        if fault is not None:
            return fault
        name = body.get("instanceName")
        if isinstance(name, str) and name in self.sim.instances:
            return error(403, [f'This name "{name}" is already in use.'])
        if request.headers.get("apikey") != self.sim.api_key:
            return error(401, "Unauthorized")
        problems = check_fields(
            body,
            {
                "instanceName": STR,
                "token": STR,
                "number": STR,
                "qrcode": BOOL,
                "integration": STR,
                "webhook": OBJ,
            },
            ("instanceName",),
        ) + not_empty(body, "instanceName")
        if problems:
            return error(400, problems)
        if body.get("integration") not in INTEGRATIONS:
            return error(400, ["Invalid integration"])
        inst = self._new_instance(body)
        self.sim.instances[inst.name] = inst
        self.sim.emit(inst, "INSTANCE_CREATE", {"instanceName": inst.name, "instanceId": inst.instance_id})
        if body.get("qrcode") is True and inst.integration == "WHATSAPP-BAILEYS":
            self.sim.start_connecting(inst, body.get("number"))
        return JSONResponse(self._created(inst, body), status_code=201)

    def _new_instance(self, body: dict[str, Any]) -> Instance:
        settings = {
            k: body.get(k, default)
            for k, default in (
                ("rejectCall", False),
                ("msgCall", ""),
                ("groupsIgnore", False),
                ("alwaysOnline", False),
                ("readMessages", False),
                ("readStatus", False),
                ("syncFullHistory", False),
                ("wavoipToken", ""),
            )
        }
        inst = Instance(
            name=body["instanceName"],
            integration=body["integration"],
            token=body.get("token") or str(uuid.uuid4()).upper(),
            settings=settings,
            number=body.get("number"),
        )
        hook = body.get("webhook")
        if isinstance(hook, dict) and hook.get("url"):
            inst.webhook = self._webhook_from(hook)
        return inst

    @staticmethod
    def _webhook_from(hook: dict[str, Any], old: Webhook | None = None) -> Webhook:
        enabled = hook.get("enabled", True) is not False
        made = Webhook(
            url=str(hook["url"]),
            enabled=enabled,
            events=[str(e) for e in hook.get("events") or []] if enabled else [],
            headers=dict(hook.get("headers") or {}),
            by_events=bool(hook.get("byEvents")),
            base64=bool(hook.get("base64")),
        )
        if old is not None:
            made.id, made.created_at = old.id, old.created_at
            made.updated_at = iso(datetime.now(UTC))
        return made

    def _created(self, inst: Instance, body: dict[str, Any]) -> dict[str, Any]:
        hook = inst.webhook
        out: dict[str, Any] = {
            "instance": {
                "instanceName": inst.name,
                "instanceId": inst.instance_id,
                "integration": inst.integration,
                "webhookWaBusiness": None,
                "accessTokenWaBusiness": "",
                "status": inst.state,
            },
            "hash": inst.token,
            "webhook": {
                "webhookUrl": hook.url,
                "webhookHeaders": hook.headers,
                "webhookByEvents": hook.by_events,
                "webhookBase64": hook.base64,
            }
            if hook
            else {},
            "websocket": {},
            "rabbitmq": {},
            "nats": {},
            "sqs": {},
            "settings": inst.settings,
        }
        if body.get("qrcode") is True and inst.integration == "WHATSAPP-BAILEYS":
            out["qrcode"] = inst.qrcode()
        return out

    async def connect(self, request: Request) -> Response:
        _, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state == "open":
            return JSONResponse(inst.state_body())
        number = request.query_params.get("number")
        if inst.state == "connecting":
            if number and not inst.pairing_code:
                inst.pairing_code = new_pairing_code()
        else:
            inst.pairing_code = None
            self.sim.start_connecting(inst, number)
        return JSONResponse(inst.qrcode())

    async def connection_state(self, request: Request) -> Response:
        _, inst = await self.sim.open_call(request)
        return JSONResponse(inst.state_body()) if isinstance(inst, Instance) else inst

    async def logout(self, request: Request) -> Response:
        _, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state == "close":
            return error(400, [f'The "{inst.name}" instance is not connected'])
        self.sim.close(inst, 401)
        return JSONResponse(
            {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}
        )

    async def delete(self, request: Request) -> Response:
        _, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state != "close":
            self.sim.close(inst, 401)
        self.sim.emit(inst, "INSTANCE_DELETE", {"instanceName": inst.name, "instanceId": inst.instance_id})
        self.sim.emit(inst, "REMOVE_INSTANCE", None)
        del self.sim.instances[inst.name]
        return JSONResponse(
            {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}
        )

    async def webhook_set(self, request: Request) -> Response:
        body, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"webhook": OBJ}, ("webhook",))
        hook = body.get("webhook")
        if isinstance(hook, dict):
            problems += check_fields(
                hook,
                {
                    "enabled": BOOL,
                    "url": STR,
                    "headers": OBJ,
                    "byEvents": BOOL,
                    "base64": BOOL,
                    "events": ARR,
                },
                ("enabled", "url"),
                "webhook.",
            ) + not_empty(hook, "url")
            problems += [
                f"webhook.events[{i}] is not one of enum values: {','.join(EVENTS)}"
                for i, e in enumerate(hook.get("events") or [])
                if e not in EVENTS
            ]
        if problems or not isinstance(hook, dict):
            return error(400, problems)
        inst.webhook = self._webhook_from(hook, inst.webhook)
        return JSONResponse(inst.webhook.row(inst.instance_id), status_code=201)

    async def webhook_find(self, request: Request) -> Response:
        _, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        return JSONResponse(inst.webhook.row(inst.instance_id) if inst.webhook else None)

    # -- sending ---------------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        op = request.path_params["op"]
        if op not in SCHEMAS:
            await self.sim.state.log_request(request)
            return error(404, [f"Cannot POST {request.url.path}"])
        body, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = send_problems(op, body)
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
            if not user.isdigit() or self.sim.state.is_unknown(user):
                return error(400, [{"jid": jid, "exists": False, "number": number}])
        return None

    def _deliver(self, inst: Instance, op: str, body: dict[str, Any], jid: str) -> dict[str, Any]:
        content, message_type = sent_content(op, body)
        key_id = new_hex_id("3EB0", 20)
        if inst.webhook and inst.webhook.base64 and op in ("sendMedia", "sendWhatsAppAudio", "sendSticker"):
            media = body.get("media") or body.get("audio") or body.get("sticker")
            content["base64"] = (
                media
                if is_base64(media)
                else base64.b64encode(b"simulated media " + key_id.encode()).decode()
            )
        sent = {
            "key": {"remoteJid": jid, "fromMe": True, "id": key_id},
            "pushName": "Você",
            "status": "PENDING",
            "message": content,
            "messageType": message_type,
            "messageTimestamp": int(time.time()),
            "instanceId": inst.instance_id,
            "source": "web",
        }
        record = {
            "id": key_id,
            "instance": inst.name,
            "endpoint": op,
            "body": body,
            "response": sent,
            "statuses": [],
        }
        self.sim.messages.append(record)
        self.sim.emit(inst, "SEND_MESSAGE", sent)
        self._schedule_statuses(inst, record, jid, voice=op == "sendWhatsAppAudio")
        return sent

    def _schedule_statuses(self, inst: Instance, record: dict[str, Any], jid: str, *, voice: bool) -> None:
        config = self.sim.state.config
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
            data = {
                "keyId": record["id"],
                "remoteJid": jid,
                "fromMe": True,
                "status": status,
                "instanceId": inst.instance_id,
            }
            self.sim.emit(inst, "MESSAGES_UPDATE", data, delay=step * i, webhook=webhook)
            record["statuses"].append(status)

    # -- chat ------------------------------------------------------------------------------

    async def mark_read(self, request: Request) -> Response:
        body, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"readMessages": ARR}, ("readMessages",))
        for i, item in enumerate(body.get("readMessages") or []):
            problems += check_fields(
                item if isinstance(item, dict) else {},
                {"remoteJid": STR, "fromMe": BOOL, "id": STR},
                ("remoteJid", "fromMe", "id"),
                f"readMessages[{i}].",
            )
        if problems:
            return error(400, problems)
        if inst.state != "open":
            return error(500, ["Read messages fail", "Error: Connection Closed"])
        return JSONResponse({"message": "Read messages", "read": "success"}, status_code=201)

    async def presence(self, request: Request) -> Response:
        body, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(
            body, {"number": STR, "presence": STR, "delay": INT}, ("number", "presence", "delay")
        )
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
