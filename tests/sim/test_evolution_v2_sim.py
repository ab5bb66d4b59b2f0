"""The Evolution API v2 simulator against providers.md section B (B.9 checklist), over loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from zapgate.sim.common import SimThread
from zapgate.sim.evolution_v2 import create_app, is_base64, jid_for
from zapgate.testing import ReceivedWebhook, WebhookReceiver

KEY = "sim-evolution-key"
DEST = "5511988887777"
EVENTS = ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE"]
PNG_B64 = base64.b64encode(b"\x89PNG fake bytes!").decode()


@pytest.fixture(scope="module")
def running_sim(receiver: WebhookReceiver) -> Iterator[SimThread]:
    app = create_app(
        global_webhook_url=receiver.url + "/global",
        server_url="http://sim.local",
        config={"statusDelayMs": 10, "callbackRetrySeconds": 0.05},
    )
    with SimThread(app) as thread:
        yield thread


@pytest.fixture
def api(sim: SimThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, headers={"apikey": KEY}, timeout=10) as client:
        yield client


def create(
    api: httpx.Client, receiver: WebhookReceiver, name: str = "shop-1", **overrides: Any
) -> dict[str, Any]:
    body = {
        "instanceName": name,
        "integration": "WHATSAPP-BAILEYS",
        "qrcode": True,
        "number": "5511900001111",
        "webhook": {
            "url": receiver.url + "/inst",
            "byEvents": False,
            "base64": True,
            "headers": {"x-zapgate-secret": "s3cr3t"},
            "events": EVENTS,
        },
        **overrides,
    }
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/instance/create", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def paired(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver, name: str = "shop-1", **overrides: Any
) -> dict[str, Any]:
    created = create(api, receiver, name, **overrides)
    sim.control("POST", f"/_sim/instances/{name}/pair", {"profileName": "Loja 1"})
    return created


def events(receiver: WebhookReceiver, path: str = "/hook/inst") -> list[dict[str, Any]]:
    return [r.json() for r in receiver.snapshot() if r.path == path]


def wait_events(
    receiver: WebhookReceiver, predicate: Callable[[list[dict[str, Any]]], bool], path: str = "/hook/inst"
) -> list[dict[str, Any]]:
    def check(items: list[ReceivedWebhook]) -> bool:
        return predicate([r.json() for r in items if r.path == path])

    receiver.wait_for(check, timeout=5)
    return events(receiver, path)


def statuses_of(items: list[dict[str, Any]], key_id: str) -> list[str]:
    return [
        e["data"]["status"] for e in items if e["event"] == "messages.update" and e["data"]["keyId"] == key_id
    ]


def send_text(api: httpx.Client, number: str = DEST, **extra: Any) -> httpx.Response:
    return api.post("/message/sendText/shop-1", json={"number": number, "text": "Olá", **extra})


def wait_statuses(sim: SimThread, receiver: WebhookReceiver, key_id: str, count: int) -> list[str]:
    """The message's receipts once ``count`` arrived, checked against every receipt the
    simulator scheduled for it: when all of those arrived, nothing more can come."""
    items = wait_events(receiver, lambda es: len(statuses_of(es, key_id)) >= count)
    [record] = [m for m in sim.control("GET", "/_sim/messages") if m["id"] == key_id]
    received = statuses_of(items, key_id)
    assert received == record["statuses"]
    return received


# -- auth and envelopes ----------------------------------------------------------------------


def test_unknown_instance_is_404_even_with_a_bad_key(api: httpx.Client) -> None:
    response = api.get("/instance/connectionState/nope", headers={"apikey": "wrong"})
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "error": "Not Found",
        "response": {"message": ['The "nope" instance does not exist']},
    }


def test_bad_key_on_a_known_instance_is_401_with_a_string_message(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    create(api, receiver)
    response = api.get("/instance/connectionState/shop-1", headers={"apikey": "wrong"})
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "error": "Unauthorized",
        "response": {"message": "Unauthorized"},
    }


def test_instance_token_works_only_on_its_own_instance(api: httpx.Client, receiver: WebhookReceiver) -> None:
    token = create(api, receiver, "shop-1")["hash"]
    create(api, receiver, "shop-2")
    own = api.get("/instance/connectionState/shop-1", headers={"apikey": token})
    other = api.get("/instance/connectionState/shop-2", headers={"apikey": token})
    assert own.status_code == 200 and own.json() == {
        "instance": {"instanceName": "shop-1", "state": "connecting"}
    }
    assert other.status_code == 401
    as_creator = api.post(
        "/instance/create",
        headers={"apikey": token},
        json={"instanceName": "shop-3", "integration": "WHATSAPP-BAILEYS"},
    )
    assert as_creator.status_code == 401


def test_unknown_route_is_express_404(api: httpx.Client) -> None:
    response = api.post("/message/sendFoo/shop-1", json={})
    assert response.status_code == 404
    assert response.json()["response"]["message"] == ["Cannot POST /message/sendFoo/shop-1"]
    assert api.get("/nothing/here").json()["response"]["message"] == ["Cannot GET /nothing/here"]


# -- instances -------------------------------------------------------------------------------


def test_create_returns_the_instance_token_qr_and_pairing_code(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    body = create(api, receiver)
    assert body["instance"]["instanceName"] == "shop-1"
    assert body["instance"]["status"] == "connecting"
    assert body["instance"]["integration"] == "WHATSAPP-BAILEYS"
    assert re.fullmatch(r"[0-9A-F-]{36}", body["hash"])
    assert body["webhook"] == {
        "webhookUrl": receiver.url + "/inst",
        "webhookHeaders": {"x-zapgate-secret": "s3cr3t"},
        "webhookByEvents": False,
        "webhookBase64": True,
    }
    qr = body["qrcode"]
    assert qr["count"] == 1 and qr["code"].startswith("2@")
    assert qr["base64"].startswith("data:image/png;base64,")
    assert base64.b64decode(qr["base64"].split(",", 1)[1]).startswith(b"\x89PNG")
    assert re.fullmatch(r"[0-9A-Z]{8}", qr["pairingCode"])


def test_create_without_qrcode_stays_closed_and_has_no_qr(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    body = create(api, receiver, qrcode=False, number=None)
    assert body["instance"]["status"] == "close"
    assert "qrcode" not in body


def test_create_rejections(api: httpx.Client, receiver: WebhookReceiver) -> None:
    create(api, receiver)
    taken = api.post(
        "/instance/create",
        headers={"apikey": "wrong"},
        json={"instanceName": "shop-1", "integration": "WHATSAPP-BAILEYS"},
    )
    assert taken.status_code == 403
    assert taken.json()["response"]["message"] == ['This name "shop-1" is already in use.']
    no_integration = api.post("/instance/create", json={"instanceName": "x"})
    assert no_integration.status_code == 400
    assert no_integration.json()["response"]["message"] == ["Invalid integration"]
    no_name = api.post("/instance/create", json={"integration": "WHATSAPP-BAILEYS"})
    assert no_name.json()["response"]["message"] == ['instance requires property "instanceName"']


def test_connect_pair_and_connection_updates(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver
) -> None:
    create(api, receiver)
    qr = api.get("/instance/connect/shop-1").json()
    assert set(qr) == {"pairingCode", "code", "base64", "count"}
    sim.control("POST", "/_sim/instances/shop-1/pair", {"number": "5511900001111", "profileName": "Loja 1"})
    assert api.get("/instance/connectionState/shop-1").json()["instance"]["state"] == "open"
    assert api.get("/instance/connect/shop-1").json() == {
        "instance": {"instanceName": "shop-1", "state": "open"}
    }
    items = wait_events(receiver, lambda es: any(e["data"].get("state") == "open" for e in es))
    kinds = [(e["event"], e["data"].get("state")) for e in items]
    assert kinds[:3] == [
        ("connection.update", "connecting"),
        ("qrcode.updated", None),
        ("connection.update", "open"),
    ]
    opened = items[2]
    assert opened["data"] == {
        "instance": "shop-1",
        "wuid": "5511900001111@s.whatsapp.net",
        "profileName": "Loja 1",
        "profilePictureUrl": None,
        "state": "open",
        "statusReason": 200,
    }
    assert opened["sender"] == "5511900001111@s.whatsapp.net"
    assert "sender" not in items[0]  # before the first login


def test_qr_refresh_and_limit(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    sim.control("POST", "/_sim/config", {"qrcodeLimit": 2})
    first = create(api, receiver)["qrcode"]["code"]
    sim.control("POST", "/_sim/instances/shop-1/qr")
    sim.control("POST", "/_sim/instances/shop-1/qr")
    items = wait_events(receiver, lambda es: any(e["data"].get("state") == "refused" for e in es))
    qrs = [e["data"] for e in items if e["event"] == "qrcode.updated"]
    assert qrs[0]["qrcode"]["code"] == first and qrs[1]["qrcode"]["code"] != first
    assert qrs[-1] == {"message": "QR code limit reached, please login again", "statusCode": 500}
    assert items[-1]["data"]["statusReason"] == 428
    assert api.get("/instance/connectionState/shop-1").json()["instance"]["state"] == "refused"


def test_disconnect_logout_and_delete(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    paired(api, sim, receiver)
    sim.control("POST", "/_sim/instances/shop-1/disconnect", {"reason": 401})
    items = wait_events(receiver, lambda es: any(e["data"].get("state") == "close" for e in es))
    assert items[-1]["data"] == {"instance": "shop-1", "state": "close", "statusReason": 401}
    # Every event goes to the global webhook, subscribed or not.
    wait_events(receiver, lambda es: any(e["event"] == "logout.instance" for e in es), path="/hook/global")
    again = api.delete("/instance/logout/shop-1")
    assert again.status_code == 400
    assert again.json()["response"]["message"] == ['The "shop-1" instance is not connected']
    sim.control("POST", "/_sim/instances/shop-1/pair")
    out = api.delete("/instance/logout/shop-1")
    assert out.json() == {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}}
    gone = api.delete("/instance/delete/shop-1")
    assert gone.json()["response"]["message"] == "Instance deleted"
    assert api.get("/instance/connectionState/shop-1").status_code == 404
    wait_events(
        receiver,
        lambda es: [e["event"] for e in es][-2:] == ["instance.delete", "remove.instance"],
        path="/hook/global",
    )


def test_webhook_set_and_find(api: httpx.Client, receiver: WebhookReceiver) -> None:
    create(api, receiver)
    bad = api.post("/webhook/set/shop-1", json={"webhook": {"url": "", "events": ["NOPE"]}})
    assert bad.status_code == 400
    messages = bad.json()["response"]["message"]
    assert 'webhook requires property "enabled"' in messages
    assert 'The "url" cannot be empty' in messages
    assert any(m.startswith("webhook.events[0] is not one of enum values") for m in messages)
    done = api.post(
        "/webhook/set/shop-1",
        json={"webhook": {"enabled": False, "url": "http://x/y", "events": ["MESSAGES_UPSERT"]}},
    )
    assert done.status_code == 201
    row = done.json()
    assert row["enabled"] is False and row["events"] == []  # disabled forces no events
    assert api.get("/webhook/find/shop-1").json() == row


# -- webhook transport -------------------------------------------------------------------------


def test_envelope_headers_and_subscription_filter(api: httpx.Client, receiver: WebhookReceiver) -> None:
    token = create(api, receiver, name="envelope-1")["hash"]

    def mine(r: ReceivedWebhook) -> bool:
        # A late callback of an earlier test may still arrive: look only at this instance's.
        return r.path == "/hook/inst" and r.json().get("instance") == "envelope-1"

    received = receiver.wait_for(lambda rs: sum(mine(r) for r in rs) >= 2)
    first = next(r for r in received if mine(r))
    assert first.headers["x-zapgate-secret"] == "s3cr3t"
    assert first.headers["content-type"] == "application/json"
    body = first.json()
    assert set(body) == {"event", "instance", "data", "destination", "date_time", "server_url", "apikey"}
    assert body["destination"] == receiver.url + "/inst"
    assert body["server_url"] == "http://sim.local" and body["apikey"] == token
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["date_time"])
    # instance.create is not among the subscribed events, but the global URL gets it.
    assert "instance.create" not in [e["event"] for e in events(receiver)]
    wait_events(receiver, lambda es: "instance.create" in [e["event"] for e in es], path="/hook/global")


def test_by_events_suffix_and_jwt_header(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver
) -> None:
    create(
        api,
        receiver,
        webhook={
            "url": receiver.url + "/by",
            "byEvents": True,
            "headers": {"jwt_key": "k3y", "x-a": "1"},
            "events": [],
        },
    )
    got = receiver.wait_for(lambda rs: any(r.path == "/hook/by/qrcode-updated" for r in rs))
    paths = {r.path for r in got}
    assert {"/hook/by/instance-create", "/hook/by/connection-update"} <= paths
    hit = next(r for r in got if r.path == "/hook/by/qrcode-updated")
    assert "jwt_key" not in hit.headers and hit.headers["x-a"] == "1"
    head, claims, signature = hit.headers["authorization"].removeprefix("Bearer ").split(".")
    expected = hmac.new(b"k3y", f"{head}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert payload["exp"] - payload["iat"] == 600 and payload["app"] == "evolution"


def test_failed_callbacks_are_retried(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    seen: list[str] = []

    def flaky(item: ReceivedWebhook) -> tuple[int, dict[str, str], bytes]:
        seen.append(item.path)
        return (
            (500, {}, b"no") if seen.count(item.path) == 1 and item.path == "/hook/inst" else (200, {}, b"ok")
        )

    receiver.respond = flaky
    create(api, receiver, webhook={"url": receiver.url + "/inst", "events": ["QRCODE_UPDATED"]})
    receiver.wait_for(lambda rs: sum(r.path == "/hook/inst" for r in rs) >= 2)
    first, second = [r.json() for r in receiver.snapshot() if r.path == "/hook/inst"][:2]
    assert first == second and first["event"] == "qrcode.updated"


# -- sending ---------------------------------------------------------------------------------


def test_send_text_answers_pending_and_emits_send_message_then_receipts(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver
) -> None:
    created = paired(api, sim, receiver)
    before = int(time.time())
    response = send_text(api, headers={"apikey": created["hash"]})
    assert response.status_code == 201
    sent = response.json()
    key_id = sent["key"]["id"]
    assert re.fullmatch(r"3EB0[0-9A-F]{16}", key_id)
    assert sent["key"] == {"remoteJid": DEST + "@s.whatsapp.net", "fromMe": True, "id": key_id}
    assert sent["status"] == "PENDING" and sent["pushName"] == "Você"
    assert sent["message"] == {"conversation": "Olá"} and sent["messageType"] == "conversation"
    assert before <= sent["messageTimestamp"] <= time.time() + 1
    assert sent["instanceId"] == created["instance"]["instanceId"]
    assert wait_statuses(sim, receiver, key_id, 3) == ["SERVER_ACK", "DELIVERY_ACK", "READ"]
    items = events(receiver)
    echo = next(e for e in items if e["event"] == "send.message")
    assert echo["data"] == sent
    assert items.index(echo) < min(i for i, e in enumerate(items) if e["event"] == "messages.update")
    update = next(e["data"] for e in items if e["event"] == "messages.update")
    assert update == {
        "keyId": key_id,
        "remoteJid": DEST + "@s.whatsapp.net",
        "fromMe": True,
        "status": "SERVER_ACK",
        "instanceId": sent["instanceId"],
    }
    record = sim.control("GET", "/_sim/messages")[0]
    assert record["endpoint"] == "sendText" and record["body"]["text"] == "Olá"
    assert record["statuses"] == ["SERVER_ACK", "DELIVERY_ACK", "READ"]


def test_send_on_an_instance_that_is_not_open_is_connection_closed(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    create(api, receiver)
    response = send_text(api)
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "error": "Internal Server Error",
        "response": {"message": "Connection Closed"},
    }


def test_recipient_not_on_whatsapp(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    paired(api, sim, receiver)
    sim.control("POST", "/_sim/config", {"unknownRecipients": [DEST]})
    response = send_text(api, number="+" + DEST)
    assert response.status_code == 400
    assert response.json()["response"]["message"] == [
        {"jid": DEST + "@s.whatsapp.net", "exists": False, "number": "+" + DEST}
    ]


@pytest.mark.parametrize(
    ("op", "body", "message"),
    [
        ("sendText", {"number": DEST}, 'instance requires property "text"'),
        ("sendText", {"number": 5511, "text": "x"}, "Invalid format"),
        ("sendText", {"number": DEST, "text": "  "}, "Text is required"),
        ("sendText", {"number": DEST, "text": "x", "delay": "1"}, "Enter a value in milliseconds"),
        (
            "sendMedia",
            {"number": DEST, "mediatype": "image", "media": "data:image/png;base64," + PNG_B64},
            "Owned media must be a url or base64",
        ),
        (
            "sendMedia",
            {"number": DEST, "mediatype": "document", "media": PNG_B64},
            "For base64 the file name must be informed.",
        ),
        (
            "sendMedia",
            {"number": DEST, "mediatype": "gif", "media": PNG_B64},
            "mediatype is not one of enum values: image,document,video,audio",
        ),
        (
            "sendWhatsAppAudio",
            {"number": DEST, "audio": "not base64!"},
            "Owned media must be a url or base64",
        ),
        ("sendButtons", {"number": DEST, "buttons": []}, "At least one button is required"),
        (
            "sendButtons",
            {
                "number": DEST,
                "buttons": [
                    {"type": "reply", "displayText": "a", "id": "a"},
                    {"type": "url", "displayText": "b", "url": "https://x"},
                ],
            },
            "Reply buttons cannot be mixed with other button types",
        ),
        (
            "sendButtons",
            {
                "number": DEST,
                "buttons": [{"type": "reply", "displayText": str(i), "id": str(i)} for i in range(4)],
            },
            "Maximum of 3 reply buttons allowed",
        ),
        (
            "sendButtons",
            {"number": DEST, "buttons": [{"type": "reply", "id": ""}]},
            'The "id" cannot be empty',
        ),
        (
            "sendList",
            {
                "number": DEST,
                "title": "",
                "buttonText": "b",
                "sections": [{"title": "s", "rows": [{"title": "r", "rowId": "1"}]}],
            },
            'instance requires property "footerText"',
        ),
        (
            "sendList",
            {
                "number": DEST,
                "title": "",
                "footerText": "",
                "buttonText": "b",
                "sections": [{"title": "s", "rows": [{"title": "r", "rowId": "1", "description": ""}]}],
            },
            'The "description" cannot be empty',
        ),
        (
            "sendReaction",
            {"key": {"id": "X", "remoteJid": DEST + "@s.whatsapp.net", "fromMe": True}, "reaction": "ok"},
            "Reaction must be a single emoji or empty string",
        ),
        (
            "sendReaction",
            {"key": {"id": "X", "fromMe": True}, "reaction": "👍"},
            'key requires property "remoteJid"',
        ),
        (
            "sendLocation",
            {"number": DEST, "latitude": 1, "longitude": 2, "name": "n"},
            'instance requires property "address"',
        ),
    ],
)
def test_validation_messages(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver, op: str, body: dict[str, Any], message: str
) -> None:
    paired(api, sim, receiver)
    response = api.post(f"/message/{op}/shop-1", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request"
    assert message in response.json()["response"]["message"]


def test_send_media_url_and_raw_base64(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    paired(api, sim, receiver)
    by_url = api.post(
        "/message/sendMedia/shop-1",
        json={"number": DEST, "mediatype": "image", "media": "https://x.test/a.png", "caption": "c"},
    )
    assert by_url.status_code == 201
    image = by_url.json()["message"]["imageMessage"]
    assert image["mimetype"] == "image/jpeg" and image["caption"] == "c"
    assert by_url.json()["messageType"] == "imageMessage"
    doc = api.post(
        "/message/sendMedia/shop-1",
        json={
            "number": DEST,
            "mediatype": "document",
            "media": PNG_B64,
            "fileName": "a.pdf",
            "mimetype": "application/pdf",
            "caption": "doc",
        },
    ).json()
    assert doc["messageType"] == "documentMessage"  # documentWithCaption is flattened
    assert doc["message"]["documentMessage"]["fileName"] == "a.pdf"
    assert doc["message"]["base64"] == PNG_B64  # webhook base64 is on


def test_voice_note_waits_for_delay_and_gets_played(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver
) -> None:
    paired(api, sim, receiver)
    started = time.monotonic()
    response = api.post(
        "/message/sendWhatsAppAudio/shop-1",
        json={"number": DEST, "audio": "https://x.test/a.ogg", "delay": 200},
    )
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 201
    audio = response.json()["message"]["audioMessage"]
    assert audio["ptt"] is True and audio["mimetype"] == "audio/ogg; codecs=opus"
    key_id = response.json()["key"]["id"]
    assert wait_statuses(sim, receiver, key_id, 4) == ["SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED"]


def test_buttons_list_reaction_location_shapes(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver
) -> None:
    paired(api, sim, receiver)
    buttons = api.post(
        "/message/sendButtons/shop-1",
        json={
            "number": DEST,
            "title": "T",
            "description": "D",
            "footer": "F",
            "buttons": [{"type": "reply", "displayText": "Yes", "id": "yes"}],
        },
    ).json()
    interactive = buttons["message"]["viewOnceMessage"]["message"]["interactiveMessage"]
    assert interactive["body"]["text"] == "*T*\n\nD\n"
    flow = interactive["nativeFlowMessage"]["buttons"][0]
    assert flow["name"] == "quick_reply"
    assert json.loads(flow["buttonParamsJson"]) == {"display_text": "Yes", "id": "yes"}
    listed = api.post(
        "/message/sendList/shop-1",
        json={
            "number": DEST,
            "title": "",
            "description": "Choose",
            "footerText": "",
            "buttonText": "Open",
            "sections": [{"title": "S", "rows": [{"title": "R", "rowId": "r1"}]}],
        },
    )
    assert listed.status_code == 201 and listed.json()["messageType"] == "listMessage"
    reaction = api.post(
        "/message/sendReaction/shop-1",
        json={
            "key": {"id": buttons["key"]["id"], "remoteJid": DEST + "@s.whatsapp.net", "fromMe": True},
            "reaction": "👍",
        },
    )
    assert reaction.status_code == 201
    assert reaction.json()["message"]["reactionMessage"]["text"] == "👍"
    location = api.post(
        "/message/sendLocation/shop-1",
        json={"number": DEST, "latitude": -23.5, "longitude": -46.6, "name": "Loja", "address": "Rua 1"},
    )
    assert location.json()["message"]["locationMessage"]["degreesLatitude"] == -23.5


@pytest.mark.parametrize("jid", ["120363025246125486@g.us", "120363198765432101@newsletter"])
def test_groups_and_newsletters_skip_the_lookup(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver, jid: str
) -> None:
    paired(api, sim, receiver)
    sim.control("POST", "/_sim/config", {"unknownRecipients": [jid.split("@")[0]]})
    response = send_text(api, number=jid)
    assert response.status_code == 201
    assert response.json()["key"]["remoteJid"] == jid


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        ({"skipDelivered": True}, ["SERVER_ACK", "READ"]),
        ({"dropRead": True}, ["SERVER_ACK", "DELIVERY_ACK"]),
        ({"reorder": True}, ["READ", "DELIVERY_ACK", "SERVER_ACK"]),
        (
            {"duplicates": True, "dropRead": True},
            ["SERVER_ACK", "SERVER_ACK", "DELIVERY_ACK", "DELIVERY_ACK"],
        ),
        ({"errorRecipients": [DEST]}, ["ERROR"]),
    ],
)
def test_status_switches(
    api: httpx.Client,
    sim: SimThread,
    receiver: WebhookReceiver,
    switches: dict[str, Any],
    expected: list[str],
) -> None:
    paired(api, sim, receiver)
    sim.control("POST", "/_sim/config", switches)
    key_id = send_text(api).json()["key"]["id"]
    assert wait_statuses(sim, receiver, key_id, len(expected)) == expected


def test_mark_read_and_presence(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    paired(api, sim, receiver)
    read = api.post(
        "/chat/markMessageAsRead/shop-1",
        json={"readMessages": [{"remoteJid": DEST + "@s.whatsapp.net", "fromMe": False, "id": "3EB0AA"}]},
    )
    assert read.status_code == 201
    assert read.json() == {"message": "Read messages", "read": "success"}
    missing = api.post(
        "/chat/markMessageAsRead/shop-1",
        json={"readMessages": [{"remoteJid": DEST + "@s.whatsapp.net", "fromMe": False}]},
    )
    assert missing.json()["response"]["message"] == ['readMessages[0] requires property "id"']
    started = time.monotonic()
    presence = api.post(
        "/chat/sendPresence/shop-1", json={"number": DEST, "presence": "composing", "delay": 150}
    )
    assert time.monotonic() - started >= 0.15
    assert presence.status_code == 201 and presence.json() == {"presence": "composing"}
    incomplete = api.post("/chat/sendPresence/shop-1", json={"number": DEST, "delay": 1})
    assert incomplete.json()["response"]["message"] == ['instance requires property "presence"']


# -- inbound ---------------------------------------------------------------------------------


def inject(sim: SimThread, receiver: WebhookReceiver, **spec: Any) -> dict[str, Any]:
    key_id = sim.control("POST", "/_sim/inbound", {"instance": "shop-1", "from": DEST, **spec})["id"]
    items = wait_events(
        receiver,
        lambda es: any(e["event"] == "messages.upsert" and e["data"]["key"]["id"] == key_id for e in es),
    )
    return next(e for e in items if e["event"] == "messages.upsert" and e["data"]["key"]["id"] == key_id)


def test_inbound_text_reply(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    paired(api, sim, receiver)
    ours = send_text(api).json()["key"]["id"]
    event = inject(sim, receiver, name="Maria", text="Cadê?", replyTo=ours)
    data = event["data"]
    assert data["key"] == {"remoteJid": DEST + "@s.whatsapp.net", "fromMe": False, "id": data["key"]["id"]}
    assert data["pushName"] == "Maria" and data["status"] == "DELIVERY_ACK"
    assert data["message"]["conversation"] == "Cadê?" and data["messageType"] == "conversation"
    assert data["contextInfo"]["stanzaId"] == ours
    assert data["contextInfo"]["quotedMessage"] == {"conversation": "Olá"}
    assert isinstance(data["messageTimestamp"], int)


def test_inbound_group_and_lid_keys(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    paired(api, sim, receiver)
    group = inject(sim, receiver, group="120363025246125486@g.us", text="oi")["data"]["key"]
    assert group["remoteJid"] == "120363025246125486@g.us"
    assert group["participant"] == DEST + "@s.whatsapp.net"
    lid = inject(sim, receiver, lid=True, text="oi")["data"]["key"]
    assert lid["remoteJid"].endswith("@lid") and lid["addressingMode"] == "lid"
    assert lid["remoteJidAlt"] == DEST + "@s.whatsapp.net"


def test_inbound_media_and_replies(api: httpx.Client, sim: SimThread, receiver: WebhookReceiver) -> None:
    paired(api, sim, receiver)
    image = inject(sim, receiver, type="image", media={"caption": "foto", "base64": PNG_B64})
    assert image["data"]["messageType"] == "imageMessage"
    assert image["data"]["message"]["imageMessage"]["caption"] == "foto"
    assert image["data"]["message"]["base64"] == PNG_B64
    button = inject(sim, receiver, type="buttonReply", buttonId="yes", text="Yes")["data"]
    flow = button["message"]["interactiveResponseMessage"]["nativeFlowResponseMessage"]
    assert json.loads(flow["paramsJson"]) == {"id": "yes"}
    classic = inject(sim, receiver, type="buttonReply", buttonId="no", buttonStyle="classic")
    assert classic["data"]["message"]["buttonsResponseMessage"]["selectedButtonId"] == "no"
    row = inject(sim, receiver, type="listReply", rowId="r1", text="R1")["data"]["message"]
    assert row["listResponseMessage"]["singleSelectReply"] == {"selectedRowId": "r1"}
    reaction = inject(sim, receiver, type="reaction", emoji="❤️", reactTo="3EB0X")["data"]
    assert reaction["message"]["reactionMessage"]["key"]["id"] == "3EB0X"
    assert reaction["message"]["reactionMessage"]["text"] == "❤️"


# -- faults and helpers ----------------------------------------------------------------------


def test_error_fault_returns_any_envelope(
    api: httpx.Client, sim: SimThread, receiver: WebhookReceiver
) -> None:
    paired(api, sim, receiver)
    body = {"status": 400, "error": "Bad Request", "response": {"message": ["Error: boom"]}}
    sim.control(
        "POST",
        "/_sim/faults",
        {"kind": "error", "path": "/message/sendText", "to": DEST, "status": 400, "body": body},
    )
    sim.control("POST", "/_sim/faults", {"kind": "http", "path": "/instance/connect", "status": 503})
    faulted = send_text(api)
    assert faulted.status_code == 400 and faulted.json() == body
    assert api.get("/instance/connect/shop-1").status_code == 503
    assert send_text(api).status_code == 201  # used up


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PNG_B64, True),
        ("data:image/png;base64," + PNG_B64, False),
        ("abc", False),
        ("https://x/a.png", False),
        ("", False),
    ],
)
def test_is_base64(value: str, expected: bool) -> None:
    assert is_base64(value) is expected


@pytest.mark.parametrize(
    ("number", "jid"),
    [
        ("5511988887777", "5511988887777@s.whatsapp.net"),
        ("+55 (11) 988887777", "5511988887777@s.whatsapp.net"),
        ("120363025246125486", "120363025246125486@g.us"),
        ("X@newsletter", "x@newsletter"),
    ],
)
def test_jid_for(number: str, jid: str) -> None:
    assert jid_for(number) == jid


def test_unknown_config_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="nope"):
        create_app(config={"nope": 1})
