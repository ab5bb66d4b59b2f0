"""The Evolution GO API routes of the simulator: admin, instance, send and message calls (the
routes are listed in ``zapgate.sim.evolution_go.app``)."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.sim.common import new_hex_id, new_pairing_code, status_sequence
from zapgate.sim.evolution_go.shapes import (
    MEDIA_LABELS,
    buttons,
    list_button,
    native_flow,
    quoted_context,
    send_info,
    sniff_mime,
    upload,
    vcard,
)
from zapgate.sim.evolution_go.state import (
    ADVANCED_DEFAULTS,
    KNOWN_CATEGORIES,
    ZERO_TIME,
    ApiHandler,
    EvolutionGoSim,
    GoError,
    Instance,
    go_time,
    jid_user,
    ok,
    to_jid,
)

REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "/send/text": (("text", "message body is required"),),
    "/send/media": (("url", "URL is required"), ("type", "media type is required")),
    "/send/sticker": (("sticker", "sticker is required"),),
    "/send/location": (
        ("latitude", "latitude is required"),
        ("longitude", "longitude is required"),
        ("address", "address is required"),
        ("name", "name is required"),
    ),
    "/send/contact": (
        ("vcard.phone", "contact phone number is required"),
        ("vcard.fullName", "contact full name is required"),
    ),
    "/send/button": (
        ("title", "title is required"),
        ("description", "description is required"),
        ("footer", "footer is required"),
    ),
    "/send/list": (
        ("title", "title is required"),
        ("description", "description is required"),
        ("footerText", "footer is required"),
        ("buttonText", "button text is required"),
    ),
    "/message/react": (("reaction", "message reaction is required"),),
    "/message/presence": (("state", "state is required"),),
    "/message/markread": (("id", "id is required"),),
}


def _missing(body: dict[str, Any], path: str) -> bool:
    value: Any = body
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value in (None, "", 0, [], {})


class Api:
    def __init__(self, sim: EvolutionGoSim) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        admin: list[tuple[str, ApiHandler, list[str]]] = [
            ("/instance/create", self.create, ["POST"]),
            ("/instance/all", self.list_all, ["GET"]),
            ("/instance/info/{instance_id}", self.info, ["GET"]),
            ("/instance/delete/{instance_id}", self.delete, ["DELETE"]),
        ]
        instance: list[tuple[str, ApiHandler, list[str]]] = [
            ("/instance/connect", self.connect, ["POST"]),
            ("/instance/qr", self.qr, ["GET"]),
            ("/instance/pair", self.pair, ["POST"]),
            ("/instance/status", self.status, ["GET"]),
            ("/instance/disconnect", self.disconnect, ["POST"]),
            ("/instance/reconnect", self.reconnect, ["POST"]),
            ("/instance/logout", self.logout, ["DELETE"]),
            ("/instance/{instance_id}/advanced-settings", self.advanced, ["GET", "PUT"]),
            *[
                (f"/send/{kind}", self.send, ["POST"])
                for kind in ("text", "media", "button", "list", "location", "contact", "sticker")
            ],
            ("/message/presence", self.presence, ["POST"]),
            ("/message/markread", self.presence, ["POST"]),
            ("/message/react", self.react, ["POST"]),
        ]
        routes = [Route("/server/ok", self.sim.api(self.server_ok, None), methods=["GET"])]
        routes += [
            Route(path, self.sim.api(handler, "admin"), methods=methods) for path, handler, methods in admin
        ]
        routes += [
            Route(path, self.sim.api(handler, "instance"), methods=methods)
            for path, handler, methods in instance
        ]
        return routes

    async def server_ok(self, *_: Any) -> Response:
        return JSONResponse({"status": "ok"})

    # -- admin routes -----------------------------------------------------------------------

    async def create(self, _: Request, body: dict[str, Any], __: Instance | None) -> Response:
        name, token = str(body.get("name") or ""), str(body.get("token") or "")
        if not name:
            raise GoError(400, "name is required")
        if not token:
            raise GoError(400, "token is required")
        if name in self.sim.instances:
            raise GoError(500, "instance already exists")
        inst = Instance(
            id=str(body.get("instanceId") or uuid.uuid4()), name=name, token=token, created_at=go_time()
        )
        inst.advanced.update(
            {k: v for k, v in (body.get("advancedSettings") or {}).items() if k in ADVANCED_DEFAULTS}
        )
        self.sim.instances[name] = inst
        return ok(inst.row())

    async def list_all(self, *_: Any) -> Response:
        return ok([i.row() for i in self.sim.instances.values()])

    async def info(self, request: Request, *_: Any) -> Response:
        return ok(self.sim.by_id(request.path_params["instance_id"]).row())

    async def delete(self, request: Request, *_: Any) -> Response:
        inst = self.sim.by_id(request.path_params["instance_id"])
        self.sim.stop_client(inst)
        del self.sim.instances[inst.name]
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
            self.sim.start_client(inst)
        elif not inst.connected:  # whatsmeow would have reconnected by itself by now
            self.sim.reconnect_client(inst)
        return ok({"jid": inst.jid, "webhookUrl": inst.webhook, "eventString": ",".join(events)})

    async def qr(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client or inst.logged_in:
            if not inst.client:
                self.sim.start_client(inst)
                await asyncio.sleep(float(self.sim.state.config["qrDelayMs"]) / 1000 + 0.02)
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
        code = new_pairing_code()
        return ok({"PairingCode": f"{code[:4]}-{code[4:]}"})

    async def status(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(400, "no active session found")
        if not inst.connected:
            raise GoError(400, "client disconnected")
        return ok(
            {
                "Connected": inst.connected,
                "LoggedIn": inst.logged_in,
                "Name": inst.push_name if inst.logged_in else "",
            }
        )

    async def disconnect(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(500, "no active session found")
        if inst.connected and inst.logged_in:
            # The kill signal: the client disconnects (the session stays), says "Logged out",
            # and the client loop starts again with its in-memory subscriptions.
            self.sim.emit(inst, "LoggedOut", {"reason": "Logged out"})
            inst.events = []
            self.sim.stop_client(inst)
            self.sim.start_client(inst)
        return ok(with_data=False)

    async def reconnect(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(500, "no active session found")
        inst.connected = False
        self.sim.reconnect_client(inst)
        return ok(with_data=False)

    async def logout(self, _: Request, __: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        if not inst.client:
            raise GoError(400, "no active session found")
        if not inst.connected:
            raise GoError(400, "ignoring logout as it was not connected")
        if inst.logged_in:
            self.sim.emit(inst, "LoggedOut", {"reason": "Logged out"})
            inst.logged_in, inst.jid, inst.lid, inst.push_name = False, "", "", ""
        self.sim.stop_client(inst)
        return ok(with_data=False)

    async def advanced(self, request: Request, body: dict[str, Any], _: Instance | None) -> Response:
        inst = next(
            (i for i in self.sim.instances.values() if i.id == request.path_params["instance_id"]), None
        )
        if inst is None:
            raise GoError(404, "instance not found")
        if request.method == "GET":
            return JSONResponse(inst.advanced)
        inst.advanced.update({k: v for k, v in body.items() if k in ADVANCED_DEFAULTS})
        return JSONResponse({"message": "Advanced settings updated successfully", "settings": inst.advanced})

    # -- sends ------------------------------------------------------------------------------

    async def send(self, request: Request, body: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        path = request.url.path
        chat = self._validate(path, body)
        self.sim.require_session(inst)
        kind = path.rsplit("/", 1)[-1]
        label, message, webhook = self._build(kind, body, chat, inst)
        self._check_recipient(body, chat)
        message_id = str(body.get("id") or new_hex_id("3EB0"))
        info = send_info(chat, inst.jid, message_id, label)
        context = quoted_context(body.get("quoted"))
        self._record(inst, message_id, path, label, chat, body)
        if webhook:
            self.sim.emit(
                inst,
                "SendMessage",
                {"Info": info, "Message": self._with_file(message), "MessageContextInfo": context},
            )
        self._receipts(inst, chat, message_id)
        return ok({"Info": info, "Message": message, "MessageContextInfo": context})

    def _record(
        self, inst: Instance, message_id: Any, path: str, label: str, chat: str, body: dict[str, Any]
    ) -> None:
        self.sim.messages.append(
            {
                "direction": "out",
                "id": message_id,
                "instance": inst.name,
                "path": path,
                "type": label,
                "chat": chat,
                "to": jid_user(chat),
                "body": body,
                "at": time.time(),
            }
        )

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
        if chat.endswith("@s.whatsapp.net") and self.sim.state.is_unknown(jid_user(chat)):
            raise GoError(500, f"number {body.get('number')} is not registered on WhatsApp")

    def _build(
        self, kind: str, body: dict[str, Any], chat: str, inst: Instance
    ) -> tuple[str, dict[str, Any], bool]:
        """(Info.Type, Message, whether a SendMessage webhook follows)."""
        if kind == "text":
            return (
                "ExtendedTextMessage",
                {"extendedTextMessage": {"text": body["text"], "contextInfo": self._quote(body)}},
                True,
            )
        if kind == "media":
            label, message = self._media(body)
            return label, message, True
        if kind == "sticker":
            if not str(body["sticker"]).startswith("http"):
                raise GoError(500, "invalid sticker URL")
            return (
                "StickerMessage",
                {"stickerMessage": {**upload("image/webp", 18_000), "contextInfo": {}}},
                True,
            )
        if kind == "location":
            return (
                "LocationMessage",
                {
                    "locationMessage": {
                        "degreesLatitude": body["latitude"],
                        "degreesLongitude": body["longitude"],
                        "name": body["name"],
                        "address": body["address"],
                        "contextInfo": {},
                    }
                },
                True,
            )
        if kind == "contact":
            return "ContactMessage", {"contactMessage": vcard(body["vcard"])}, True
        if kind == "button":
            return "ButtonMessage", native_flow(body, buttons(body), body["footer"]), False
        return "ListMessage", native_flow(body, list_button(body), body["footerText"]), False

    @staticmethod
    def _quote(body: dict[str, Any]) -> dict[str, Any]:
        quoted = body.get("quoted")
        return quoted_context(quoted) if isinstance(quoted, dict) and quoted.get("messageId") else {}

    def _media(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        url, media_type = str(body["url"]), str(body["type"])
        if not url.lower().startswith(("http://", "https://")):
            scheme = url.split(":", 1)[0] if ":" in url else ""
            raise GoError(500, f'Get "{url}": unsupported protocol scheme "{scheme}"')
        if media_type not in MEDIA_LABELS:
            raise GoError(500, "invalid media type")
        mimetype = sniff_mime(url, media_type)
        part = {**upload(mimetype, 48_213), "contextInfo": self._quote(body)}
        caption = str(body.get("caption") or "")
        if media_type == "audio":
            part.update(mimetype="audio/ogg; codecs=opus", PTT=True, seconds=7)
        elif media_type == "document":
            name = str(body.get("filename") or "")
            part.update(fileName=name, title=name)
            if caption:
                part["caption"] = caption
                return "DocumentMessage", {
                    "documentWithCaptionMessage": {"message": {"documentMessage": part}}
                }
        else:
            part["caption"] = caption
        return MEDIA_LABELS[media_type], {f"{media_type}Message": part}

    def _with_file(self, message: dict[str, Any]) -> dict[str, Any]:
        media = any(
            k.endswith("Message") and k not in ("extendedTextMessage", "locationMessage", "contactMessage")
            for k in message
        )
        if not media or not self.sim.state.config["webhookFiles"]:
            return message
        return {**message, "base64": base64.b64encode(b"simulated media bytes").decode()}

    def _receipts(self, inst: Instance, chat: str, message_id: str) -> None:
        if chat.endswith("@newsletter"):
            return
        if chat.endswith("@g.us") and inst.advanced.get("ignoreGroups"):
            return
        config = self.sim.state.config
        gap = float(config["statusDelayMs"]) / 1000
        states = status_sequence(config, ["Delivered", "Read"], delivered="Delivered", read="Read")
        sender = chat if not chat.endswith("@g.us") else "5511977776666@s.whatsapp.net"
        for index, state in enumerate(states):
            delay = gap * (index + 1)
            self.sim.emit(
                inst,
                "Receipt",
                {
                    "Chat": chat,
                    "Sender": sender,
                    "IsFromMe": False,
                    "IsGroup": chat.endswith("@g.us"),
                    "AddressingMode": "",
                    "SenderAlt": "",
                    "RecipientAlt": "",
                    "BroadcastListOwner": "",
                    "BroadcastRecipients": None,
                    "MessageIDs": [message_id],
                    "Timestamp": go_time(time.time() + delay),
                    "Type": "" if state == "Delivered" else "read",
                    "MessageSender": "",
                },
                state=state,
                delay=delay,
            )

    # -- message operations -----------------------------------------------------------------

    async def presence(self, request: Request, body: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        self._validate(request.url.path, body)
        self.sim.require_session(inst)
        return ok({"timestamp": ZERO_TIME})

    async def react(self, request: Request, body: dict[str, Any], inst: Instance | None) -> Response:
        assert inst is not None
        chat = self._validate(request.url.path, body)
        self.sim.require_session(inst)
        if not body.get("id"):
            raise GoError(500, "missing id in payload")
        emoji = "" if body["reaction"] == "remove" else str(body["reaction"])
        key = {"remoteJID": chat, "fromMe": bool(body.get("fromMe")), "ID": str(body["id"])}
        if body.get("participant"):
            key["participant"] = str(body["participant"])
        message = {
            "reactionMessage": {"key": key, "text": emoji, "senderTimestampMS": int(time.time() * 1000)}
        }
        info = send_info(chat, inst.jid, str(body["id"]), "ReactionMessage")
        self._record(inst, body["id"], request.url.path, "ReactionMessage", chat, body)
        return ok({"Info": info, "Message": message, "MessageContextInfo": None})
