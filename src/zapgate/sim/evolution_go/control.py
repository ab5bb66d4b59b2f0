"""The Evolution GO simulator's own control routes under ``/_sim`` (listed in
``zapgate.sim.evolution_go.app``): the license gate, pairing, disconnects, inbound messages,
listings."""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.common import control_routes, json_object, new_hex_id
from zapgate.sim.evolution_go.shapes import disconnect_event, inbound_event
from zapgate.sim.evolution_go.state import EvolutionGoSim, GoError, lid_for


class Control:
    def __init__(self, sim: EvolutionGoSim) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            *control_routes(self.sim.state, on_reset=self.sim.reset),
            Route("/_sim/license", self.control_license, methods=["POST"]),
            Route("/_sim/instances", self.control_instances, methods=["GET"]),
            Route("/_sim/instances/{name}/pair", self.control_pair, methods=["POST"]),
            Route("/_sim/instances/{name}/disconnect", self.control_disconnect, methods=["POST"]),
            Route("/_sim/inbound", self.control_inbound, methods=["POST"]),
            Route("/_sim/messages", self.control_messages, methods=["GET"]),
            Route("/_sim/media", self.control_put_media, methods=["POST"]),
            Route("/_sim/media/{id}", self.control_get_media, methods=["GET"]),
        ]

    async def control_license(self, request: Request) -> Response:
        body = await request.json()
        self.sim.license_required = bool(body.get("required"))
        return JSONResponse({"required": self.sim.license_required})

    async def control_pair(self, request: Request) -> Response:
        body = await json_object(request)
        try:
            inst = self.sim.by_name(request.path_params["name"])
        except GoError as exc:
            return exc.response()
        if not inst.client:
            return JSONResponse({"error": "no client running: call /instance/connect first"}, status_code=409)
        config = self.sim.state.config
        number = str(body.get("number") or inst.pairing_phone or config["ownNumber"])
        device = random.randint(2, 60)
        if inst.qr_task is not None:
            inst.qr_task.cancel()
            inst.qr_task = None
        inst.qr, inst.logged_in, inst.connected = None, True, True
        inst.jid = f"{number}:{device}@s.whatsapp.net"
        inst.lid = f"{lid_for(number)}:{device}@lid"
        inst.push_name = str(body.get("pushName") or config["pushName"])
        inst.disconnect_reason = ""
        self.sim.emit(
            inst,
            "PairSuccess",
            {
                "ID": inst.jid,
                "LID": inst.lid,
                "BusinessName": "",
                "Platform": "android",
                "status": "open",
                "jid": inst.jid,
                "pushName": inst.push_name,
            },
        )
        self.sim.emit_connected(inst)
        return JSONResponse(inst.describe())

    async def control_disconnect(self, request: Request) -> Response:
        body = await json_object(request)
        try:
            inst = self.sim.by_name(request.path_params["name"])
            event, data = disconnect_event(body)
        except GoError as exc:
            return exc.response()
        self.sim.emit(inst, event, data)
        inst.connected = False
        inst.disconnect_reason = str(data.get("reason") or data.get("Message") or event)
        if event == "LoggedOut":
            self.sim.stop_client(inst)
            inst.logged_in, inst.jid, inst.lid, inst.push_name = False, "", "", ""
        elif event == "Disconnected" and body.get("reconnectAfterMs") is not None:
            asyncio.get_running_loop().call_later(
                float(body["reconnectAfterMs"]) / 1000, self.sim.reconnect_client, inst
            )
        return JSONResponse(inst.describe())

    async def control_inbound(self, request: Request) -> Response:
        spec = await request.json()
        try:
            inst = self.sim.by_name(str(spec.get("instance")))
        except GoError as exc:
            return exc.response()
        if not inst.logged_in or not inst.connected:
            return JSONResponse({"error": "instance is not connected"}, status_code=409)
        message_id = new_hex_id("3A")
        files = bool(self.sim.state.config["webhookFiles"])
        data = inbound_event(inst, spec, message_id, files=files)
        chat = data["Info"]["Chat"]
        self.sim.messages.append(
            {
                "direction": "in",
                "id": message_id,
                "instance": inst.name,
                "type": spec.get("type", "text"),
                "chat": chat,
                "from": data["Info"]["Sender"],
                "body": spec,
                "at": time.time(),
            }
        )
        if not (chat.endswith("@g.us") and inst.advanced.get("ignoreGroups")):
            self.sim.emit(inst, "Message", data)
        return JSONResponse({"id": message_id})

    async def control_put_media(self, request: Request) -> Response:
        """An object of the simulated MinIO bucket, for an inbound ``media.url``."""
        body = await json_object(request)
        try:
            content = base64.b64decode(str(body.get("base64") or ""), validate=True)
        except (binascii.Error, ValueError):
            return JSONResponse({"error": "base64 is required"}, status_code=400)
        object_id = new_hex_id("obj")
        self.sim.bucket[object_id] = (content, str(body.get("mimetype") or "application/octet-stream"))
        return JSONResponse({"id": object_id, "url": f"{request.base_url}_sim/media/{object_id}"})

    async def control_get_media(self, request: Request) -> Response:
        found = self.sim.bucket.get(request.path_params["id"])
        if found is None:
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", status_code=404)
        content, mimetype = found
        return Response(content, media_type=mimetype)

    async def control_messages(self, _: Request) -> Response:
        return JSONResponse(self.sim.messages)

    async def control_instances(self, _: Request) -> Response:
        return JSONResponse([i.describe() for i in self.sim.instances.values()])
