"""The Evolution GO simulator's directory routes: the instance's groups and channels and number
checks (the routes are listed in ``zapgate.sim.evolution_go.app``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zapgate.sim.evolution_go.state import EvolutionGoSim, GoError, Instance, ok

OWNER = "5511900001111@s.whatsapp.net"


class Directory:
    def __init__(self, sim: EvolutionGoSim) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            Route("/group/list", self.sim.api(self.groups, "instance"), methods=["GET"]),
            Route("/newsletter/list", self.sim.api(self.newsletters, "instance"), methods=["GET"]),
            Route("/user/check", self.sim.api(self.check, "instance"), methods=["POST"]),
        ]

    async def groups(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        self.sim.require_session(inst)
        return ok([_group(g) for g in self.sim.state.config["groups"]])

    async def newsletters(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        self.sim.require_session(inst)
        return ok([_newsletter(n) for n in self.sim.state.config["newsletters"]])

    async def check(self, _: Request, body: dict[str, Any], inst: Instance | None) -> Response:
        """``Query`` is the number as the server formats it (``formatJid``: a Brazilian mobile
        in area codes 31 and up loses its 9th digit); ``JID`` is WhatsApp's own address."""
        numbers = body.get("number")
        if not isinstance(numbers, list) or not numbers:
            raise GoError(400, "number is required")
        assert inst is not None
        self.sim.require_session(inst)
        format_jid = body.get("formatJid") is True
        return ok({"Users": [self._user(str(n), format_jid) for n in numbers]})

    def _user(self, number: str, format_jid: bool) -> dict[str, Any]:
        digits = "".join(c for c in number if c.isdigit())
        query = "+" + go_format(digits) if format_jid else number
        canonical = whatsapp_user(digits)
        known = bool(digits) and not any(self.sim.state.is_unknown(d) for d in (digits, canonical))
        jid = f"{canonical if known else go_format(digits)}@s.whatsapp.net"
        return {
            "Query": query,
            "IsInWhatsapp": known,
            "JID": jid,
            "RemoteJID": jid,
            "LID": None,
            "VerifiedName": "",
        }


def go_format(digits: str) -> str:
    """Evolution GO's formatting: a 13-digit Brazilian number in area codes 31 and up loses the
    9th digit."""
    if digits.startswith("55") and len(digits) == 13 and int(digits[2:4]) >= 31 and digits[4] == "9":
        return digits[:4] + digits[5:]
    return digits


def whatsapp_user(digits: str) -> str:
    """WhatsApp's own number for a Brazilian mobile: with the 9th digit in area codes 11-30
    (added when left out), without it from 31 up."""
    if digits.startswith("55") and len(digits) in (12, 13):
        area, rest = int(digits[2:4]), digits[4:]
        if len(rest) == 9 and area >= 31 and rest[0] == "9":
            return digits[:4] + rest[1:]
        if len(rest) == 8 and area < 31 and rest[0] in "6789":
            return digits[:4] + "9" + rest
    return digits


def _group(group: dict[str, Any]) -> dict[str, Any]:
    size = int(group.get("size", 0))
    participants = [
        {
            "JID": f"55119{i:08d}@s.whatsapp.net",
            "PhoneNumber": f"55119{i:08d}@s.whatsapp.net",
            "LID": "",
            "IsAdmin": i == 0,
            "IsSuperAdmin": i == 0,
            "DisplayName": "",
            "Error": 0,
            "AddRequest": None,
        }
        for i in range(size)
    ]
    return {
        "JID": str(group["id"]),
        "OwnerJID": OWNER,
        "OwnerPN": OWNER,
        "Name": group.get("subject", ""),
        "NameSetAt": "2024-01-01T12:00:00-03:00",
        "NameSetBy": OWNER,
        "Topic": group.get("desc", ""),
        "TopicID": "",
        "TopicSetAt": "0001-01-01T00:00:00Z",
        "TopicSetBy": "",
        "TopicDeleted": False,
        "IsLocked": False,
        "IsAnnounce": False,
        "AnnounceVersionID": "",
        "IsEphemeral": False,
        "DisappearingTimer": 0,
        "IsIncognito": False,
        "IsParent": False,
        "DefaultMembershipApprovalMode": "",
        "LinkedParentJID": "",
        "IsDefaultSubGroup": False,
        "IsJoinApprovalRequired": False,
        "GroupCreated": "2024-01-01T12:00:00-03:00",
        "ParticipantVersionID": "",
        "Participants": participants,
        "MemberAddMode": "admin_add",
    }


def _newsletter(newsletter: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(newsletter["id"]),
        "state": {"type": "active"},
        "thread_metadata": {
            "creation_time": "1700000000",
            "invite": "0029Va" + str(newsletter["id"])[:10],
            "name": {
                "id": "1700000000000000",
                "text": newsletter.get("name", ""),
                "update_time": "1700000000",
            },
            "description": {"id": "", "text": "", "update_time": "0"},
            "subscribers_count": str(newsletter.get("subscribers", 0)),
            "verification": "unverified",
            "picture": None,
            "preview": {"url": "", "id": "", "type": ""},
            "settings": {"reaction_codes": {"value": "ALL"}},
        },
        "viewer_metadata": {"mute": "off", "role": "subscriber"},
    }
