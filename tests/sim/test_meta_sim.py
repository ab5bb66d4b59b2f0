"""The Meta Cloud API simulator over real loopback HTTP: send shapes, Graph errors, status
webhooks and their switches, signatures, the 24 h window, templates, rate limits, faults, media,
inbound injection and the verify handshake."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from zapgate.sim.common import SimThread
from zapgate.sim.meta import DEFAULT_NUMBER, SimNumber, create_app
from zapgate.sim.meta.errors import GraphError
from zapgate.sim.meta.templates import Slot, Template, check_send
from zapgate.sim.meta.webhooks import wamid
from zapgate.testing import ReceivedWebhook, WebhookReceiver

SECRET = "test-app-secret"
PNID = DEFAULT_NUMBER.phone_number_id
WABA = DEFAULT_NUMBER.waba_id
TOKEN = DEFAULT_NUMBER.access_token
USER = "+5511988887777"
USER_DIGITS = "5511988887777"
FAST = {"statusDelayMs": 10, "callbackRetrySeconds": 0.05}


# -- fixtures --------------------------------------------------------------------------------


class Sim:
    """The simulator thread plus one kept-alive HTTP client (a new httpx client per control
    call costs ~30 ms)."""

    def __init__(self, thread: SimThread) -> None:
        self.thread = thread
        self.url = thread.url
        self.http = httpx.Client(base_url=thread.url, timeout=10)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    with SimThread(create_app(app_secret=SECRET, config=FAST)) as thread:
        handle = Sim(thread)
        yield handle
        handle.http.close()


@dataclass
class Hooks:
    """One test's view of the shared receiver: only the webhooks posted to its own path (a
    late callback of an earlier test cannot leak in)."""

    server: WebhookReceiver
    path: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{self.path}"

    @property
    def respond(self) -> Any:
        return self.server.respond

    @respond.setter
    def respond(self, value: Any) -> None:
        self.server.respond = value

    def snapshot(self) -> list[ReceivedWebhook]:
        return [h for h in self.server.snapshot() if h.path == self.path]

    def wait_for(
        self, predicate: Callable[[list[ReceivedWebhook]], bool], timeout: float = 5.0
    ) -> list[ReceivedWebhook]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            items = self.snapshot()
            if predicate(items):
                return items
            time.sleep(0.005)
        raise TimeoutError(f"condition not met; received {len(self.snapshot())} webhooks")


@pytest.fixture
def receiver(sim: Sim, receiver: WebhookReceiver, request: pytest.FixtureRequest) -> Iterator[Hooks]:
    """This test's own path on the module-wide ``receiver`` (the conftest's, overridden here)."""
    sim.control("POST", "/_sim/reset")
    hooks = Hooks(receiver, f"/hook/{re.sub(r'[^A-Za-z0-9_-]', '_', request.node.name)}")
    sim.control("POST", "/_sim/callback", {"url": hooks.url})
    yield hooks
    receiver.respond = None


@pytest.fixture(scope="module")
def http(sim: Sim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
        yield client


@pytest.fixture
def client(http: httpx.Client, receiver: Hooks) -> httpx.Client:
    return http


# -- helpers ---------------------------------------------------------------------------------


def message(kind: str, obj: Any, to: str = USER, **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: obj,
        **extra,
    }


def send(client: httpx.Client, body: Any, pnid: str = PNID) -> httpx.Response:
    return client.post(f"/v21.0/{pnid}/messages", json=body)


def open_window(sim: Sim, user: str = USER) -> None:
    sim.control("POST", "/_sim/windows", {"user": user})


def configure(sim: Sim, **switches: Any) -> None:
    sim.control("POST", "/_sim/config", switches)


def statuses(hooks: list[ReceivedWebhook], wamid_: str) -> list[dict[str, Any]]:
    found = []
    for hook in hooks:
        for entry in hook.json()["entry"]:
            for change in entry["changes"]:
                found += [s for s in change["value"].get("statuses", []) if s["id"] == wamid_]
    return found


def wait_statuses(receiver: Hooks, wamid_: str, count: int) -> list[dict[str, Any]]:
    hooks = receiver.wait_for(lambda items: len(statuses(items, wamid_)) >= count, timeout=5)
    return statuses(hooks, wamid_)


def eventually(sim: Sim, id_: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The ``/_sim/messages`` record of ``id_`` once ``predicate`` holds (callbacks finish
    after the receiver has seen them)."""
    deadline = time.time() + 5
    while True:
        record: dict[str, Any] = sim.control("GET", f"/_sim/messages?id={id_}")[0]
        if predicate(record) or time.time() > deadline:
            return record
        time.sleep(0.01)


def names(items: list[dict[str, Any]]) -> list[str]:
    return [s["status"] for s in items]


def assert_graph_error(response: httpx.Response, code: int, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] in ("OAuthException", "GraphMethodException")
    assert error["fbtrace_id"]
    assert set(error) <= {
        "message",
        "type",
        "code",
        "error_subcode",
        "error_data",
        "fbtrace_id",
        "is_transient",
        "error_user_title",
        "error_user_msg",
    }
    if "error_data" in error:
        assert error["error_data"]["messaging_product"] == "whatsapp"
        assert error["error_data"]["details"]
        assert error["message"].startswith(f"(#{code}) ")
    return error


def sent_id(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


# -- send shapes -----------------------------------------------------------------------------

BUTTONS = {
    "type": "button",
    "header": {"type": "text", "text": "Order #1"},
    "body": {"text": "Confirm?"},
    "footer": {"text": "Reply within 24h"},
    "action": {
        "buttons": [
            {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
            {"type": "reply", "reply": {"id": "no", "title": "No"}},
        ]
    },
}
LIST = {
    "type": "list",
    "header": {"type": "text", "text": "Shipping"},
    "body": {"text": "Choose"},
    "action": {
        "button": "Options",
        "sections": [
            {"title": "Fast", "rows": [{"id": "r1", "title": "R1", "description": "d"}]},
            {"title": "Cheap", "rows": [{"id": "r2", "title": "R2"}]},
        ],
    },
}
CTA = {
    "type": "cta_url",
    "body": {"text": "Open"},
    "action": {"name": "cta_url", "parameters": {"display_text": "Site", "url": "https://x.example/a"}},
}

SEND_CASES = {
    "text": ("text", {"body": "hi https://x.example", "preview_url": True}),
    "image": ("image", {"link": "https://x.example/a.jpg", "caption": "c"}),
    "video": ("video", {"link": "https://x.example/v.mp4", "caption": "clip"}),
    "audio": ("audio", {"link": "https://x.example/a.mp3"}),
    "voice": ("audio", {"link": "https://x.example/a.ogg", "voice": True}),
    "document": ("document", {"link": "https://x.example/a.pdf", "filename": "a.pdf", "caption": "doc"}),
    "sticker": ("sticker", {"link": "https://x.example/s.webp"}),
    "location": ("location", {"latitude": 1.5, "longitude": -2, "name": "HQ"}),
    "contacts": (
        "contacts",
        [
            {
                "name": {"formatted_name": "Ana B", "first_name": "Ana"},
                "phones": [{"phone": "+1 650 555 1234", "type": "WORK"}],
            }
        ],
    ),
    "buttons": ("interactive", BUTTONS),
    "list": ("interactive", LIST),
    "cta_url": ("interactive", CTA),
    "reaction": ("reaction", {"message_id": "wamid.X", "emoji": "\U0001f600"}),
}


@pytest.mark.parametrize("case", list(SEND_CASES))
def test_every_send_type_is_accepted_with_the_exact_response_shape(
    sim: Sim, client: httpx.Client, case: str
) -> None:
    open_window(sim)
    kind, obj = SEND_CASES[case]
    response = send(client, message(kind, obj, context={"message_id": "wamid.Q"}))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": USER, "wa_id": USER_DIGITS}],
        "messages": [{"id": body["messages"][0]["id"]}],
    }
    assert re.fullmatch(r"wamid\.[A-Za-z0-9+/=]+", body["messages"][0]["id"])
    assert response.headers["facebook-api-version"] == "v21.0"
    record = sim.control("GET", f"/_sim/messages?id={body['messages'][0]['id']}")[0]
    assert (record["type"], record["to"], record["request"][kind]) == (kind, USER, obj)


def test_input_is_echoed_verbatim_and_wa_id_can_differ(sim: Sim, client: httpx.Client) -> None:
    configure(sim, waIdOverrides={"5511988887777": "551188887777"}, enforceWindow=False)
    body = send(client, message("text", {"body": "x"}, to="+55 11 98888-7777")).json()
    assert body["contacts"] == [{"input": "+55 11 98888-7777", "wa_id": "551188887777"}]


def test_type_defaults_to_text_and_any_version_is_accepted(sim: Sim, client: httpx.Client) -> None:
    open_window(sim)
    body = {"messaging_product": "whatsapp", "to": USER, "text": {"body": "hi"}}
    assert client.post(f"/v23.0/{PNID}/messages", json=body).status_code == 200
    assert_graph_error(client.post(f"/latest/{PNID}/messages", json=body), 2500)


def test_wamid_carries_the_recipient_digits() -> None:
    raw = base64.b64decode(wamid("16505551234").removeprefix("wamid."))
    assert raw.startswith(b"\x1c\x18\x0b16505551234")
    assert wamid("1", inbound=True) != wamid("1", inbound=True)


# -- validation ------------------------------------------------------------------------------


def _long(n: int) -> str:
    return "x" * n


def _buttons(*titles: str) -> dict[str, Any]:
    return {
        **BUTTONS,
        "action": {
            "buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)]
        },
    }


def _rows(*counts: int, **row: Any) -> dict[str, Any]:
    sections = [
        {"title": f"S{s}", "rows": [{"id": f"r{s}-{i}", "title": "R", **row} for i in range(n)]}
        for s, n in enumerate(counts)
    ]
    return {**LIST, "action": {"button": "Options", "sections": sections}}


VALIDATION_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("product missing", {"to": USER, "type": "text", "text": {"body": "x"}}, 100),
    ("product wrong", message("text", {"body": "x"}) | {"messaging_product": "sms"}, 100),
    ("to missing", {"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100),
    ("unknown type", message("poll", {"q": 1}), 100),
    ("recipient_type group", message("text", {"body": "x"}) | {"recipient_type": "group"}, 100),
    ("object missing", {"messaging_product": "whatsapp", "to": USER, "type": "image"}, 131008),
    ("other type's object", message("text", {"body": "x"}) | {"image": {"link": "https://a"}}, 100),
    ("text body missing", message("text", {}), 131008),
    ("text too long", message("text", {"body": _long(4097)}), 131009),
    ("preview_url not bool", message("text", {"body": "x", "preview_url": "yes"}), 100),
    ("media id and link", message("image", {"id": "1", "link": "https://x/a.jpg"}), 131009),
    ("media neither", message("image", {"caption": "c"}), 131008),
    ("media bad link", message("image", {"link": "ftp://x/a.jpg"}), 131009),
    ("caption on audio", message("audio", {"link": "https://x/a.mp3", "caption": "c"}), 100),
    ("caption on sticker", message("sticker", {"link": "https://x/s.webp", "caption": "c"}), 100),
    ("filename on image", message("image", {"link": "https://x/a.jpg", "filename": "a"}), 100),
    ("four buttons", message("interactive", _buttons("a", "b", "c", "d")), 131009),
    ("button title 21", message("interactive", _buttons(_long(21))), 131009),
    ("button titles repeat", message("interactive", _buttons("a", "a")), 131009),
    ("interactive body 1025", message("interactive", BUTTONS | {"body": {"text": _long(1025)}}), 131009),
    (
        "interactive body missing",
        message("interactive", {k: v for k, v in BUTTONS.items() if k != "body"}),
        131008,
    ),
    ("footer 61", message("interactive", BUTTONS | {"footer": {"text": _long(61)}}), 131009),
    ("header 61", message("interactive", BUTTONS | {"header": {"type": "text", "text": _long(61)}}), 131009),
    ("list 11 rows", message("interactive", _rows(6, 5)), 131009),
    ("list 11 sections", message("interactive", _rows(*[1] * 11)), 131009),
    (
        "row title 25",
        message(
            "interactive",
            _rows(1) | {"action": {"button": "B", "sections": [{"rows": [{"id": "r", "title": _long(25)}]}]}},
        ),
        131009,
    ),
    ("row description 73", message("interactive", _rows(1, description=_long(73))), 131009),
    (
        "list button 21",
        message("interactive", LIST | {"action": {**LIST["action"], "button": _long(21)}}),
        131009,
    ),
    (
        "list image header",
        message("interactive", LIST | {"header": {"type": "image", "image": {"link": "https://x/a.jpg"}}}),
        131009,
    ),
    ("interactive type", message("interactive", BUTTONS | {"type": "carousel"}), 100),
    ("reaction no message_id", message("reaction", {"emoji": "x"}), 131008),
    ("template no name", message("template", {"language": {"code": "en_US"}}), 131008),
]


@pytest.mark.parametrize(
    ("body", "code"), [(b, c) for _, b, c in VALIDATION_CASES], ids=[name for name, _, _ in VALIDATION_CASES]
)
def test_invalid_sends_get_the_graph_error_envelope(
    sim: Sim, client: httpx.Client, body: dict[str, Any], code: int
) -> None:
    open_window(sim)
    assert_graph_error(send(client, body), code)
    assert sim.control("GET", "/_sim/messages") == []


def test_missing_product_has_the_plain_graph_message(client: httpx.Client) -> None:
    error = assert_graph_error(send(client, {"to": USER, "text": {"body": "x"}}), 100)
    assert error["message"] == "(#100) The parameter messaging_product is required."


def test_recipient_cannot_be_the_sender(client: httpx.Client) -> None:
    response = send(client, message("template", {"name": "x", "language": {"code": "en"}}, to="+15550000001"))
    assert_graph_error(response, 132001, 404)  # template lookup comes first
    open_window_body = message("text", {"body": "x"}, to="+15550000001")
    assert_graph_error(send(client, open_window_body), 131021)


# -- auth and objects ------------------------------------------------------------------------


def test_missing_or_wrong_token_is_190(sim: Sim, client: httpx.Client) -> None:
    body = message("text", {"body": "x"})
    missing = sim.http.post(f"/v21.0/{PNID}/messages", json=body)
    error = assert_graph_error(missing, 190, 401)
    assert "error_data" not in error
    wrong = sim.http.post(f"/v21.0/{PNID}/messages", json=body, headers={"Authorization": "Bearer nope"})
    assert_graph_error(wrong, 190, 401)
    assert "invalid_token" in wrong.headers["www-authenticate"]
    query = sim.http.get(f"/v21.0/{PNID}", params={"access_token": TOKEN})
    assert query.status_code == 200


def test_unknown_phone_number_id_is_100_subcode_33(sim: Sim, client: httpx.Client) -> None:
    error = assert_graph_error(send(client, message("text", {"body": "x"}), pnid="999"), 100)
    assert error["error_subcode"] == 33
    assert error["type"] == "GraphMethodException"
    sim.control(
        "POST",
        "/_sim/numbers",
        {
            "phoneNumberId": "777",
            "wabaId": "888",
            "accessToken": "other",
            "displayPhoneNumber": "1555",
            "verifiedName": "Other",
        },
    )
    # A known number the token does not own is "not found" too.
    assert_graph_error(send(client, message("text", {"body": "x"}), pnid="777"), 100)


def test_number_profile(client: httpx.Client) -> None:
    response = client.get(f"/v21.0/{PNID}")
    assert response.json() == {
        "display_phone_number": "15550000001",
        "verified_name": "Zapgate Sim",
        "quality_rating": "GREEN",
        "id": PNID,
    }


# -- status webhooks -------------------------------------------------------------------------


def test_accepted_send_walks_sent_delivered_read(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    open_window(sim)
    id_ = sent_id(send(client, message("text", {"body": "x"}, biz_opaque_callback_data="msg_1")))
    items = wait_statuses(receiver, id_, 3)
    assert names(items) == ["sent", "delivered", "read"]
    sent, delivered, read = items
    assert sent["recipient_id"] == USER_DIGITS
    assert all(s["biz_opaque_callback_data"] == "msg_1" for s in items)
    assert all(isinstance(s["timestamp"], str) and s["timestamp"].isdigit() for s in items)
    assert sent["pricing"] == {
        "billable": False,
        "pricing_model": "PMP",
        "category": "service",
        "type": "free_customer_service",
    }
    assert sent["conversation"]["origin"] == {"type": "service"}
    assert sent["conversation"]["expiration_timestamp"].isdigit()
    assert "expiration_timestamp" not in delivered["conversation"]
    assert delivered["conversation"]["id"] == sent["conversation"]["id"]
    assert "pricing" not in read and "conversation" not in read
    hook = receiver.snapshot()[0].json()
    value = hook["entry"][0]["changes"][0]["value"]
    assert hook["object"] == "whatsapp_business_account"
    assert hook["entry"][0]["id"] == WABA
    assert hook["entry"][0]["changes"][0]["field"] == "messages"
    assert value["metadata"] == {"display_phone_number": "15550000001", "phone_number_id": PNID}
    record = eventually(sim, id_, lambda r: all(s["httpStatus"] for s in r["statuses"]))
    assert [s["status"] for s in record["statuses"]] == ["sent", "delivered", "read"]
    assert all(s["posted"] and s["httpStatus"] == 200 for s in record["statuses"])


@pytest.mark.parametrize(
    ("switches", "kind", "expected"),
    [
        ({"skipDelivered": True}, "text", ["sent", "read"]),
        ({"dropRead": True}, "text", ["sent", "delivered"]),
        ({"reorder": True}, "text", ["read", "delivered", "sent"]),
        ({"duplicates": True}, "text", ["sent", "sent", "delivered", "delivered", "read", "read"]),
        ({}, "voice", ["sent", "delivered", "read", "played"]),
        ({"dropRead": True}, "voice", ["sent", "delivered"]),
    ],
)
def test_status_switches(
    sim: Sim, receiver: Hooks, client: httpx.Client, switches: dict[str, Any], kind: str, expected: list[str]
) -> None:
    configure(sim, **switches)
    open_window(sim)
    obj = {"link": "https://x/a.ogg", "voice": True} if kind == "voice" else {"body": "x"}
    id_ = sent_id(send(client, message("audio" if kind == "voice" else "text", obj)))
    assert names(wait_statuses(receiver, id_, len(expected))) == expected
    # Every status the simulator scheduled for the message has been posted: nothing more comes.
    record = eventually(sim, id_, lambda r: all(s["posted"] for s in r["statuses"]))
    assert names(record["statuses"]) == expected
    assert names(statuses(receiver.snapshot(), id_)) == expected


def test_status_delay_is_honoured(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    configure(sim, statusDelayMs=200)
    open_window(sim)
    started = time.time()
    id_ = sent_id(send(client, message("text", {"body": "x"})))
    wait_statuses(receiver, id_, 1)
    assert time.time() - started >= 0.18


def test_batch_statuses_puts_one_ticks_statuses_in_one_post(
    sim: Sim, receiver: Hooks, client: httpx.Client
) -> None:
    configure(sim, batchStatuses=True, statusDelayMs=80, enforceWindow=False)
    ids = [sent_id(send(client, message("text", {"body": "x"}, to=f"+5511900000{i:03d}"))) for i in range(3)]
    receiver.wait_for(lambda items: all(len(statuses(items, i)) == 3 for i in ids), timeout=5)
    sizes = [len(h.json()["entry"][0]["changes"][0]["value"]["statuses"]) for h in receiver.snapshot()]
    assert max(sizes) > 1 and sum(sizes) == 9


def test_batched_statuses_go_out_concurrently_and_whole(
    sim: Sim, receiver: Hooks, client: httpx.Client
) -> None:
    """``batchStatuses`` with ``callbackConcurrency``: one POST per tick and number, several
    POSTs in flight at once, every status exactly once. The receiver holds each POST until 3
    are in flight together (a sender posting one at a time would never get there)."""
    lock, opened = threading.Lock(), threading.Event()
    active = [0]

    def gate(_: ReceivedWebhook) -> tuple[int, dict[str, str], bytes]:
        with lock:
            active[0] += 1
            if active[0] >= 3:
                opened.set()
        opened.wait(timeout=3)
        with lock:
            active[0] -= 1
        return 200, {}, b"ok"

    receiver.respond = gate
    configure(sim, batchStatuses=True, callbackConcurrency=4, statusDelayMs=60, enforceWindow=False)
    ids = [sent_id(send(client, message("text", {"body": "x"}, to=f"+5511900001{i:03d}"))) for i in range(8)]
    receiver.wait_for(lambda items: all(len(statuses(items, i)) >= 3 for i in ids), timeout=10)
    assert opened.is_set()
    hooks = receiver.snapshot()
    for id_ in ids:
        assert sorted(names(statuses(hooks, id_))) == ["delivered", "read", "sent"]
    sizes = [len(h.json()["entry"][0]["changes"][0]["value"]["statuses"]) for h in hooks]
    assert sum(sizes) == 24 and len(hooks) < 24
    record = eventually(sim, ids[0], lambda r: all(s["httpStatus"] for s in r["statuses"]))
    assert all(isinstance(s["postedAt"], float) for s in record["statuses"])
    assert all(
        isinstance(c["postedAt"], float) and c["answeredAt"] >= c["postedAt"]
        for c in sim.control("GET", "/_sim/callbacks")
    )


def test_webhooks_are_retried_until_acknowledged(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    attempts: list[int] = []

    def flaky(_: ReceivedWebhook) -> tuple[int, dict[str, str], bytes]:
        attempts.append(1)
        return (500, {}, b"no") if len(attempts) == 1 else (200, {}, b"ok")

    receiver.respond = flaky
    configure(sim, dropRead=True, skipDelivered=True)
    open_window(sim)
    id_ = sent_id(send(client, message("text", {"body": "x"})))
    receiver.wait_for(lambda items: len(items) >= 2, timeout=5)
    first, second = receiver.snapshot()[:2]
    assert first.body == second.body  # the same delivery, retried
    record = eventually(sim, id_, lambda r: r["statuses"][0]["httpStatus"] == 200)
    assert record["statuses"][0]["attempts"] == 2


# -- signatures ------------------------------------------------------------------------------


def _signed_by(hook: ReceivedWebhook, secret: str) -> bool:
    expected = hmac.new(secret.encode(), hook.body, hashlib.sha256).hexdigest()
    return hook.headers["x-hub-signature-256"] == f"sha256={expected}"


def test_signature_covers_the_exact_bytes(sim: Sim, receiver: Hooks) -> None:
    sim.control("POST", "/_sim/inbound", {"from": USER, "text": "olá \U0001f600", "name": "Zé"})
    hook = receiver.wait_for(lambda items: len(items) == 1)[0]
    assert hook.headers["content-type"] == "application/json"
    assert _signed_by(hook, SECRET)
    assert b"\\ud83d\\ude00" in hook.body  # non-ASCII goes out escaped, like Meta's bodies
    reserialised = json.dumps(hook.json(), ensure_ascii=False).encode()
    assert not hmac.compare_digest(
        hmac.new(SECRET.encode(), reserialised, hashlib.sha256).hexdigest(),
        hook.headers["x-hub-signature-256"].removeprefix("sha256="),
    )


def test_a_numbers_own_app_secret_signs_its_webhooks(sim: Sim, receiver: Hooks) -> None:
    sim.control(
        "POST",
        "/_sim/numbers",
        {
            "phoneNumberId": "101",
            "wabaId": "201",
            "accessToken": "t101",
            "displayPhoneNumber": "15551",
            "verifiedName": "Two",
            "appSecret": "own-secret",
        },
    )
    sim.control("POST", "/_sim/inbound", {"phoneNumberId": "101", "from": USER, "text": "hi"})
    hook = receiver.wait_for(lambda items: len(items) == 1)[0]
    assert _signed_by(hook, "own-secret") and not _signed_by(hook, SECRET)
    assert hook.json()["entry"][0]["id"] == "201"


# -- 24 h window and undeliverable users -----------------------------------------------------


def _failed_error(receiver: Hooks, id_: str) -> dict[str, Any]:
    items = wait_statuses(receiver, id_, 1)
    assert names(items) == ["failed"]
    assert "conversation" not in items[0] and "pricing" not in items[0]
    (error,) = items[0]["errors"]
    assert set(error) == {"code", "title", "message", "error_data", "href"}
    assert error["error_data"]["details"]
    return error


def test_free_form_outside_the_window_fails_async_then_passes_after_inbound(
    sim: Sim, receiver: Hooks, client: httpx.Client
) -> None:
    id_ = sent_id(send(client, message("text", {"body": "x"})))
    error = _failed_error(receiver, id_)
    assert (error["code"], error["title"]) == (131047, "Re-engagement message")
    sim.control("POST", "/_sim/inbound", {"from": USER, "text": "hello"})
    again = sent_id(send(client, message("text", {"body": "x"})))
    assert names(wait_statuses(receiver, again, 3)) == ["sent", "delivered", "read"]


def test_window_expires(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    sim.control("POST", "/_sim/windows", {"user": USER, "openedAt": time.time() - 86401})
    assert _failed_error(receiver, sent_id(send(client, message("text", {"body": "x"}))))["code"] == 131047


def test_window_error_can_be_synchronous(sim: Sim, client: httpx.Client) -> None:
    configure(sim, windowErrorSync=True)
    error = assert_graph_error(send(client, message("text", {"body": "x"})), 131047)
    assert "24 hours" in error["error_data"]["details"]


def test_reactions_ignore_the_window(receiver: Hooks, client: httpx.Client) -> None:
    id_ = sent_id(send(client, message("reaction", {"message_id": "wamid.A", "emoji": ""})))
    assert names(wait_statuses(receiver, id_, 1))[0] == "sent"


def test_unknown_recipients_fail_with_131026(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    configure(sim, unknownRecipients=[USER_DIGITS])
    open_window(sim)
    error = _failed_error(receiver, sent_id(send(client, message("text", {"body": "x"}))))
    assert error["code"] == 131026


# -- templates -------------------------------------------------------------------------------

ORDER_TEMPLATE = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped"},
        {"type": "FOOTER", "text": "Shop"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Ok"},
                {"type": "URL", "text": "Track", "url": "https://x/t/{{1}}"},
            ],
        },
    ],
}
NAMED_TEMPLATE = {
    "name": "welcome",
    "language": "pt_BR",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [{"type": "BODY", "text": "Oi {{first_name}}, use {{code}}"}],
}


def _text(*values: str, names_: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [{"type": "text", "text": v} for v in values]
    for param, name in zip(params, names_, strict=False):
        param["parameter_name"] = name
    return params


def order_components(body: list[dict[str, Any]] | None = None, url: bool = True) -> list[dict[str, Any]]:
    components = [
        {"type": "header", "parameters": _text("42")},
        {"type": "body", "parameters": body if body is not None else _text("Ana", "42")},
    ]
    if url:
        components.append({"type": "button", "sub_type": "url", "index": "1", "parameters": _text("abc")})
    return components


def template_send(
    client: httpx.Client, name: str, language: str, components: list[dict[str, Any]]
) -> httpx.Response:
    return send(
        client, message("template", {"name": name, "language": {"code": language}, "components": components})
    )


def create_template(sim: Sim, client: httpx.Client, spec: dict[str, Any], approve: bool = True) -> str:
    created = client.post(f"/v21.0/{WABA}/message_templates", json=spec).json()
    if approve:
        sim.control("POST", f"/_sim/templates/{created['id']}/status", {"event": "APPROVED"})
    return str(created["id"])


def test_template_lifecycle(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    created = client.post(f"/v21.0/{WABA}/message_templates", json=ORDER_TEMPLATE)
    assert created.status_code == 200
    template_id = created.json()["id"]
    assert created.json() == {"id": template_id, "status": "PENDING", "category": "UTILITY"}
    listed = client.get(f"/v21.0/{WABA}/message_templates", params={"name": "order"}).json()
    assert [(t["id"], t["status"]) for t in listed["data"]] == [(template_id, "PENDING")]
    assert_graph_error(template_send(client, "order_update", "en_US", order_components()), 132001, 404)

    sim.control("POST", f"/_sim/templates/{template_id}/status", {"event": "APPROVED"})
    hook = receiver.wait_for(lambda items: len(items) == 1)[0].json()
    entry = hook["entry"][0]
    assert entry["id"] == WABA and isinstance(entry["time"], int)
    assert entry["changes"][0]["field"] == "message_template_status_update"
    assert entry["changes"][0]["value"] == {
        "event": "APPROVED",
        "message_template_id": int(template_id),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }

    response = template_send(client, "order_update", "en_US", order_components())
    assert response.status_code == 200, response.text
    assert response.json()["messages"][0]["message_status"] == "accepted"
    sent = wait_statuses(receiver, response.json()["messages"][0]["id"], 1)[0]
    assert sent["pricing"]["category"] == "utility" and sent["pricing"]["billable"] is True

    assert client.get(f"/v21.0/{template_id}").json()["status"] == "APPROVED"
    deleted = client.delete(f"/v21.0/{WABA}/message_templates", params={"name": "order_update"})
    assert deleted.json() == {"success": True}
    assert_graph_error(template_send(client, "order_update", "en_US", order_components()), 132001, 404)


def test_rejection_webhook_carries_the_reason(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    template_id = create_template(sim, client, ORDER_TEMPLATE, approve=False)
    sim.control(
        "POST", f"/_sim/templates/{template_id}/status", {"event": "REJECTED", "reason": "INCORRECT_CATEGORY"}
    )
    value = receiver.wait_for(lambda items: len(items) == 1)[0].json()["entry"][0]["changes"][0]["value"]
    assert (value["event"], value["reason"]) == ("REJECTED", "INCORRECT_CATEGORY")


@pytest.mark.parametrize(
    ("name", "language", "components", "code"),
    [
        ("order_update", "pt_BR", order_components(), 132001),
        ("nope", "en_US", order_components(), 132001),
        ("order_update", "en_US", order_components(_text("Ana")), 132000),
        ("order_update", "en_US", order_components(url=False), 132000),
        ("order_update", "en_US", order_components(_text("Ana", "42", names_=("a", "b"))), 132012),
        (
            "order_update",
            "en_US",
            order_components([{"type": "image", "image": {"link": "https://x/a.jpg"}}, *_text("42")]),
            132012,
        ),
        ("welcome", "pt_BR", [{"type": "body", "parameters": _text("Ana", "X1")}], 132012),
        (
            "welcome",
            "pt_BR",
            [{"type": "body", "parameters": _text("Ana", "X1", names_=("first_name", "coupon"))}],
            132012,
        ),
        ("welcome", "pt_BR", [{"type": "body", "parameters": _text("Ana", names_=("first_name",))}], 132000),
    ],
)
def test_template_send_errors(
    sim: Sim, client: httpx.Client, name: str, language: str, components: list[dict[str, Any]], code: int
) -> None:
    create_template(sim, client, ORDER_TEMPLATE)
    create_template(sim, client, NAMED_TEMPLATE)
    assert_graph_error(
        template_send(client, name, language, components), code, 404 if code == 132001 else 400
    )


def test_named_template_send_with_parameter_names(sim: Sim, client: httpx.Client) -> None:
    create_template(sim, client, NAMED_TEMPLATE)
    components = [{"type": "body", "parameters": _text("X1", "Ana", names_=("code", "first_name"))}]
    assert template_send(client, "welcome", "pt_BR", components).status_code == 200


@pytest.mark.parametrize(("event", "code"), [("PAUSED", 132015), ("DISABLED", 132016)])
def test_paused_and_disabled_templates(sim: Sim, client: httpx.Client, event: str, code: int) -> None:
    template_id = create_template(sim, client, ORDER_TEMPLATE)
    sim.control("POST", f"/_sim/templates/{template_id}/status", {"event": event})
    assert_graph_error(template_send(client, "order_update", "en_US", order_components()), code)


def test_template_create_errors(sim: Sim, client: httpx.Client) -> None:
    url = f"/v21.0/{WABA}/message_templates"
    create_template(sim, client, ORDER_TEMPLATE, approve=False)
    duplicate = assert_graph_error(client.post(url, json=ORDER_TEMPLATE), 100)
    assert duplicate["error_subcode"] == 2388024
    for bad in (
        {**ORDER_TEMPLATE, "name": "Bad Name"},
        {**ORDER_TEMPLATE, "category": "X"},
        {**ORDER_TEMPLATE, "language": "pt_BR", "components": []},
        {**NAMED_TEMPLATE, "components": [{"type": "BODY", "text": "Hi {{1}}"}]},
    ):
        assert_graph_error(client.post(url, json=bad), 100)
    assert_graph_error(client.post("/v21.0/999/message_templates", json=ORDER_TEMPLATE), 100)


def test_template_list_pages_and_filters(sim: Sim, client: httpx.Client) -> None:
    for i in range(3):
        create_template(sim, client, {**NAMED_TEMPLATE, "name": f"t{i}"}, approve=i == 0)
    url = f"/v21.0/{WABA}/message_templates"
    first = client.get(url, params={"limit": 2, "fields": "name,status"}).json()
    assert [set(t) for t in first["data"]] == [{"id", "name", "status"}] * 2
    rest = client.get(first["paging"]["next"]).json()
    assert [t["name"] for t in rest["data"]] == ["t2"] and "next" not in rest["paging"]
    approved = client.get(url, params={"status": "APPROVED"}).json()["data"]
    assert [t["name"] for t in approved] == ["t0"]


def test_template_edit_goes_back_to_review(sim: Sim, client: httpx.Client) -> None:
    template_id = create_template(sim, client, NAMED_TEMPLATE)
    edited = client.post(f"/v21.0/{template_id}", json={"category": "UTILITY"})
    assert edited.json() == {"success": True}
    assert client.get(f"/v21.0/{template_id}").json()["status"] == "PENDING"
    assert_graph_error(client.post(f"/v21.0/{template_id}", json={}), 100)  # PENDING


def test_check_send_table() -> None:
    template = Template(
        id="1",
        waba_id="w",
        name="n",
        language="en",
        category="UTILITY",
        parameter_format="POSITIONAL",
        components=[],
        slots={"header": Slot("header", ("media",), frozenset({"image"}))},
    )
    check_send(template, [{"type": "header", "parameters": [{"type": "image"}]}])
    with pytest.raises(GraphError) as raised:
        check_send(template, [])
    assert raised.value.code == 132000
    assert "header: number of localizable_params (0)" in str(raised.value.details)


# -- rate limits -----------------------------------------------------------------------------


def test_throughput_limit_is_130429(sim: Sim, client: httpx.Client) -> None:
    configure(sim, mps=3, enforceWindow=False)
    codes = [
        send(client, message("text", {"body": "x"}, to=f"+55119000000{i:02d}")).status_code for i in range(4)
    ]
    assert codes == [200, 200, 200, 400]
    assert_graph_error(send(client, message("text", {"body": "x"})), 130429)


def test_pair_rate_limit_is_131056_per_recipient(sim: Sim, client: httpx.Client) -> None:
    configure(sim, pairBurst=2, pairRatePerSecond=0.001, enforceWindow=False)
    assert [send(client, message("text", {"body": "x"})).status_code for _ in range(2)] == [200, 200]
    error = assert_graph_error(send(client, message("text", {"body": "x"})), 131056)
    assert error["message"] == "(#131056) (Business Account, Consumer Account) pair rate limit hit"
    assert send(client, message("text", {"body": "x"}, to="+5511900001111")).status_code == 200


# -- faults ----------------------------------------------------------------------------------


def fault(sim: Sim, **spec: Any) -> None:
    sim.control("POST", "/_sim/faults", spec)


def test_http_fault(sim: Sim, client: httpx.Client) -> None:
    fault(sim, kind="http", status=503, path="/messages")
    assert send(client, message("text", {"body": "x"})).status_code == 503
    open_window(sim)
    assert send(client, message("text", {"body": "x"})).status_code == 200  # used up


def test_slow_and_timeout_faults(sim: Sim, client: httpx.Client) -> None:
    open_window(sim)
    fault(sim, kind="slow", delayMs=200, path="/messages")
    started = time.time()
    assert send(client, message("text", {"body": "x"})).status_code == 200
    assert time.time() - started >= 0.19
    fault(sim, kind="timeout", delayMs=50, path="/messages")
    assert send(client, message("text", {"body": "x"})).status_code == 504


@pytest.mark.parametrize(
    ("code", "status"), [(131056, 400), (190, 401), (131000, 500), (132001, 404), (368, 403)]
)
def test_error_fault_returns_the_codes_graph_error(
    sim: Sim, client: httpx.Client, code: int, status: int
) -> None:
    fault(sim, kind="error", code=code, to=USER_DIGITS)
    assert_graph_error(send(client, message("text", {"body": "x"})), code, status)


def test_faults_match_on_recipient(sim: Sim, client: httpx.Client) -> None:
    open_window(sim, "+5511900002222")
    fault(sim, kind="error", code=131000, to="5511900001111")
    assert send(client, message("text", {"body": "x"}, to="+5511900002222")).status_code == 200
    assert send(client, message("text", {"body": "x"}, to="+5511900001111")).status_code == 500


def test_async_error_fault(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    open_window(sim)
    fault(sim, kind="async_error", code=131049, path="/messages")
    id_ = sent_id(send(client, message("text", {"body": "x"})))
    assert _failed_error(receiver, id_)["code"] == 131049


# -- media -----------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"


def upload(
    client: httpx.Client, content: bytes = PNG, mime: str = "image/png", product: str = "whatsapp"
) -> httpx.Response:
    return client.post(
        f"/v21.0/{PNID}/media",
        data={"messaging_product": product, "type": mime},
        files={"file": ("a.png", content, mime)},
    )


def test_media_upload_get_download_delete(sim: Sim, client: httpx.Client) -> None:
    uploaded = upload(client)
    media_id = uploaded.json()["id"]
    assert uploaded.json() == {"id": media_id} and media_id.isdigit()
    info = client.get(f"/v21.0/{media_id}").json()
    assert info == {
        "messaging_product": "whatsapp",
        "url": info["url"],
        "mime_type": "image/png",
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "file_size": len(PNG),
        "id": media_id,
    }
    downloaded = client.get(info["url"])
    assert downloaded.content == PNG and downloaded.headers["content-type"] == "image/png"
    assert sim.http.get(info["url"]).status_code == 401
    assert client.get(info["url"].replace("hash=", "hash=0")).status_code == 404
    assert client.delete(f"/v21.0/{media_id}").json() == {"success": True}
    assert_graph_error(client.get(f"/v21.0/{media_id}"), 100)
    assert client.get(info["url"]).status_code == 404


def test_media_url_expires(sim: Sim, client: httpx.Client) -> None:
    configure(sim, mediaUrlTtlSeconds=-5)
    url = client.get(f"/v21.0/{upload(client).json()['id']}").json()["url"]
    assert client.get(url).status_code == 404


def test_media_upload_errors(client: httpx.Client) -> None:
    assert_graph_error(upload(client, mime="application/x-msdownload"), 131053)
    assert_graph_error(upload(client, content=b"x" * (500 * 1024 + 1), mime="image/webp"), 131053)
    assert_graph_error(upload(client, product="sms"), 100)


def test_sends_with_uploaded_and_unknown_media_ids(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    open_window(sim)
    media_id = upload(client).json()["id"]
    good = sent_id(send(client, message("image", {"id": media_id})))
    assert names(wait_statuses(receiver, good, 1))[0] == "sent"
    bad = sent_id(send(client, message("image", {"id": "123456"})))
    assert _failed_error(receiver, bad)["code"] == 131053


# -- read receipts ---------------------------------------------------------------------------


def test_mark_read_with_typing_indicator(sim: Sim, client: httpx.Client) -> None:
    first = sim.control("POST", "/_sim/inbound", {"from": USER, "text": "a"})["id"]
    second = sim.control("POST", "/_sim/inbound", {"from": USER, "text": "b"})["id"]
    body = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": second,
        "typing_indicator": {"type": "text"},
    }
    assert send(client, body).json() == {"success": True}
    seen = {m["id"]: m for m in sim.control("GET", "/_sim/inbound")}
    assert seen[first]["readByBusiness"] and seen[second]["readByBusiness"]
    assert seen[second]["typingIndicator"] and not seen[first]["typingIndicator"]


@pytest.mark.parametrize(
    "body",
    [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.unknown"},
        {"messaging_product": "whatsapp", "typing_indicator": {"type": "text"}, "message_id": "x"},
        {"messaging_product": "whatsapp", "status": "typing", "message_id": "x"},
    ],
)
def test_mark_read_rejects_bad_requests(client: httpx.Client, body: dict[str, Any]) -> None:
    assert_graph_error(send(client, body), 100)


def test_outbound_ids_cannot_be_marked_read(sim: Sim, client: httpx.Client) -> None:
    open_window(sim)
    ours = sent_id(send(client, message("text", {"body": "x"})))
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": ours}
    assert_graph_error(send(client, body), 100)


# -- inbound injection -----------------------------------------------------------------------


def inbound(sim: Sim, receiver: Hooks, **spec: Any) -> dict[str, Any]:
    count = len(receiver.snapshot())
    sim.control("POST", "/_sim/inbound", {"from": USER, **spec})
    hook = receiver.wait_for(lambda items: len(items) > count)[count].json()
    value: dict[str, Any] = hook["entry"][0]["changes"][0]["value"]
    return value


def test_inbound_text_reply_has_contacts_and_context(sim: Sim, receiver: Hooks) -> None:
    value = inbound(sim, receiver, text="yes", name="Ana", replyTo="wamid.OURS")
    assert value["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": USER_DIGITS}]
    assert value["metadata"]["phone_number_id"] == PNID
    (msg,) = value["messages"]
    assert msg["context"] == {"from": "15550000001", "id": "wamid.OURS"}
    assert (msg["from"], msg["type"], msg["text"]) == (USER_DIGITS, "text", {"body": "yes"})
    assert msg["timestamp"].isdigit() and msg["id"].startswith("wamid.")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"type": "button", "buttonId": "STOP", "buttonTitle": "Stop"},
            {"type": "button", "button": {"payload": "STOP", "text": "Stop"}},
        ),
        (
            {"type": "interactive_button", "buttonId": "yes", "buttonTitle": "Yes"},
            {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
            },
        ),
        (
            {"type": "interactive_list", "buttonId": "r1", "buttonTitle": "R1", "description": "d"},
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "r1", "title": "R1", "description": "d"},
                },
            },
        ),
        (
            {"type": "reaction", "reactTo": "wamid.OURS", "emoji": "\u2764"},
            {"type": "reaction", "reaction": {"message_id": "wamid.OURS", "emoji": "\u2764"}},
        ),
    ],
)
def test_inbound_kinds(sim: Sim, receiver: Hooks, spec: dict[str, Any], expected: dict[str, Any]) -> None:
    msg = inbound(sim, receiver, **spec)["messages"][0]
    assert {k: msg[k] for k in expected} == expected


def test_inbound_unsupported_location_and_system(sim: Sim, receiver: Hooks) -> None:
    unsupported = inbound(sim, receiver, type="unsupported")["messages"][0]
    assert unsupported["errors"][0]["code"] == 131051
    location = inbound(sim, receiver, type="location", location={"latitude": 1.0})["messages"][0]
    assert location["location"]["latitude"] == 1.0 and "longitude" in location["location"]
    system = inbound(sim, receiver, type="system", newWaId="5511977776666")
    assert "contacts" not in system
    assert system["messages"][0]["system"]["type"] == "user_changed_number"


def test_inbound_media_can_be_fetched(sim: Sim, receiver: Hooks, client: httpx.Client) -> None:
    msg = inbound(sim, receiver, type="document", media={"caption": "Invoice", "filename": "inv.pdf"})[
        "messages"
    ][0]
    document = msg["document"]
    assert (document["caption"], document["filename"], document["mime_type"]) == (
        "Invoice",
        "inv.pdf",
        "application/pdf",
    )
    info = client.get(f"/v21.0/{document['id']}").json()
    content = client.get(info["url"]).content
    assert base64.b64encode(hashlib.sha256(content).digest()).decode() == document["sha256"]
    voice = inbound(sim, receiver, type="audio")["messages"][0]["audio"]
    assert voice["voice"] is True and voice["mime_type"].startswith("audio/ogg")


def test_inbound_control_rejects_bad_input(sim: Sim, receiver: Hooks) -> None:
    assert sim.http.post("/_sim/inbound", json={"text": "x"}).status_code == 400
    assert sim.http.post("/_sim/inbound", json={"from": USER, "type": "poll"}).status_code == 400
    assert sim.http.post("/_sim/inbound", json={"from": USER, "phoneNumberId": "nope"}).status_code == 404


# -- verify handshake and callback target ----------------------------------------------------


@pytest.fixture
def subscriber() -> Iterator[SimThread]:
    async def hook(request: Request) -> PlainTextResponse:
        query = request.query_params
        if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == "vt":
            return PlainTextResponse(query.get("hub.challenge", ""))
        return PlainTextResponse("forbidden", status_code=403)

    with SimThread(Starlette(routes=[Route("/hook", hook)])) as thread:
        yield thread


def test_verify_handshake(sim: Sim, receiver: Hooks, subscriber: SimThread) -> None:
    sim.control("POST", "/_sim/callback", {"url": f"{subscriber.url}/hook"})
    assert sim.control("POST", "/_sim/verify", {"verifyToken": "vt"}) == {
        "ok": True,
        "status": 200,
        "echoed": True,
    }
    assert sim.control("POST", "/_sim/verify", {"verifyToken": "wrong"}) == {
        "ok": False,
        "status": 403,
        "echoed": False,
    }


def test_callback_target_can_change(sim: Sim, receiver: Hooks) -> None:
    other = Hooks(receiver.server, receiver.path + "-other")
    assert sim.control("POST", "/_sim/callback", {"url": other.url}) == {"url": other.url}
    sim.control("POST", "/_sim/inbound", {"from": USER, "text": "hi"})
    other.wait_for(lambda items: len(items) == 1)
    assert receiver.snapshot() == []


def test_create_app_rejects_unknown_config_and_serves_given_numbers() -> None:
    with pytest.raises(ValueError, match="unknown config keys"):
        create_app(config={"nope": 1})
    number = SimNumber(
        phone_number_id="1", waba_id="2", access_token="t", display_phone_number="3", verified_name="V"
    )
    with SimThread(create_app(numbers=[number])) as thread:
        assert httpx.get(f"{thread.url}/v21.0/1", headers={"Authorization": "Bearer t"}).json()["id"] == "1"
        assert (
            httpx.get(f"{thread.url}/v21.0/{PNID}", headers={"Authorization": f"Bearer {TOKEN}"}).status_code
            == 401
        )
