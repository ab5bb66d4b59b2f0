"""The Evolution API v2 simulator's directory and media routes: the instance's groups, number
checks, and the media of inbound messages injected through ``/_sim/inbound`` (the routes are
listed in ``zapgate.sim.evolution_v2.app``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.evolution_v2.shapes import inbound_base64
from zapgate.sim.evolution_v2.state import (
    EvolutionSim,
    Instance,
    connection_closed,
    error,
    jid_for,
    whatsapp_jid,
)
from zapgate.sim.evolution_v2.validate import ARR, BOOL, OBJ, check_fields

MEDIA_TYPES = ("imageMessage", "videoMessage", "audioMessage", "documentMessage")


class Directory:
    def __init__(self, sim: EvolutionSim) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            Route("/group/fetchAllGroups/{instance}", self.fetch_all_groups, methods=["GET"]),
            Route("/chat/whatsappNumbers/{instance}", self.whatsapp_numbers, methods=["POST"]),
            Route("/chat/getBase64FromMediaMessage/{instance}", self.media_base64, methods=["POST"]),
        ]

    async def fetch_all_groups(self, request: Request) -> Response:
        _, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        if "getParticipants" not in request.query_params:
            return error(400, ["The getParticipants needs to be informed in the query"])
        if inst.state != "open":
            return connection_closed()
        with_participants = request.query_params["getParticipants"] == "true"
        return JSONResponse([_group(g, with_participants) for g in self.sim.state.config["groups"]])

    async def whatsapp_numbers(self, request: Request) -> Response:
        """``jid`` is WhatsApp's address (the Brazilian 9th digit rule); an unknown number's is
        the normalised attempt."""
        body, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"numbers": ARR}, ("numbers",))
        if problems:
            return error(400, problems)
        if inst.state != "open":
            return connection_closed()
        return JSONResponse([self._lookup(str(number)) for number in body["numbers"]])

    def _lookup(self, number: str) -> dict[str, Any]:
        jid = jid_for(number)
        if not jid.endswith("@s.whatsapp.net"):
            return {"jid": jid, "exists": True, "number": number}
        user = jid.split("@", 1)[0]
        canonical = whatsapp_jid(user)
        unknown = self.sim.state.is_unknown(user) or self.sim.state.is_unknown(canonical.split("@")[0])
        if not user.isdigit() or unknown:
            return {"jid": jid, "exists": False, "number": number}
        return {"jid": canonical, "exists": True, "number": number}

    async def media_base64(self, request: Request) -> Response:
        body, inst = await self.sim.open_call(request)
        if not isinstance(inst, Instance):
            return inst
        problems = check_fields(body, {"message": OBJ, "convertToMp4": BOOL}, ("message",))
        if problems:
            return error(400, problems)
        key = body["message"].get("key")
        found = self.sim.media.get(str(key.get("id"))) if isinstance(key, dict) else None
        if found is None or found["instance"] != inst.name:
            return error(400, ["Message not found"])
        return JSONResponse(_media_answer(found), status_code=201)


def remember(sim: EvolutionSim, inst: Instance, data: dict[str, Any], spec: dict[str, Any]) -> None:
    """Keep an injected inbound media message (its ``upsert`` data) for a later download."""
    kind = data["messageType"]
    if kind in MEDIA_TYPES:
        sim.media[data["key"]["id"]] = {
            "instance": inst.name,
            "id": data["key"]["id"],
            "type": kind,
            "part": data["message"][kind],
            "base64": inbound_base64(kind.removesuffix("Message"), spec.get("media") or {}),
        }


def _group(group: dict[str, Any], with_participants: bool) -> dict[str, Any]:
    gid = str(group["id"])
    out: dict[str, Any] = {
        "id": gid,
        "subject": group.get("subject", ""),
        "subjectOwner": "5511900001111@s.whatsapp.net",
        "subjectTime": 1_700_000_000,
        "pictureUrl": None,
        "size": group.get("size", 0),
        "creation": 1_700_000_000,
        "owner": "5511900001111@s.whatsapp.net",
        "desc": group.get("desc"),
        "descId": None,
        "restrict": False,
        "announce": False,
        "isCommunity": False,
        "isCommunityAnnounce": False,
        "linkedParent": None,
    }
    if with_participants:
        out["participants"] = []
    return out


def _media_answer(found: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = found["part"]
    mimetype = str(part.get("mimetype") or "application/octet-stream")
    extension = mimetype.split(";")[0].split("/")[-1]
    try:
        length = len(base64.b64decode(found["base64"]))
    except (binascii.Error, ValueError):
        length = 0
    return {
        "mediaType": found["type"],
        "fileName": part.get("fileName") or f"{found['id']}.{extension}",
        "caption": part.get("caption"),
        "size": {"fileLength": length, "height": part.get("height"), "width": part.get("width")},
        "mimetype": mimetype,
        "base64": found["base64"],
        "buffer": None,
    }
