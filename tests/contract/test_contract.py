"""The provider contract: the same scenarios, through the public API and the official SDK's
webhook parser, over all four providers (sandbox, and Meta / Evolution v2 / Evolution GO through
their simulators over loopback HTTP)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.contract.worlds import PROVIDERS, World

CONTACT = "+5511988887777"
SENT_DELIVERED_READ = ["message.sent", "message.delivered", "message.read"]


@pytest.fixture(params=PROVIDERS)
def world(request: pytest.FixtureRequest, make_world: Callable[..., World]) -> World:
    return make_world(request.param)


def _lifecycle(world: World, message_id: str) -> list[str]:
    return [e["status"] for e in world.timeline(message_id) if e["applied"]]


def test_free_text_reaches_read_with_ordered_webhooks(world: World) -> None:
    world.open_window(CONTACT)
    message_id = world.send_accepted({"destinationNumber": CONTACT, "text": "Seu pedido saiu"})
    done = world.wait_status(message_id, "READ")
    assert done["externalMessageId"]
    events = world.wait_events(lambda e: e["data"].get("id") == message_id, count=3)
    assert [e["event"] for e in events] == SENT_DELIVERED_READ
    assert {e["data"]["messageId"] for e in events} == {done["externalMessageId"]}
    assert _lifecycle(world, message_id) == ["QUEUED", "SENT", "DELIVERED", "READ"]


def test_media_by_url_reaches_read(world: World) -> None:
    world.open_window(CONTACT)
    message_id = world.send_accepted(
        {
            "destinationNumber": CONTACT,
            "media": "https://example.com/foto.jpg",
            "mediaType": "image",
            "caption": "A foto",
        }
    )
    world.wait_status(message_id, "READ")
    assert world.message_events(message_id, 3) == SENT_DELIVERED_READ


def test_recipient_not_on_whatsapp_fails_with_its_code(world: World) -> None:
    world.open_window(CONTACT)
    destination = world.make_unknown("+5511977776666")
    world.open_window(destination)
    message_id = world.send_accepted({"destinationNumber": destination, "text": "Oi"})
    failed = world.wait_status(message_id, "FAILED")
    assert failed["errorCode"] == "WHATSAPP_NOT_EXIST", failed
    [event] = world.wait_events(lambda e: e["event"] == "message.failed" and e["data"]["id"] == message_id)
    assert event["data"]["errorCode"] == "WHATSAPP_NOT_EXIST"
    assert event["data"]["error"]


def test_transient_provider_errors_are_retried_then_delivered(world: World) -> None:
    world.open_window(CONTACT)
    destination = CONTACT
    if world.kind == "sandbox":
        destination = "+5511900000003"  # two transient errors, then delivered
    else:
        world.fail_next_send(destination, times=2)
    message_id = world.send_accepted({"destinationNumber": destination, "text": "Retry me"})
    world.wait_status(message_id, "READ", timeout=20)
    retries = [e for e in world.timeline(message_id) if e["code"] == "RETRY_SCHEDULED"]
    assert len(retries) == 2, world.timeline(message_id)
    assert world.message_events(message_id, 3) == SENT_DELIVERED_READ


def test_inbound_message_and_reply_to_our_message(world: World) -> None:
    world.open_window(CONTACT)
    world.inbound(CONTACT, "Cadê meu pedido?")
    [received] = world.wait_events(
        lambda e: e["event"] == "message.received" and e["data"].get("content") == "Cadê meu pedido?"
    )
    assert received["data"]["from"] == CONTACT
    assert received["data"]["to"] == world.number["number"]
    message_id = world.send_accepted({"destinationNumber": CONTACT, "text": "Saiu para entrega"})
    provider_id = world.wait_status(message_id, "READ")["externalMessageId"]
    world.inbound(CONTACT, "Obrigada!", reply_to=provider_id)
    [reply] = world.wait_events(lambda e: e["event"] == "message.reply")
    assert reply["data"]["quotedMessageId"] == provider_id
    assert reply["data"]["content"] == "Obrigada!"


def test_duplicated_and_reordered_callbacks_leave_one_lifecycle(world: World) -> None:
    if world.sim is None:
        pytest.skip("the sandbox has no provider callbacks to duplicate")
    world.open_window(CONTACT)
    world.sim_config(duplicates=True, reorder=True)
    message_id = world.send_accepted({"destinationNumber": CONTACT, "text": "Once only"})
    world.wait_status(message_id, "READ")
    world.sim_config(duplicates=False, reorder=False)
    # A later message proves every callback of the first one has been applied.
    world.open_window("+5511955554444")
    marker = world.send_accepted({"destinationNumber": "+5511955554444", "text": "after"})
    world.wait_status(marker, "READ")
    assert _lifecycle(world, message_id) == ["QUEUED", "SENT", "DELIVERED", "READ"]
    assert world.message_events(message_id, 3) == SENT_DELIVERED_READ


def test_disconnected_number_keeps_its_queue_until_it_reconnects(world: World) -> None:
    if world.kind not in ("evolution-v2", "evolution-go"):
        pytest.skip("only QR-paired numbers disconnect")
    event = {"reason": 401} if world.kind == "evolution-v2" else {"event": "LoggedOut"}
    world.control("POST", f"/_sim/instances/{world.instance}/disconnect", event)
    world.wait_events(lambda e: e["event"] == "number.disconnected")
    message_id = world.send_accepted({"destinationNumber": CONTACT, "text": "Waits"})
    assert world.message(message_id)["status"] == "QUEUED"
    fresh = world.api.get(f"/v1/numbers/{world.number['id']}/connect", world.tenant["key"])
    assert fresh.status_code == 200, fresh.text
    assert world.message(message_id)["status"] == "QUEUED"
    world.control("POST", f"/_sim/instances/{world.instance}/pair", {})
    world.wait_events(lambda e: e["event"] == "number.connected")
    world.wait_status(message_id, "READ")
