"""The Evolution API v2 simulator's own control routes under ``/_sim`` (listed in
``zapgate.sim.evolution_v2.app``): pair, disconnect, a new QR code, inbound messages, listings."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.common import control_routes, json_object
from zapgate.sim.evolution_v2 import directory
from zapgate.sim.evolution_v2.shapes import inbound_content, inbound_key
from zapgate.sim.evolution_v2.state import EvolutionSim, Instance


class Control:
    def __init__(self, sim: EvolutionSim) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/instances/{name}/pair", self.pair, methods=["POST"]),
            Route("/_sim/instances/{name}/disconnect", self.disconnect, methods=["POST"]),
            Route("/_sim/instances/{name}/qr", self.qr, methods=["POST"]),
            Route("/_sim/inbound", self.inbound, methods=["POST"]),
            Route("/_sim/messages", self.list_messages, methods=["GET"]),
            Route("/_sim/instances", self.list_instances, methods=["GET"]),
            *control_routes(self.sim.state, on_reset=self.sim.reset),
        ]

    def _control_instance(self, request: Request) -> Instance | Response:
        inst = self.sim.instances.get(request.path_params["name"])
        return inst if inst is not None else JSONResponse({"error": "unknown instance"}, status_code=404)

    async def pair(self, request: Request) -> Response:
        inst = self._control_instance(request)
        if not isinstance(inst, Instance):
            return inst
        body = await json_object(request)
        digits = re.sub(r"\D", "", str(body.get("number") or inst.number or "")) or "5511" + "".join(
            secrets.choice("0123456789") for _ in range(9)
        )
        inst.state = "open"
        inst.wuid = digits + "@s.whatsapp.net"
        inst.profile_name = str(body.get("profileName") or f"Sim {inst.name}")
        inst.qr_code = inst.qr_base64 = inst.pairing_code = None
        self.sim.emit(
            inst,
            "CONNECTION_UPDATE",
            {
                "instance": inst.name,
                "wuid": inst.wuid,
                "profileName": inst.profile_name,
                "profilePictureUrl": None,
                "state": "open",
                "statusReason": 200,
            },
        )
        return JSONResponse(inst.describe())

    async def disconnect(self, request: Request) -> Response:
        inst = self._control_instance(request)
        if not isinstance(inst, Instance):
            return inst
        body = await json_object(request)
        self.sim.close(inst, int(body.get("reason") or 401))
        return JSONResponse(inst.describe())

    async def qr(self, request: Request) -> Response:
        inst = self._control_instance(request)
        if not isinstance(inst, Instance):
            return inst
        if inst.state == "open":
            return JSONResponse({"error": "the instance is open: no QR code"}, status_code=409)
        if inst.state != "connecting":
            self.sim.start_connecting(inst, inst.number)
        elif inst.qr_count >= int(self.sim.state.config["qrcodeLimit"]):
            self._refuse(inst)
        else:
            self.sim.new_qr(inst)
        return JSONResponse(inst.describe())

    def _refuse(self, inst: Instance) -> None:
        inst.state = "refused"
        inst.qr_code = inst.qr_base64 = inst.pairing_code = None
        self.sim.emit(
            inst,
            "QRCODE_UPDATED",
            {"message": "QR code limit reached, please login again", "statusCode": 500},
        )
        self.sim.emit(
            inst,
            "CONNECTION_UPDATE",
            {
                "instance": inst.name,
                "state": "refused",
                "statusReason": 428,
                "wuid": None,
                "profileName": None,
                "profilePictureUrl": None,
            },
        )

    async def inbound(self, request: Request) -> Response:
        spec = await json_object(request)
        inst = self.sim.instances.get(str(spec.get("instance")))
        if inst is None:
            return JSONResponse({"error": "unknown instance"}, status_code=404)
        if inst.state != "open" or not spec.get("from"):
            return JSONResponse({"error": "the instance must be open and 'from' given"}, status_code=409)
        data = self._upsert(inst, spec)
        directory.remember(self.sim, inst, data, spec)
        self.sim.emit(inst, "MESSAGES_UPSERT", data)
        self.sim.emit(
            inst,
            "CONTACTS_UPSERT",
            [
                {
                    "remoteJid": data["key"]["remoteJid"],
                    "pushName": data["pushName"],
                    "profilePicUrl": None,
                    "instanceId": inst.instance_id,
                }
            ],
        )
        return JSONResponse({"id": data["key"]["id"]})

    def _upsert(self, inst: Instance, spec: dict[str, Any]) -> dict[str, Any]:
        key = inbound_key(spec)
        context = self._context(inst, spec.get("replyTo"))
        base64_on = bool(inst.webhook and inst.webhook.base64)
        message, message_type = inbound_content(spec, key, context, base64_on, ours=self._sent_ids())
        data: dict[str, Any] = {
            "key": key,
            "pushName": str(spec.get("name") or ""),
            "status": "DELIVERY_ACK",
            "message": message,
            "messageType": message_type,
            "messageTimestamp": int(time.time()),
            "instanceId": inst.instance_id,
            "source": "ios",
        }
        if context:
            data["contextInfo"] = context
        return data

    def _sent_ids(self) -> set[str]:
        return {str(m["id"]) for m in self.sim.messages}

    def _context(self, inst: Instance, reply_to: Any) -> dict[str, Any] | None:
        if not reply_to:
            return None
        context: dict[str, Any] = {"stanzaId": str(reply_to), "participant": inst.wuid or "0@s.whatsapp.net"}
        quoted = next((m for m in self.sim.messages if m["id"] == reply_to), None)
        if quoted is not None:
            context["quotedMessage"] = {
                k: v for k, v in quoted["response"]["message"].items() if k != "base64"
            }
        return context

    async def list_messages(self, request: Request) -> Response:
        name = request.query_params.get("instance")
        return JSONResponse([m for m in self.sim.messages if not name or m["instance"] == name])

    async def list_instances(self, _: Request) -> Response:
        return JSONResponse([i.describe() for i in self.sim.instances.values()])
