"""The Evolution GO simulator against the checklist of providers.md C.8b, over loopback HTTP."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from zapgate.sim.common import SimThread
from zapgate.sim.evolution_go import create_app
from zapgate.testing import ReceivedWebhook, WebhookReceiver

KEY = "sim-evolution-go-key"
FAST = {"statusDelayMs": 10, "callbackRetrySeconds": 0.05, "qrDelayMs": 10}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?[+-]\d\d:\d\d$")
OWN_JID = re.compile(r"^5511900001111:\d+@s\.whatsapp\.net$")
TO = "5511988887777"


@pytest.fixture(scope="module")
def running_sim() -> Iterator[SimThread]:
    with SimThread(create_app(config=FAST)) as thread:
        yield thread


@pytest.fixture
def go(sim: SimThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=10) as client:
        yield client


class Instance:
    """One instance of the simulator, with its own webhook stream."""

    def __init__(self, go: httpx.Client, receiver: WebhookReceiver, sim: SimThread) -> None:
        self.go, self.receiver, self.sim = go, receiver, sim
        self.name = "inst-" + secrets.token_hex(4)
        self.token = "tok-" + secrets.token_hex(8)
        created = go.post(
            "/instance/create", headers={"apikey": KEY}, json={"name": self.name, "token": self.token}
        )
        assert created.status_code == 200, created.text
        self.id = created.json()["data"]["id"]

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.go.request(method, path, json=body, headers={"apikey": self.token})

    def connect(self, subscribe: list[str] | None = None, url: str | None = None) -> httpx.Response:
        return self.call(
            "POST",
            "/instance/connect",
            {
                "webhookUrl": url or self.receiver.url,
                "subscribe": ["ALL"] if subscribe is None else subscribe,
            },
        )

    def pair(self, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.sim.control("POST", f"/_sim/instances/{self.name}/pair", body)
        return result

    def paired(self, **connect: Any) -> Instance:
        assert self.connect(**connect).status_code == 200
        self.pair()
        return self

    def hooks(self) -> list[dict[str, Any]]:
        return [w.json() for w in self.receiver.snapshot() if w.json().get("instanceName") == self.name]

    def events(self) -> list[str]:
        return [h["event"] for h in self.hooks()]

    def wait(self, event: str, count: int = 1, state: str | None = None) -> list[dict[str, Any]]:
        def found() -> list[dict[str, Any]]:
            return [
                h for h in self.hooks() if h["event"] == event and (state is None or h.get("state") == state)
            ]

        self.receiver.wait_for(lambda _: len(found()) >= count, timeout=5)
        return found()

    def send(self, kind: str, body: dict[str, Any]) -> httpx.Response:
        return self.call("POST", f"/send/{kind}", {"number": TO, **body})


@pytest.fixture
def inst(go: httpx.Client, receiver: WebhookReceiver, sim: SimThread) -> Instance:
    return Instance(go, receiver, sim)


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"], body
    return str(body["error"])


# -- auth and the license gate --------------------------------------------------------------


def test_health_needs_no_key(go: httpx.Client) -> None:
    assert go.get("/server/ok").json() == {"status": "ok"}


def test_admin_routes_take_only_the_global_key(go: httpx.Client, inst: Instance) -> None:
    for key in (None, inst.token, "wrong"):
        headers = {"apikey": key} if key else {}
        response = go.post("/instance/create", headers=headers, json={"name": "x", "token": "y"})
        assert response.status_code == 401 and response.json() == {"error": "not authorized"}
    listed = go.get("/instance/all", headers={"apikey": KEY}).json()
    assert listed["message"] == "success"
    assert [row["name"] for row in listed["data"]] == [inst.name]


def test_instance_routes_take_only_an_instance_token(go: httpx.Client, inst: Instance) -> None:
    for key in (KEY, "wrong"):
        response = go.get("/instance/status", headers={"apikey": key})
        assert response.status_code == 401 and response.json() == {"error": "not authorized"}
    assert error(inst.call("GET", "/instance/status"), 400) == "no active session found"


def test_license_gate_answers_before_auth(go: httpx.Client, sim: SimThread, inst: Instance) -> None:
    sim.control("POST", "/_sim/license", {"required": True})
    for response in (
        go.get("/instance/all"),
        inst.send("text", {"text": "hi"}),
        go.post("/instance/create", headers={"apikey": KEY}, json={}),
    ):
        assert response.status_code == 503
        body = response.json()
        assert (body["code"], body["error"]) == ("LICENSE_REQUIRED", "service not activated")
        assert body["register_url"].endswith("/manager/login") and "License" in body["message"]
    assert go.get("/server/ok").status_code == 200
    sim.control("POST", "/_sim/license", {"required": False})
    assert go.get("/instance/all").status_code == 401


def test_license_gate_can_start_on() -> None:
    with SimThread(create_app(license_required=True)) as thread:
        thread.control("POST", "/_sim/reset")  # back to the constructor's choice: still on
        assert httpx.get(thread.url + "/instance/all").status_code == 503


# -- instances ------------------------------------------------------------------------------


def test_create_validates_and_returns_the_row(go: httpx.Client, inst: Instance) -> None:
    admin = {"apikey": KEY}
    assert error(go.post("/instance/create", headers=admin, json={"token": "t"}), 400) == "name is required"
    assert error(go.post("/instance/create", headers=admin, json={"name": "n"}), 400) == "token is required"
    assert (
        error(go.post("/instance/create", headers=admin, json={"name": inst.name, "token": "other"}), 500)
        == "instance already exists"
    )
    row = go.get(f"/instance/info/{inst.id}", headers=admin).json()["data"]
    assert (row["name"], row["token"], row["connected"], row["jid"], row["proxy"]) == (
        inst.name,
        inst.token,
        False,
        "",
        "null",
    )
    assert RFC3339.match(row["createdAt"])


def test_connect_then_qr_codes_by_webhook_and_by_call(inst: Instance) -> None:
    connected = inst.connect(["MESSAGE", "QRCODE", "bogus"])
    assert connected.json() == {
        "data": {"jid": "", "webhookUrl": inst.receiver.url, "eventString": "MESSAGE,QRCODE"},
        "message": "success",
    }
    hook = inst.wait("QRCode")[0]
    assert hook["instanceToken"] == inst.token and hook["instanceId"] == inst.id
    assert hook["data"]["count"] == 1 and hook["data"]["maxCount"] == 5
    assert hook["data"]["qrcode"].startswith("data:image/png;base64,iVBORw0KGgo")
    qr = inst.call("GET", "/instance/qr").json()["data"]
    assert list(qr) == ["Qrcode", "Code"]
    assert (qr["Qrcode"], qr["Code"]) == (hook["data"]["qrcode"], hook["data"]["code"])
    assert qr["Code"].startswith("2@")
    status = inst.call("GET", "/instance/status").json()["data"]
    assert status == {"Connected": True, "LoggedIn": False, "Name": ""}


def test_webhook_keys_are_alphabetic(inst: Instance, receiver: WebhookReceiver) -> None:
    inst.connect()
    inst.wait("QRCode")
    raw: ReceivedWebhook = next(w for w in receiver.snapshot() if w.json().get("instanceName") == inst.name)
    assert list(raw.json()) == ["data", "event", "instanceId", "instanceName", "instanceToken"]
    assert list(raw.json()["data"]) == ["code", "count", "maxCount", "qrcode"]  # a Go map


def test_qr_not_ready_yet(sim: SimThread, inst: Instance) -> None:
    sim.control("POST", "/_sim/config", {"qrDelayMs": 400})
    inst.connect()
    assert (
        error(inst.call("GET", "/instance/qr"), 400)
        == "no QR code available. Please wait a moment and try again"
    )


def test_qr_limit_gives_up(sim: SimThread, inst: Instance) -> None:
    sim.control("POST", "/_sim/config", {"qrIntervalMs": 10, "qrMaxCount": 3})
    inst.connect()
    timeout = inst.wait("QRTimeout")[0]["data"]
    assert timeout == {
        "forceLogout": True,
        "maxCount": 3,
        "qrcount": 3,
        "reason": "Maximum QR code count (3) reached",
    }
    assert [h["data"]["count"] for h in inst.hooks() if h["event"] == "QRCode"] == [1, 2]
    assert error(inst.call("GET", "/instance/status"), 400) == "no active session found"


def test_pairing_code_then_scan(inst: Instance) -> None:
    assert inst.call("POST", "/instance/pair", {"phone": "5511900001111"}).status_code == 500
    inst.connect()
    assert error(inst.call("POST", "/instance/pair", {}), 400) == "phone is required"
    code = inst.call("POST", "/instance/pair", {"phone": "5511900001111"}).json()["data"]
    assert re.match(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", code["PairingCode"])
    inst.pair(pushName="Loja Vendas")
    pair_success, connected = inst.wait("PairSuccess")[0], inst.wait("Connected")[0]
    assert OWN_JID.match(connected["data"]["jid"]) and OWN_JID.match(pair_success["data"]["ID"])
    assert connected["data"] == {"jid": connected["data"]["jid"], "pushName": "Loja Vendas", "status": "open"}
    assert inst.events().index("PairSuccess") < inst.events().index("Connected")
    status = inst.call("GET", "/instance/status").json()["data"]
    assert status == {"Connected": True, "LoggedIn": True, "Name": "Loja Vendas"}
    assert error(inst.call("GET", "/instance/qr"), 400) == "session already logged in"
    again = inst.call("POST", "/instance/pair", {"phone": "5511900001111"}).json()
    assert again["data"] == {"PairingCode": ""}


def test_only_subscribed_categories_are_posted(inst: Instance) -> None:
    inst.paired(subscribe=["MESSAGE"])
    assert inst.send("text", {"text": "hi"}).status_code == 200
    inst.sim.control("POST", "/_sim/inbound", {"instance": inst.name, "from": TO, "text": "oi"})
    inst.wait("Message")
    assert inst.events() == ["Message"]


def test_global_webhook_gets_every_event_too(receiver: WebhookReceiver) -> None:
    with (
        WebhookReceiver() as other,
        SimThread(create_app(config=FAST, global_webhook_url=other.url)) as thread,
        httpx.Client(base_url=thread.url) as go,
    ):
        inst = Instance(go, receiver, thread).paired(subscribe=["CONNECTION"])
        inst.wait("Connected")
        other.wait_for(lambda items: any(w.json()["event"] == "Connected" for w in items))
        assert {w.json()["instanceToken"] for w in other.snapshot()} == {inst.token}
        assert {w.json()["event"] for w in other.snapshot()} == {"PairSuccess", "Connected"}


# -- sends ----------------------------------------------------------------------------------


def test_send_text_answer_and_webhooks(inst: Instance) -> None:
    inst.paired()
    answer = inst.send("text", {"text": "Olá!"}).json()
    assert answer["message"] == "success"
    info = answer["data"]["Info"]
    assert re.match(r"^3EB0[0-9A-F]{16}$", info["ID"])
    assert (info["Chat"], info["IsFromMe"], info["IsGroup"], info["Type"]) == (
        f"{TO}@s.whatsapp.net",
        True,
        False,
        "ExtendedTextMessage",
    )
    assert OWN_JID.match(info["Sender"]) and RFC3339.match(info["Timestamp"])
    assert answer["data"]["Message"]["extendedTextMessage"]["text"] == "Olá!"
    assert answer["data"]["MessageContextInfo"]["quotedMessage"] == {"conversation": ""}
    inst.wait("Receipt", state="Read")
    hooks = [h for h in inst.hooks() if h["event"] in ("SendMessage", "Receipt")]
    assert [(h["event"], h.get("state")) for h in hooks] == [
        ("SendMessage", None),
        ("Receipt", "Delivered"),
        ("Receipt", "Read"),
    ]
    assert hooks[0]["data"]["Info"]["ID"] == info["ID"]
    assert [(h["data"]["Type"], h["data"]["MessageIDs"]) for h in hooks[1:]] == [
        ("", [info["ID"]]),
        ("read", [info["ID"]]),
    ]
    assert all(RFC3339.match(h["data"]["Timestamp"]) for h in hooks[1:])


def test_send_validation_in_the_server_order(inst: Instance) -> None:
    inst.paired()
    assert error(inst.call("POST", "/send/text", {"text": "x"}), 400) == "phone number is required"
    assert error(inst.send("text", {"number": ""}), 400) == "number is required and cannot be empty"
    assert error(inst.send("text", {"number": "abc"}), 400) == "Invalid number format: invalid number format"
    assert error(inst.send("text", {}), 400) == "message body is required"
    assert error(inst.send("media", {"type": "image"}), 400) == "URL is required"
    assert (
        error(inst.send("button", {"title": "", "description": "d", "footer": "f"}), 400)
        == "title is required"
    )
    assert error(inst.send("button", {"title": "t", "description": "d"}), 400) == "footer is required"
    assert (
        error(inst.send("list", {"title": "t", "description": "d", "footerText": "f"}), 400)
        == "button text is required"
    )
    bad_json = inst.go.post(
        "/send/text", content=b"{", headers={"apikey": inst.token, "content-type": "application/json"}
    )
    assert error(bad_json, 400) == "Invalid JSON format"


def test_sending_needs_a_paired_session(inst: Instance) -> None:
    assert error(inst.send("text", {"text": "hi"}), 500) == "no active session found"
    inst.connect()
    assert error(inst.send("text", {"text": "hi"}), 500) == "no active session found"


def test_unknown_recipient(sim: SimThread, inst: Instance) -> None:
    sim.control("POST", "/_sim/config", {"unknownRecipients": [TO]})
    inst.paired()
    assert error(inst.send("text", {"text": "hi"}), 500) == f"number {TO} is not registered on WhatsApp"
    group = inst.send("text", {"number": "120363025246125888@g.us", "text": "hi"})
    assert group.json()["data"]["Info"]["IsGroup"] is True


def test_media_by_url_only_with_mime_rules(inst: Instance) -> None:
    inst.paired()
    data_uri = "data:image/png;base64,iVBORw0KGgo="
    assert (
        error(inst.send("media", {"url": data_uri, "type": "image"}), 500)
        == f'Get "{data_uri}": unsupported protocol scheme "data"'
    )
    assert "Only 'image/jpeg', 'image/png' and 'image/webp' are accepted" in error(
        inst.send("media", {"url": "https://x/a.gif", "type": "image"}), 500
    )
    assert (
        error(inst.send("media", {"url": "https://x/a.mov", "type": "video"}), 500)
        == "Invalid file format: 'video/quicktime'. Only 'video/mp4' are accepted"
    )
    assert error(inst.send("media", {"url": "https://x/a", "type": "gif"}), 500) == "invalid media type"
    assert error(inst.send("sticker", {"sticker": "/9j/4AAQ"}), 500) == "invalid sticker URL"


def test_media_shapes(inst: Instance) -> None:
    inst.paired()
    image = inst.send("media", {"url": "https://x/a.webp", "type": "image", "caption": "c"})
    part = image.json()["data"]["Message"]["imageMessage"]
    assert (part["mimetype"], part["caption"]) == ("image/jpeg", "c")  # webp relabelled
    assert part["URL"].startswith("https://mmg.whatsapp.net/") and "fileSHA256" in part
    audio = inst.send("media", {"url": "https://x/a.mp3", "type": "audio"}).json()["data"]
    assert audio["Info"]["Type"] == "AudioMessage"
    assert audio["Message"]["audioMessage"]["PTT"] is True
    assert audio["Message"]["audioMessage"]["mimetype"] == "audio/ogg; codecs=opus"
    document = inst.send(
        "media", {"url": "https://x/n.pdf", "type": "document", "caption": "nota", "filename": "n.pdf"}
    ).json()["data"]
    wrapped = document["Message"]["documentWithCaptionMessage"]["message"]["documentMessage"]
    assert (wrapped["fileName"], wrapped["caption"], wrapped["mimetype"]) == (
        "n.pdf",
        "nota",
        "application/pdf",
    )
    sent = inst.wait("SendMessage", count=3)
    assert all(h["data"]["Message"].get("base64") for h in sent)


def test_buttons_lists_and_reactions(inst: Instance) -> None:
    inst.paired()
    button = inst.send(
        "button",
        {
            "title": "Pedido",
            "description": "Confirma?",
            "footer": "Loja",
            "buttons": [{"type": "reply", "displayText": "Sim", "id": "yes"}],
        },
    )
    data = button.json()["data"]
    assert data["Info"]["Type"] == "ButtonMessage"
    flow = data["Message"]["viewOnceMessage"]["message"]["interactiveMessage"]
    assert flow["body"]["text"] == "*Pedido*\n\nConfirma?\n"
    assert flow["nativeFlowMessage"]["buttons"][0]["name"] == "quick_reply"
    listed = inst.send(
        "list",
        {
            "title": "t",
            "description": "d",
            "footerText": "f",
            "buttonText": "Ver",
            "sections": [{"title": "S", "rows": [{"title": "R", "rowId": "r1"}]}],
        },
    )
    assert listed.json()["data"]["Info"]["Type"] == "ListMessage"
    target = listed.json()["data"]["Info"]["ID"]
    react = inst.call("POST", "/message/react", {"number": TO, "reaction": "👍", "id": target})
    assert react.json()["data"]["Info"]["ID"] == target
    assert react.json()["data"]["Info"]["Type"] == "ReactionMessage"
    inst.wait("Receipt", count=4)
    assert "SendMessage" not in inst.events()
    receipts = {h["data"]["MessageIDs"][0] for h in inst.hooks() if h["event"] == "Receipt"}
    assert receipts == {data["Info"]["ID"], target}


@pytest.mark.parametrize(
    ("buttons", "text"),
    [
        (
            [{"type": "reply", "displayText": str(i), "id": str(i)} for i in range(4)],
            "máximo de 3 botões do tipo 'reply' permitidos",
        ),
        (
            [
                {"type": "reply", "displayText": "a", "id": "a"},
                {"type": "url", "displayText": "b", "url": "https://x"},
            ],
            "botões do tipo 'reply' não podem ser misturados com outros tipos",
        ),
    ],
)
def test_button_rules(inst: Instance, buttons: list[dict[str, str]], text: str) -> None:
    inst.paired()
    response = inst.send("button", {"title": "t", "description": "d", "footer": "f", "buttons": buttons})
    assert error(response, 500) == text


def test_presence_and_markread_answer_the_zero_time(inst: Instance) -> None:
    inst.paired()
    zero = {"data": {"timestamp": "0001-01-01 00:00:00 +0000 UTC"}, "message": "success"}
    presence = inst.call("POST", "/message/presence", {"number": TO, "state": "composing", "isAudio": True})
    assert presence.json() == zero
    read = inst.call("POST", "/message/markread", {"number": TO, "id": ["3A1"]})
    assert read.json() == zero
    assert error(inst.call("POST", "/message/presence", {"number": TO}), 400) == "state is required"


@pytest.mark.parametrize(
    ("switch", "states"),
    [
        ({"dropRead": True}, ["Delivered"]),
        ({"skipDelivered": True}, ["Read"]),
        ({"reorder": True}, ["Read", "Delivered"]),
        ({"duplicates": True}, ["Delivered", "Delivered", "Read", "Read"]),
    ],
)
def test_receipt_switches(sim: SimThread, inst: Instance, switch: dict[str, bool], states: list[str]) -> None:
    sim.control("POST", "/_sim/config", switch)
    inst.paired()
    inst.send("text", {"text": "hi"})
    inst.wait("Receipt", count=len(states))
    # A marker sent after them: once it is in, anything dropped would have arrived already.
    inst.sim.control("POST", "/_sim/inbound", {"instance": inst.name, "from": TO, "text": "m"})
    inst.wait("Message")
    assert [h["state"] for h in inst.hooks() if h["event"] == "Receipt"] == states


def test_failed_webhooks_are_retried(go: httpx.Client, sim: SimThread) -> None:
    failures = {"left": 2}

    def respond(_: ReceivedWebhook) -> tuple[int, dict[str, str], bytes]:
        if failures["left"]:
            failures["left"] -= 1
            return 500, {}, b"down"
        return 200, {}, b"ok"

    with WebhookReceiver(respond=respond) as flaky:
        inst = Instance(go, flaky, sim)
        inst.connect(["QRCODE"], url=flaky.url)
        flaky.wait_for(lambda items: len(items) >= 3)
        bodies = [w.body for w in flaky.snapshot()[:3]]
        assert bodies[0] == bodies[1] == bodies[2]  # the same QRCode, posted again
        logged = sim.control("GET", "/_sim/callbacks")
        assert logged[0]["status"] == 200 and logged[0]["attempt"] == 3


# -- inbound --------------------------------------------------------------------------------


def inject(inst: Instance, **spec: Any) -> dict[str, Any]:
    answer = inst.sim.control(
        "POST", "/_sim/inbound", {"instance": inst.name, "from": TO, "name": "Maria", **spec}
    )

    def arrived() -> list[dict[str, Any]]:
        return [
            h for h in inst.hooks() if h["event"] == "Message" and h["data"]["Info"]["ID"] == answer["id"]
        ]

    inst.receiver.wait_for(lambda _: bool(arrived()), timeout=5)
    return arrived()[0]["data"]


def test_inbound_text_and_reply(inst: Instance) -> None:
    inst.paired()
    data = inject(inst, text="Cadê meu pedido?")
    info = data["Info"]
    assert (info["Chat"], info["Sender"], info["IsFromMe"], info["PushName"]) == (
        f"{TO}@s.whatsapp.net",
        f"{TO}@s.whatsapp.net",
        False,
        "Maria",
    )
    assert info["AddressingMode"] == "pn" and info["SenderAlt"].endswith("@lid")
    assert RFC3339.match(info["Timestamp"]) and "." not in info["Timestamp"]
    assert data["Message"] == {"conversation": "Cadê meu pedido?"}
    reply = inject(inst, text="sim", replyTo="3EB0AAAA")
    assert reply["Message"]["extendedTextMessage"]["contextInfo"]["stanzaID"] == "3EB0AAAA"
    assert reply["quoted"]["stanzaID"] == "3EB0AAAA" and reply["isQuoted"] is True


def test_inbound_group_and_lid(inst: Instance) -> None:
    inst.paired()
    data = inject(inst, text="oi", group="120363025246125888@g.us", groupName="VIP", lid=True)
    info = data["Info"]
    assert (info["Chat"], info["IsGroup"], info["Sender"]) == (
        "120363025246125888@g.us",
        True,
        f"{TO}@s.whatsapp.net",
    )
    assert info["AddressingMode"] == "lid" and info["SenderAlt"].endswith("@lid")
    assert data["groupData"]["Name"] == "VIP"


def test_inbound_interactive_and_media(inst: Instance) -> None:
    inst.paired()
    button = inject(inst, type="buttonReply", buttonId="yes", text="Sim")
    assert button["Message"]["buttonsResponseMessage"]["selectedButtonID"] == "yes"
    row = inject(inst, type="listReply", rowId="r1")
    assert row["Message"]["listResponseMessage"]["singleSelectReply"] == {"selectedRowID": "r1"}
    reaction = inject(inst, type="reaction", emoji="❤️", reactTo="3EB0MINE")
    assert reaction["Message"]["reactionMessage"]["key"]["ID"] == "3EB0MINE"
    assert reaction["Info"]["Type"] == "reaction"
    image = inject(inst, type="image", media={"caption": "foto"})
    assert image["Message"]["imageMessage"]["caption"] == "foto"
    assert image["Message"]["base64"] and image["Info"]["MediaType"] == "image"
    linked = inject(inst, type="document", media={"url": "https://minio/x.pdf", "fileName": "x.pdf"})
    assert linked["Message"]["mediaUrl"] == "https://minio/x.pdf"
    assert linked["Message"]["documentMessage"]["fileName"] == "x.pdf"
    voice = inject(inst, type="audio")
    assert voice["Message"]["audioMessage"]["PTT"] is True


def test_inbound_needs_a_connected_instance(inst: Instance) -> None:
    response = httpx.post(
        inst.sim.url + "/_sim/inbound", json={"instance": inst.name, "from": TO, "text": "oi"}
    )
    assert response.status_code == 409


# -- connection changes ---------------------------------------------------------------------


def test_logged_out_from_the_phone(inst: Instance) -> None:
    inst.paired()
    inst.sim.control("POST", f"/_sim/instances/{inst.name}/disconnect", {"event": "LoggedOut"})
    data = inst.wait("LoggedOut")[0]["data"]
    assert data == {"OnConnect": False, "Reason": 401, "reason": "logged out from another device"}
    assert error(inst.call("GET", "/instance/status"), 400) == "no active session found"


def test_ban_and_disconnect_stop_sends(inst: Instance) -> None:
    inst.paired()
    inst.sim.control(
        "POST", f"/_sim/instances/{inst.name}/disconnect", {"event": "TemporaryBan", "reason": "spam"}
    )
    assert inst.wait("TemporaryBan")[0]["data"]["reason"] == "spam"
    assert error(inst.send("text", {"text": "hi"}), 500) == "client disconnected"
    assert error(inst.call("GET", "/instance/status"), 400) == "client disconnected"


def test_disconnected_then_auto_reconnect(inst: Instance) -> None:
    inst.paired()
    inst.wait("Connected")
    inst.sim.control(
        "POST", f"/_sim/instances/{inst.name}/disconnect", {"event": "Disconnected", "reconnectAfterMs": 30}
    )
    inst.wait("Connected", count=2)
    assert inst.events()[-2:] == ["Disconnected", "Connected"]
    assert inst.send("text", {"text": "back"}).status_code == 200


def test_connect_failure(inst: Instance) -> None:
    inst.paired()
    inst.sim.control(
        "POST", f"/_sim/instances/{inst.name}/disconnect", {"event": "ConnectFailure", "code": 403}
    )
    assert inst.wait("ConnectFailure")[0]["data"]["Reason"] == 403


def test_api_disconnect_and_logout(go: httpx.Client, inst: Instance) -> None:
    inst.paired()
    inst.wait("Connected")
    assert inst.call("POST", "/instance/disconnect").json() == {"message": "success"}
    inst.wait("Connected", count=2)  # the client loop starts again with the session
    assert inst.wait("LoggedOut")[0]["data"] == {"reason": "Logged out"}
    row = go.get(f"/instance/info/{inst.id}", headers={"apikey": KEY}).json()["data"]
    assert row["events"] == ""
    assert inst.call("DELETE", "/instance/logout").json() == {"message": "success"}
    inst.wait("LoggedOut", count=2)
    assert error(inst.call("GET", "/instance/status"), 400) == "no active session found"


def test_delete(go: httpx.Client, inst: Instance) -> None:
    admin = {"apikey": KEY}
    assert go.delete(f"/instance/delete/{inst.id}", headers=admin).json() == {"message": "success"}
    assert error(go.get(f"/instance/info/{inst.id}", headers=admin), 500) == "record not found"
    assert inst.call("GET", "/instance/status").status_code == 401


# -- faults and control ---------------------------------------------------------------------


def test_error_fault_returns_any_go_error(sim: SimThread, inst: Instance) -> None:
    inst.paired()
    sim.control(
        "POST",
        "/_sim/faults",
        {
            "kind": "error",
            "path": "/send/text",
            "to": TO,
            "status": 500,
            "body": {"error": "client disconnected"},
        },
    )
    assert error(inst.send("text", {"text": "hi"}), 500) == "client disconnected"
    assert inst.send("text", {"text": "hi"}).status_code == 200
    sim.control("POST", "/_sim/faults", {"kind": "http", "path": "/send/text", "status": 502})
    assert inst.send("text", {"text": "hi"}).status_code == 502


def test_control_lists(sim: SimThread, inst: Instance) -> None:
    inst.paired()
    sent = inst.send("text", {"text": "hi"}).json()["data"]["Info"]["ID"]
    messages = sim.control("GET", "/_sim/messages")
    assert [(m["direction"], m["id"], m["to"]) for m in messages] == [("out", sent, TO)]
    [described] = sim.control("GET", "/_sim/instances")
    assert (described["name"], described["loggedIn"], described["connected"]) == (inst.name, True, True)
    assert OWN_JID.match(described["jid"])
