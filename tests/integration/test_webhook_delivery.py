"""Webhook delivery end to end: real messages through the API, a real loopback receiver, the real
database. Test settings shrink the retry schedule to 0.1, 0.2, 0.3, 0.5 ... seconds.

"Nothing more is sent" is never checked after a fixed sleep (which proves nothing on a slow
machine) but once the delivery log shows nothing left to send: a delivery is queued in the
transaction that records its event, and the log lists every queued delivery, waiting ones
included, so a log with only finished deliveries, for events all emitted, means no POST is
still to come. A lease is run out on a fake clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pilot_status.webhooks import is_unknown_customer_webhook_event, parse_customer_webhook
from standardwebhooks.webhooks import Webhook

from tests.helpers import DEST, send, with_container
from zapgate.clock import FakeClock
from zapgate.domain import ids
from zapgate.storage import tables as t
from zapgate.testing import ReceivedWebhook, WebhookReceiver
from zapgate.workers.webhook_sender import parse_retry_after, retry_delay

STATUS_EVENTS = ["message.sent", "message.delivered", "message.read"]
Respond = Callable[[ReceivedWebhook], tuple[int, dict[str, str], bytes]]


@pytest.fixture
def make_receiver() -> Iterator[Callable[[Respond], WebhookReceiver]]:
    started: list[WebhookReceiver] = []

    def make(respond: Respond) -> WebhookReceiver:
        receiver = WebhookReceiver(respond=respond).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


class Script:
    """A receiver's answers: per event name, the statuses of its first attempts (then 200).

    Records what it answered, in arrival order, so tests can check ordering against successes.
    """

    def __init__(
        self,
        fail: dict[str, list[int]] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"ok",
        delay: float = 0.0,
    ) -> None:
        self.fail = {k: list(v) for k, v in (fail or {}).items()}
        self.headers = headers or {}
        self.body = body
        self.delay = delay
        self.answers: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def recover(self) -> None:
        """From now on, answer 200 to everything."""
        with self._lock:
            self.fail.clear()

    def __call__(self, item: ReceivedWebhook) -> tuple[int, dict[str, str], bytes]:
        event = item.json()["event"]
        with self._lock:
            queue = self.fail.get(event) or []
            status = queue.pop(0) if queue else 200
            self.answers.append((event, status))
        if self.delay:
            time.sleep(self.delay)
        if status == 200:
            return 200, {}, b"ok"
        return status, self.headers, self.body


def create_hook(api: Any, key: str, url: str, events: Any = "*") -> dict[str, Any]:
    r = api.post("/v1/webhooks", key, json={"url": url, "events": events})
    assert r.status_code == 201, r.text
    hook: dict[str, Any] = r.json()
    return hook


def send_message(api: Any, key: str) -> str:
    r = send(api, key, {"destinationNumber": DEST, "text": "hi"})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def of_message(items: list[ReceivedWebhook], message_id: str) -> list[ReceivedWebhook]:
    return [i for i in items if (i.json().get("data") or {}).get("id") == message_id]


def events(items: list[ReceivedWebhook]) -> list[str]:
    return [i.json()["event"] for i in items]


def logs(api: Any, key: str, hook_id: str, query: str = "") -> list[dict[str, Any]]:
    r = api.get(f"/v1/webhooks/{hook_id}/logs{query}", key)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


def endpoint_row(settings: Any, hook_id: str) -> Any:
    async def load(container: Any) -> Any:
        async with container.db.read() as conn:
            return (
                await conn.execute(sa.select(t.webhook_endpoints).where(t.webhook_endpoints.c.id == hook_id))
            ).one()

    return with_container(settings, load)


def audit_actions(settings: Any, workspace_id: str) -> list[Any]:
    async def load(container: Any) -> list[Any]:
        async with container.db.read() as conn:
            return list(
                (
                    await conn.execute(
                        sa.select(t.audit_log).where(
                            t.audit_log.c.workspace_id == workspace_id,
                            t.audit_log.c.action == "webhook.disabled",
                        )
                    )
                ).all()
            )

    return with_container(settings, load)


# --- signatures and payloads ---------------------------------------------------------------


def test_message_events_are_signed_ordered_and_sdk_parseable(api, number, receiver, wait):
    hook = create_hook(api, number["key"], receiver.url, events=STATUS_EVENTS)
    secret = hook["secret"]
    message_id = send_message(api, number["key"])
    got = receiver.wait_for(lambda items: len(of_message(items, message_id)) >= 3)
    got = of_message(got, message_id)
    assert events(got) == STATUS_EVENTS
    for item in got:
        body = item.json()
        # Standard Webhooks, with the reference library (checks the timestamp window too).
        assert Webhook(secret).verify(item.body, item.headers) == body
        assert item.headers["webhook-id"] == body["id"] and body["id"].startswith("evt_")
        # Pilot Status hex signature, computed independently.
        expected = hmac.new(secret.encode(), item.body, hashlib.sha256).hexdigest()
        assert item.headers["x-pilot-status-signature"] == expected
        assert "x-pilot-status-signature-previous" not in item.headers
        assert item.headers["content-type"] == "application/json"
        assert item.headers["user-agent"].startswith("Zapgate-Webhooks/")
        event = parse_customer_webhook(body)
        assert event["event"] == body["event"]
        assert body["data"]["id"] == message_id == body["data"]["internalMessageId"]
    shown = wait(
        lambda: (h := api.get(f"/v1/webhooks/{hook['id']}", number["key"]).json())["lastTriggered"] and h
    )
    assert shown["lastTriggered"] is not None


def test_standard_signature_matches_an_independent_computation(api, number, receiver):
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    item = receiver.wait_for(lambda items: len(items) >= 1)[0]
    key = base64.b64decode(hook["secret"].removeprefix("whsec_"))
    signed = f"{item.headers['webhook-id']}.{item.headers['webhook-timestamp']}.".encode()
    mac = hmac.new(key, signed + item.body, hashlib.sha256).digest()
    assert item.headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
    assert abs(int(item.headers["webhook-timestamp"]) - time.time()) < 30


def test_every_payload_parses_with_the_sdk(api, number, receiver):
    create_hook(api, number["key"], receiver.url)
    message_id = send_message(api, number["key"])
    r = api.post("/v1/sandbox/inbound", number["key"], json={"from": DEST, "text": "oi"})
    assert r.status_code == 200, r.text
    got = receiver.wait_for(
        lambda items: len(of_message(items, message_id)) >= 3 and "message.received" in events(items)
    )
    for item in got:
        parsed = parse_customer_webhook(item.json(), unknown_events="raise")
        assert parsed["event"] in {*STATUS_EVENTS, "message.received"}


def test_test_event_is_an_unknown_event_for_the_sdk(api, number, receiver):
    hook = create_hook(api, number["key"], receiver.url, events=[])
    r = api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["event"] == "webhook.test" and queued["deliveryId"].startswith("whd_")
    item = receiver.wait_for(lambda items: len(items) >= 1)[0]
    body = item.json()
    assert body["id"] == queued["eventId"] and body["data"]["webhookId"] == hook["id"]
    parsed = parse_customer_webhook(body)
    assert is_unknown_customer_webhook_event(parsed) and parsed["event"] == "webhook.test"
    Webhook(hook["secret"]).verify(item.body, item.headers)


def test_event_filter(api, number, make_receiver, wait):
    everything = make_receiver(Script())
    reads = make_receiver(Script())
    nothing = make_receiver(Script())
    create_hook(api, number["key"], everything.url, events="*")
    reads_hook = create_hook(api, number["key"], reads.url, events=["message.read"])
    nothing_hook = create_hook(api, number["key"], nothing.url, events=[])
    message_id = send_message(api, number["key"])
    everything.wait_for(lambda items: len(of_message(items, message_id)) >= 3)
    got = reads.wait_for(lambda items: len(items) >= 1)
    # Every event of the message is emitted (the last one reached ``everything``): what the
    # other two endpoints will ever get is in their logs, and it is all finished.
    wait(
        lambda: (
            [(i["event"], i["status"]) for i in logs(api, number["key"], reads_hook["id"])]
            == [("message.read", "SUCCESS")]
        )
    )
    assert logs(api, number["key"], nothing_hook["id"]) == []
    assert events(reads.snapshot()) == ["message.read"] and got[0].json()["data"]["id"]
    assert nothing.snapshot() == []


# --- retries and the delivery log ----------------------------------------------------------


def test_retry_schedule_and_attempt_log(api, number, make_receiver, wait):
    script = Script(fail={"message.sent": [500, 503]}, body=b"boom")
    receiver = make_receiver(script)
    hook = create_hook(api, number["key"], receiver.url, events=["message.sent"])
    message_id = send_message(api, number["key"])
    got = receiver.wait_for(lambda items: len(items) >= 3)
    assert events(got) == ["message.sent"] * 3
    # Same event id on every retry; the timestamp is the attempt's own.
    assert len({i.headers["webhook-id"] for i in got}) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert gaps[0] >= 0.1 * 0.9 and gaps[1] >= 0.2 * 0.9
    items = wait(lambda: (x := logs(api, number["key"], hook["id"])) and x[0]["status"] == "SUCCESS" and x)
    assert [(i["attempt"], i["status"], i["statusCode"]) for i in items] == [
        (3, "SUCCESS", 200),
        (2, "FAILED", 503),
        (1, "FAILED", 500),
    ]
    assert len({i["deliveryId"] for i in items}) == 1
    assert items[1]["response"] == "boom" and items[1]["error"] == "HTTP 503"
    assert items[0]["error"] is None and items[0]["response"] == "ok"
    for item in items:
        assert item["event"] == "message.sent" and item["payload"]["data"]["id"] == message_id
        assert isinstance(item["durationMs"], int) and item["durationMs"] >= 0
        assert item["eventId"] == item["payload"]["id"]
    assert len({i["id"] for i in items}) == 3


def test_delivery_fails_after_the_last_attempt(start_server, make_tenant, api_for, make_receiver, wait):
    api = api_for(start_server(webhook_retry_schedule=[0.05, 0.05]))
    number = api.create_number(make_tenant()["key"])
    receiver = make_receiver(Script(fail={"webhook.test": [500] * 10}))
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    items = wait(
        lambda: (
            (x := logs(api, number["key"], hook["id"])) and x[0]["status"] == "FAILED" and len(x) == 3 and x
        )
    )
    assert [i["attempt"] for i in items] == [3, 2, 1]
    # The last attempt failed and no next one waits (it would be logged as PENDING): final.
    assert all(i["status"] == "FAILED" for i in items)
    assert len(receiver.snapshot()) == 3  # 1 try + 2 retries, then nothing more
    assert all(i["status"] == "FAILED" for i in logs(api, number["key"], hook["id"]))


def test_waiting_deliveries_show_as_pending_in_the_log(
    start_server, make_tenant, api_for, make_receiver, wait
):
    api = api_for(start_server(webhook_retry_schedule=[30.0]))
    number = api.create_number(make_tenant()["key"])
    receiver = make_receiver(Script(fail={"webhook.test": [500]}))
    hook = create_hook(api, number["key"], receiver.url)
    queued = api.post(f"/v1/webhooks/{hook['id']}/test", number["key"]).json()
    items = wait(lambda: (x := logs(api, number["key"], hook["id"])) and len(x) == 2 and x)
    assert [(i["attempt"], i["status"]) for i in items] == [(2, "PENDING"), (1, "FAILED")]
    assert items[0]["deliveryId"] == queued["deliveryId"] and items[0]["nextAttemptAt"]
    assert items[0]["statusCode"] is None and items[0]["durationMs"] is None


def test_retry_after_is_honoured(start_server, make_tenant, api_for, make_receiver):
    # Retry-After may push a retry up to the schedule's longest step (3 s here).
    api = api_for(start_server(webhook_retry_schedule=[0.1, 3.0]))
    number = api.create_number(make_tenant()["key"])
    script = Script(fail={"webhook.test": [429]}, headers={"Retry-After": "1"})
    receiver = make_receiver(script)
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    got = receiver.wait_for(lambda items: len(items) >= 2)
    assert 0.95 <= got[1].at - got[0].at < 2.5  # the schedule alone would retry after 0.1 s


def test_retries_do_not_wait_for_the_poll_interval(start_server, make_tenant, api_for, make_receiver):
    api = api_for(start_server(worker_poll_interval=5.0))
    number = api.create_number(make_tenant()["key"])
    receiver = make_receiver(Script(fail={"webhook.test": [500, 500]}))
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    got = receiver.wait_for(lambda items: len(items) >= 3, timeout=3.0)
    assert got[2].at - got[0].at < 2.0


def test_logs_limit_and_event_filter(api, number, receiver, wait):
    hook = create_hook(api, number["key"], receiver.url, events=STATUS_EVENTS)
    message_id = send_message(api, number["key"])
    wait(
        lambda: (
            [i["status"] for i in logs(api, number["key"], hook["id"], "?event=message.read")] == ["SUCCESS"]
        )
    )
    full = logs(api, number["key"], hook["id"])
    assert [i["event"] for i in full] == list(reversed(STATUS_EVENTS))  # newest first
    assert [i["createdAt"] for i in full] == sorted((i["createdAt"] for i in full), reverse=True)
    assert [i["event"] for i in logs(api, number["key"], hook["id"], "?limit=2")] == [
        "message.read",
        "message.delivered",
    ]
    only = logs(api, number["key"], hook["id"], "?event=message.delivered")
    assert [(i["event"], i["status"]) for i in only] == [("message.delivered", "SUCCESS")]
    assert only[0]["payload"]["data"]["id"] == message_id
    assert logs(api, number["key"], hook["id"], "?event=message.failed") == []


def test_response_excerpt_is_capped_and_redirects_are_not_followed(api, number, make_receiver, wait):
    big = make_receiver(Script(fail={"webhook.test": [500]}, body=b"x" * 10_000))
    hook = create_hook(api, number["key"], big.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    items = wait(lambda: (x := logs(api, number["key"], hook["id"])) and x[0]["status"] == "SUCCESS" and x)
    assert items[1]["statusCode"] == 500 and len(items[1]["response"]) == 2048

    target = make_receiver(Script())
    redirect = make_receiver(Script(fail={"webhook.test": [302]}, headers={"Location": target.url}))
    hook = create_hook(api, number["key"], redirect.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    items = wait(lambda: (x := logs(api, number["key"], hook["id"])) and x[0]["status"] == "SUCCESS" and x)
    assert items[1]["statusCode"] == 302 and items[1]["status"] == "FAILED"
    assert "redirect" in items[1]["error"]
    assert target.snapshot() == []


def test_slow_endpoints_time_out(start_server, make_tenant, api_for, make_receiver, wait):
    api = api_for(start_server(webhook_timeout_seconds=0.3))
    number = api.create_number(make_tenant()["key"])
    slow = threading.Event()

    def respond(item: ReceivedWebhook) -> tuple[int, dict[str, str], bytes]:
        if not slow.is_set():
            slow.set()
            time.sleep(1.0)
        return 200, {}, b"ok"

    receiver = make_receiver(respond)
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    items = wait(lambda: (x := logs(api, number["key"], hook["id"])) and x[0]["status"] == "SUCCESS" and x)
    assert items[1]["status"] == "FAILED" and items[1]["statusCode"] is None
    assert "timed out" in items[1]["error"] and items[1]["durationMs"] < 900
    assert len(receiver.snapshot()) == 2


def test_unreachable_endpoint_records_the_network_error(api, number, wait):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hook = create_hook(api, number["key"], f"http://127.0.0.1:{port}/hook")
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    items = wait(
        lambda: (
            logs(api, number["key"], hook["id"], "?limit=1")[-1:]
            and [i for i in logs(api, number["key"], hook["id"]) if i["status"] == "FAILED"]
        )
    )
    assert items[0]["statusCode"] is None and items[0]["error"] == (
        f"ConnectError: cannot connect to 127.0.0.1:{port} (Connection refused)"
    )


# --- ordering ------------------------------------------------------------------------------


def test_read_never_arrives_before_its_delivered_succeeds(api, number, make_receiver, wait):
    script = Script(fail={"message.delivered": [500, 500]})
    receiver = make_receiver(script)
    create_hook(api, number["key"], receiver.url, events=STATUS_EVENTS)
    message_id = send_message(api, number["key"])
    receiver.wait_for(lambda items: "message.read" in events(of_message(items, message_id)))
    answers = script.answers
    delivered_ok = answers.index(("message.delivered", 200))
    first_read = next(i for i, (event, _) in enumerate(answers) if event == "message.read")
    assert answers[: delivered_ok + 1] == [
        ("message.sent", 200),
        ("message.delivered", 500),
        ("message.delivered", 500),
        ("message.delivered", 200),
    ]
    assert first_read > delivered_ok


def test_a_failed_delivery_no_longer_blocks_its_chain(start_server, make_tenant, api_for, make_receiver):
    api = api_for(start_server(webhook_retry_schedule=[0.05]))
    number = api.create_number(make_tenant()["key"])
    script = Script(fail={"message.delivered": [500] * 5})
    receiver = make_receiver(script)
    create_hook(api, number["key"], receiver.url, events=STATUS_EVENTS)
    message_id = send_message(api, number["key"])
    receiver.wait_for(lambda items: "message.read" in events(of_message(items, message_id)))
    assert script.answers == [
        ("message.sent", 200),
        ("message.delivered", 500),
        ("message.delivered", 500),
        ("message.read", 200),
    ]


def test_messages_do_not_block_each_other(api, number, make_receiver):
    # The first message's chain is stuck retrying; the second message is delivered meanwhile.
    script = Script(fail={"message.delivered": [500] * 4})
    receiver = make_receiver(script)
    create_hook(api, number["key"], receiver.url, events=["message.delivered"])
    first = send_message(api, number["key"])
    receiver.wait_for(lambda items: len(items) >= 1)
    script.fail = {}
    second = send_message(api, number["key"])
    got = receiver.wait_for(lambda items: len(of_message(items, second)) == 1)
    assert of_message(got, first)  # attempted, and still waiting for its retry


# --- disabling ---------------------------------------------------------------------------


def test_410_gone_disables_the_endpoint_until_reactivated(api, tenant, number, make_receiver, settings, wait):
    script = Script(fail={"webhook.test": [410]})
    receiver = make_receiver(script)
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    shown = wait(
        lambda: (h := api.get(f"/v1/webhooks/{hook['id']}", number["key"]).json())["active"] is False and h
    )
    assert shown["disabledReason"] == "GONE"
    assert [i["status"] for i in logs(api, number["key"], hook["id"])] == ["FAILED"]
    [entry] = audit_actions(settings, tenant["id"])
    assert entry.detail["webhookId"] == hook["id"] and entry.detail["reason"] == "GONE"
    # Disabled: new events are not queued for it.
    message_id = send_message(api, number["key"])
    wait(lambda: api.get(f"/v1/messages/{message_id}", number["key"]).json()["status"] == "READ")
    # READ: all of the message's events are emitted, and none was queued for the endpoint.
    assert [i["status"] for i in logs(api, number["key"], hook["id"])] == ["FAILED"]
    assert len(receiver.snapshot()) == 1
    # Reactivation clears the disabled state and delivery resumes.
    r = api.patch(f"/v1/webhooks/{hook['id']}", number["key"], json={"active": True})
    assert r.json()["active"] is True and r.json()["disabledReason"] is None
    row = endpoint_row(settings, hook["id"])
    assert row.disabled_reason is None and row.failing_since is None
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    receiver.wait_for(lambda items: len(items) == 2)


def test_an_endpoint_failing_for_too_long_is_disabled(
    start_server, make_tenant, api_for, make_receiver, settings, wait
):
    api = api_for(start_server(webhook_disable_after_seconds=0.4))
    tenant = make_tenant()
    number = api.create_number(tenant["key"])
    receiver = make_receiver(lambda _item: (500, {}, b"down"))
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    shown = wait(
        lambda: (h := api.get(f"/v1/webhooks/{hook['id']}", number["key"]).json())["active"] is False and h
    )
    assert shown["disabledReason"] == "FAILING"
    [entry] = audit_actions(settings, tenant["id"])
    assert entry.actor == "webhook-sender" and entry.detail["reason"] == "FAILING"
    attempts = len(receiver.snapshot())
    assert attempts >= 2
    # Nothing left waiting: every attempt is logged, failed, and no next one is queued.
    items = wait(
        lambda: (
            (x := logs(api, number["key"], hook["id"]))
            and len(x) == attempts
            and all(i["status"] == "FAILED" for i in x)
            and x
        )
    )
    assert len(receiver.snapshot()) == attempts  # nothing is sent to a disabled endpoint
    assert items and all(i["status"] == "FAILED" for i in items)  # nothing left waiting


def test_pausing_drops_waiting_deliveries_which_stay_redeliverable(
    start_server, make_tenant, api_for, make_receiver, wait
):
    api = api_for(start_server(webhook_retry_schedule=[30.0]))
    number = api.create_number(make_tenant()["key"])
    script = Script(fail={"message.sent": [500]})
    receiver = make_receiver(script)
    hook = create_hook(api, number["key"], receiver.url, events=STATUS_EVENTS)
    message_id = send_message(api, number["key"])
    # message.sent failed once and waits 30 s; delivered and read wait behind it.
    wait(
        lambda: (
            sorted((i["event"], i["status"]) for i in logs(api, number["key"], hook["id"]))
            == [
                ("message.delivered", "PENDING"),
                ("message.read", "PENDING"),
                ("message.sent", "FAILED"),
                ("message.sent", "PENDING"),
            ]
        )
    )
    r = api.patch(f"/v1/webhooks/{hook['id']}", number["key"], json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert r.json()["disabledReason"] is None  # paused by the customer, not disabled
    items = logs(api, number["key"], hook["id"])
    assert [(i["event"], i["status"], i["attempt"]) for i in items] == [
        ("message.read", "FAILED", 0),
        ("message.delivered", "FAILED", 0),
        ("message.sent", "FAILED", 1),
    ]
    assert "deactivated" in items[0]["error"] and items[0]["payload"]["data"]["id"] == message_id
    api.patch(f"/v1/webhooks/{hook['id']}", number["key"], json={"active": True})
    # Reactivated, and still nothing waiting in the log: nothing is left to be sent.
    after = logs(api, number["key"], hook["id"])
    assert [(i["event"], i["status"], i["attempt"]) for i in after] == [
        ("message.read", "FAILED", 0),
        ("message.delivered", "FAILED", 0),
        ("message.sent", "FAILED", 1),
    ]
    assert len(receiver.snapshot()) == 1  # nothing dropped comes back by itself ...
    r = api.post(f"/v1/webhooks/{hook['id']}/logs/{items[1]['deliveryId']}/redeliver", number["key"])
    assert r.status_code == 202
    got = receiver.wait_for(lambda x: len(x) == 2)  # ... but it can be redelivered
    assert got[1].json()["event"] == "message.delivered"


def test_a_success_resets_the_failure_clock(api, number, make_receiver, settings, wait):
    # The receiver fails until the test has seen the failure clock start (a retry 0.1 s later
    # that succeeded at once could reset it before a loaded machine polls), then recovers.
    script = Script(fail={"webhook.test": [500] * 100})
    receiver = make_receiver(script)
    hook = create_hook(api, number["key"], receiver.url)
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    wait(lambda: endpoint_row(settings, hook["id"]).failing_since is not None)
    script.recover()
    wait(lambda: ("webhook.test", 200) in script.answers)
    wait(lambda: endpoint_row(settings, hook["id"]).failing_since is None)


# --- rotation, redelivery --------------------------------------------------------------------


def test_rotated_secret_signs_alongside_the_previous_one_for_24h(api, number, receiver, settings):
    hook = create_hook(api, number["key"], receiver.url)
    new = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", number["key"]).json()["secret"]
    old = hook["secret"]
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    item = receiver.wait_for(lambda items: len(items) == 1)[0]
    assert len(item.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(item.body, item.headers)
    Webhook(old).verify(item.body, item.headers)
    assert (
        item.headers["x-pilot-status-signature"]
        == hmac.new(new.encode(), item.body, hashlib.sha256).hexdigest()
    )
    assert (
        item.headers["x-pilot-status-signature-previous"]
        == hmac.new(old.encode(), item.body, hashlib.sha256).hexdigest()
    )

    async def expire_previous(container: Any) -> None:
        async with container.db.write() as conn:
            await conn.execute(
                sa.update(t.webhook_endpoints)
                .where(t.webhook_endpoints.c.id == hook["id"])
                .values(previous_secret_until=container.clock.now_ms() - 1)
            )

    with_container(settings, expire_previous)  # as if 24 h had passed
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    item = receiver.wait_for(lambda items: len(items) == 2)[1]
    assert " " not in item.headers["webhook-signature"]
    assert "x-pilot-status-signature-previous" not in item.headers
    Webhook(new).verify(item.body, item.headers)


def test_redeliver_sends_the_same_event_again(api, number, receiver, wait):
    hook = create_hook(api, number["key"], receiver.url, events=["message.sent"])
    send_message(api, number["key"])
    first = receiver.wait_for(lambda items: len(items) == 1)[0]
    [logged] = wait(lambda: logs(api, number["key"], hook["id"]))
    r = api.post(f"/v1/webhooks/{hook['id']}/logs/{logged['deliveryId']}/redeliver", number["key"])
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["deliveryId"] != logged["deliveryId"]
    assert queued["redeliveryOf"] == logged["deliveryId"] and queued["event"] == "message.sent"
    again = receiver.wait_for(lambda items: len(items) == 2)[1]
    assert again.body == first.body
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == queued["eventId"]
    Webhook(hook["secret"]).verify(again.body, again.headers)
    items = wait(
        lambda: (
            (x := logs(api, number["key"], hook["id"])) and len(x) == 2 and x[0]["status"] == "SUCCESS" and x
        )
    )
    assert [i["deliveryId"] for i in items] == [queued["deliveryId"], logged["deliveryId"]]


def test_redelivery_does_not_wait_behind_a_stuck_chain(api, number, make_receiver, wait):
    script = Script(fail={"message.delivered": [500] * 8})
    receiver = make_receiver(script)
    hook = create_hook(api, number["key"], receiver.url, events=["message.sent", "message.delivered"])
    send_message(api, number["key"])
    receiver.wait_for(lambda items: "message.delivered" in events(items))
    sent = next(i for i in logs(api, number["key"], hook["id"]) if i["event"] == "message.sent")
    api.post(f"/v1/webhooks/{hook['id']}/logs/{sent['deliveryId']}/redeliver", number["key"])
    receiver.wait_for(lambda items: events(items).count("message.sent") == 2, timeout=1.5)


# --- robustness ------------------------------------------------------------------------------


def test_a_crashed_workers_lease_delays_but_does_not_lose_a_delivery(
    start_server, make_tenant, api_for, receiver, settings
):
    # The server runs on a fake clock: the lease ends when the test moves the clock past it.
    clock = FakeClock()
    api = api_for(start_server(clock=clock))
    number = api.create_number(make_tenant()["key"])
    hook = create_hook(api, number["key"], receiver.url)
    body = '{"id":"evt_crash","event":"webhook.test","createdAt":"2026-01-01T00:00:00.000Z","data":{}}'

    async def leased_delivery(container: Any) -> None:
        now = container.clock.now_ms()
        delivery_id = ids.new_id("whd")
        async with container.db.write() as conn:
            await conn.execute(
                sa.insert(t.webhook_deliveries).values(
                    id=delivery_id,
                    endpoint_id=hook["id"],
                    event_id="evt_crash",
                    event="webhook.test",
                    body=body,
                    order_key=delivery_id,
                    seq=0,
                    status="PENDING",
                    attempts=0,
                    next_attempt_at=now,
                    lease_until=now + 700,
                    created_at=now,
                    updated_at=now,
                )
            )

    with_container(settings, leased_delivery, clock=clock)  # claimed by a worker that then died
    # The sender claims after it and skips it: a test event queued later arrives first.
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    receiver.wait_for(lambda items: len(items) == 1)
    assert not [i for i in receiver.snapshot() if i.json()["id"] == "evt_crash"]  # the lease is live
    clock.advance(0.7)
    # Still live at its last millisecond: a second test event arrives, not the leased one.
    api.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    receiver.wait_for(lambda items: len(items) == 2)
    assert not [i for i in receiver.snapshot() if i.json()["id"] == "evt_crash"]
    clock.advance(0.001)
    got = receiver.wait_for(lambda items: len(items) == 3, timeout=5)
    assert got[2].body.decode() == body


def test_concurrency_and_per_endpoint_limits(start_server, make_tenant, api_for, make_receiver):
    api = api_for(start_server(webhook_concurrency=2))
    number = api.create_number(make_tenant()["key"])
    lock = threading.Lock()
    active: dict[str, int] = {}
    peaks = {"total": 0, "per_endpoint": 0}

    def respond(item: ReceivedWebhook) -> tuple[int, dict[str, str], bytes]:
        hook_id = item.json()["data"]["webhookId"]
        with lock:
            active[hook_id] = active.get(hook_id, 0) + 1
            peaks["total"] = max(peaks["total"], sum(active.values()))
            peaks["per_endpoint"] = max(peaks["per_endpoint"], active[hook_id])
        time.sleep(0.15)
        with lock:
            active[hook_id] -= 1
        return 200, {}, b"ok"

    receiver = make_receiver(respond)
    hooks = [create_hook(api, number["key"], receiver.url) for _ in range(2)]
    for _ in range(3):
        for hook in hooks:
            assert api.post(f"/v1/webhooks/{hook['id']}/test", number["key"]).status_code == 202
    receiver.wait_for(lambda items: len(items) == 6)
    # Two slots in all, one per endpoint (half of the slots, at least one).
    assert peaks == {"total": 2, "per_endpoint": 1}


def test_private_addresses_are_refused_at_send_time(start_server, make_tenant, api_for, receiver, wait):
    # Registered while private targets were allowed; the operator then turned that off.
    lax = start_server()
    tenant = make_tenant()
    api = api_for(lax)
    number = api.create_number(tenant["key"])
    hook = create_hook(api, number["key"], receiver.url)
    lax.stop()
    strict = api_for(start_server(allow_private_urls=False))
    strict.post(f"/v1/webhooks/{hook['id']}/test", number["key"])
    items = wait(
        lambda: (
            logs(strict, number["key"], hook["id"], "?limit=50")
            and [i for i in logs(strict, number["key"], hook["id"]) if i["status"] == "FAILED"]
        )
    )
    assert items[0]["statusCode"] is None and "not a public address" in items[0]["error"]
    assert "127.0.0.1" in items[0]["error"] and "ZAPGATE_ALLOW_PRIVATE_URLS" in items[0]["error"]
    assert receiver.snapshot() == []


# --- pure rules of the sender ---------------------------------------------------------------


def test_retry_delay_follows_the_schedule_and_retry_after():
    schedule = [5.0, 30.0, 120.0]
    assert 5.0 <= retry_delay(1, schedule) <= 5.5
    assert 120.0 <= retry_delay(3, schedule) <= 132.0
    assert retry_delay(4, schedule) is None  # 1 try + 3 retries
    assert 60.0 <= retry_delay(1, schedule, retry_after=60) <= 66.0
    assert 5.0 <= retry_delay(1, schedule, retry_after=1) <= 5.5  # never earlier
    assert retry_delay(1, schedule, retry_after=10**9) <= 132.0  # capped at the longest step


def test_default_schedule_makes_eleven_attempts():
    from zapgate.settings import Settings

    schedule = Settings().webhook_retry_schedule
    assert [retry_delay(n, schedule) is None for n in range(1, 12)] == [False] * 10 + [True]


def test_parse_retry_after():
    now = 1_750_000_000.0
    assert parse_retry_after("120", now_s=now) == 120.0
    assert parse_retry_after(" 0 ", now_s=now) == 0.0
    assert parse_retry_after("Sun, 15 Jun 2025 15:07:00 GMT", now_s=now) == pytest.approx(
        1_750_000_020.0 - now
    )
    assert parse_retry_after("Sun, 15 Jun 2000 15:07:00 GMT", now_s=now) == 0.0
    assert parse_retry_after("soon", now_s=now) is None
    assert parse_retry_after(None, now_s=now) is None
    assert parse_retry_after("-5", now_s=now) is None
