"""The official ``pilot-status`` SDK against a running ``zapgate serve`` over loopback:
all three send modes reach READ, every webhook is signed and parses with the SDK's parser, and
each message's events arrive sent → delivered → read."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict

import httpx
import pytest
from pilot_status import PilotStatusClient
from pilot_status.errors import ConflictError, ForbiddenError, ValidationError
from pilot_status.webhooks import parse_customer_webhook
from standardwebhooks import Webhook

from tests.acceptance.conftest import sdk_transport
from tests.conftest import wait_until

DEST = "+5511988887777"


@pytest.fixture
def world(serve, serve_env, cli, receiver):
    server = serve()
    tenant = json.loads(
        cli(serve_env, "admin", "create-tenant", "--name", "Acme", "--plan", "PAID", "--json")
    )
    assert set(tenant) == {"tenantId", "tenantKey", "ownerEmail", "ownerPassword"}
    transport = sdk_transport(server.url)
    admin = PilotStatusClient(api_key=tenant["tenantKey"], transport=transport)
    created = admin.numbers.create({"name": "Loja", "number": "+5511999998888"})
    number_id = created["instance"]["id"]
    # Rotate through the SDK to get a key (the create response's key is replaced).
    number_key = admin.api_keys.regenerate_number(number_id)["key"]
    http = httpx.Client(base_url=server.url, headers={"x-api-key": number_key})
    hook = http.post("/v1/webhooks", json={"url": receiver.url, "events": "*", "name": "e2e"})
    assert hook.status_code == 201, hook.text
    template = http.post(
        "/v1/templates",
        json={
            "name": "boas_vindas",
            "category": "UTILITY",
            "language": "pt_BR",
            "body": "Olá {{nome}}, seu pedido {{pedido}} saiu!",
            "examples": {"nome": "Ana", "pedido": "42"},
        },
    )
    assert template.status_code == 201, template.text
    yield {
        "server": server,
        "admin": admin,
        "number_id": number_id,
        "client": PilotStatusClient(api_key=number_key, transport=transport),
        "secret": hook.json()["secret"],
        "receiver": receiver,
        "http": http,
    }
    http.close()


def _in_a_day():
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def _verify(item, secret):
    expected = hmac.new(secret.encode(), item.body, hashlib.sha256).hexdigest()
    assert item.headers["x-pilot-status-signature"] == expected
    Webhook(secret).verify(
        item.body, {k: item.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    )
    event = parse_customer_webhook(json.loads(item.body), unknown_events="raise")
    assert item.headers["webhook-id"] == json.loads(item.body)["id"]
    return event


def test_three_modes_reach_read_with_signed_ordered_webhooks(world):
    client = world["client"]
    accepted = [
        client.messages.send(
            {
                "destinationNumber": DEST,
                "text": "Seu pedido saiu",
                "buttons": [{"type": "reply", "label": "Ok"}],
                "header": {"type": "text", "content": "Pedido 42"},
                "footer": "Loja",
            }
        ),
        client.messages.send(
            {
                "destinationNumber": DEST,
                "templateId": "boas_vindas",
                "variables": {"nome": "Ana", "pedido": "42"},
            },
            idempotency_key="tpl-1",
        ),
        client.messages.send(
            {
                "destinationNumber": "+5511977776666",
                "media": "https://cdn.example.com/nota.pdf",
                "mediaType": "document",
            }
        ),
    ]
    for a in accepted:
        assert a["status"] == "QUEUED" and a["origin"] == "API"
        assert a["sourceNumber"] == "5511999998888" and "flowToken" not in a
    ids = [a["id"] for a in accepted]
    for mid in ids:
        wait_until(lambda mid=mid: client.messages.get(mid)["status"] == "READ", timeout=15)
    details = client.messages.get(ids[1])
    assert details["template"] == "boas_vindas" and details["errorCode"] is None
    assert details["correlationId"] == accepted[1]["correlationId"]

    receiver = world["receiver"]
    receiver.wait_for(
        lambda items: sum(json.loads(i.body)["event"] == "message.read" for i in items) >= 3, timeout=15
    )
    order = defaultdict(list)
    seen_events = set()
    for item in receiver.snapshot():
        event = _verify(item, world["secret"])
        body = json.loads(item.body)
        if body["id"] in seen_events:  # at-least-once: duplicates are allowed, not reordering
            continue
        seen_events.add(body["id"])
        data = event["data"]
        assert data["fromMe"] is True and data["numberId"] == world["number_id"]
        assert data["internalMessageId"] == data["id"]
        order[data["id"]].append(event["event"])
    for mid in ids:
        assert order[mid] == ["message.sent", "message.delivered", "message.read"], order
    first_sent = next(
        json.loads(i.body)["data"]
        for i in receiver.snapshot()
        if json.loads(i.body)["event"] == "message.sent" and json.loads(i.body)["data"]["id"] == ids[1]
    )
    assert first_sent["content"] == "Olá Ana, seu pedido 42 saiu!"
    assert first_sent["correlationId"] == accepted[1]["correlationId"]


def test_sdk_sees_errors_and_replays(world):
    client = world["client"]
    body = {"destinationNumber": DEST, "text": "once"}
    first = client.messages.send(body, idempotency_key="k")
    assert client.messages.send(body, idempotency_key="k") == first
    with pytest.raises(ConflictError) as conflict:
        client.messages.send({**body, "text": "twice"}, idempotency_key="k")
    assert conflict.value.body["code"] == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(ValidationError) as invalid:
        client.messages.send({"destinationNumber": "nope", "text": "x"})
    assert invalid.value.body["code"] == "INVALID_DESTINATION"
    with pytest.raises(ForbiddenError) as forbidden:
        world["admin"].messages.send(body)
    assert forbidden.value.body["code"] == "TENANT_SCOPE_NOT_ALLOWED"
    failed = client.messages.send({"destinationNumber": "+5511900000001", "text": "x"})
    wait_until(lambda: client.messages.get(failed["id"])["status"] == "FAILED")
    assert client.messages.get(failed["id"])["errorCode"] == "WHATSAPP_NOT_EXIST"
    receiver = world["receiver"]
    items = receiver.wait_for(lambda xs: any(json.loads(i.body)["event"] == "message.failed" for i in xs))
    failed_event = next(
        _verify(i, world["secret"]) for i in items if json.loads(i.body)["event"] == "message.failed"
    )
    assert failed_event["data"]["errorCode"] == "WHATSAPP_NOT_EXIST"
    assert failed_event["data"]["error"]
    scheduled = client.messages.send({**body, "text": "later", "deliverAt": _in_a_day()})
    assert client.messages.cancel([scheduled["id"]]) == {"cancelled": [scheduled["id"]], "failed": []}


def test_inbound_message_webhook_parses(world):
    world["http"].post("/v1/sandbox/inbound", json={"from": DEST, "text": "Oi", "name": "Ana"})
    items = world["receiver"].wait_for(
        lambda xs: any(json.loads(i.body)["event"] == "message.received" for i in xs)
    )
    event = next(
        _verify(i, world["secret"]) for i in items if json.loads(i.body)["event"] == "message.received"
    )
    assert event["data"]["from"] == DEST and event["data"]["content"] == "Oi"
    assert event["data"]["participantName"] == "Ana" and event["data"]["fromMe"] is False
