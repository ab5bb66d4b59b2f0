"""Dual links: a QR-paired number gets a second linked device (a second instance at Evolution v2
/ GO, paired to the same phone). Both links report through Zapgate's callback, each with its own
secret; the number sends through the secondary link while the primary is down and is
disconnected only when both are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.contract.worlds import World
from tests.helpers import assert_error

CONTACT = "+5511988887777"
KINDS = ("evolution-v2", "evolution-go")


@pytest.fixture(params=KINDS)
def evo(request: pytest.FixtureRequest, make_world: Callable[..., World]) -> World:
    return make_world(request.param)


def _number(world: World) -> dict[str, Any]:
    body: dict[str, Any] = world.api.get(f"/v1/numbers/{world.number['id']}", world.tenant["key"]).json()
    return body


def _listed(world: World) -> dict[str, Any]:
    [item] = [
        n for n in world.api.get("/v1/numbers", world.tenant["key"]).json() if n["id"] == world.number["id"]
    ]
    return dict(item)


def _secondary(world: World) -> str:
    return world.instance + "-2"


def _upgrade(world: World) -> dict[str, Any]:
    response = world.api.post(f"/v1/numbers/{world.number['id']}/upgrade-to-dual", world.tenant["key"])
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _dual(world: World) -> None:
    """Upgrade the world's number and pair its secondary link."""
    _upgrade(world)
    world.control("POST", f"/_sim/instances/{_secondary(world)}/pair", {})
    wait_until(lambda: (_number(world)["secondaryLink"] or {}).get("state") == "OPEN", timeout=15)


def _disconnect(world: World, instance: str) -> None:
    event = {"reason": 401} if world.kind == "evolution-v2" else {"event": "LoggedOut"}
    world.control("POST", f"/_sim/instances/{instance}/disconnect", event)


def _sent_through(world: World) -> list[str]:
    """The instance of every message the simulator was asked to send."""
    found = world.control("GET", "/_sim/messages")
    items = found if isinstance(found, list) else found.get("messages", [])
    return [str(m.get("instance") or m.get("instanceName") or "") for m in items]


# -- adding the second link ----------------------------------------------------------------------


def test_upgrading_creates_a_second_instance_and_returns_its_pairing(evo: World) -> None:
    before = _listed(evo)
    assert before["secondaryLink"] is None and before["isFullyConnected"] is True

    upgraded = _upgrade(evo)
    assert set(upgraded) == {"secondaryLink"}
    assert upgraded["secondaryLink"]["qrcodeBase64"].startswith("data:image/png;base64,")

    # The secondary is a second instance for the same phone at the provider.
    instances = evo.control("GET", "/_sim/instances")
    names = [
        i.get("name") or i.get("instanceName") for i in (instances if isinstance(instances, list) else [])
    ]
    assert _secondary(evo) in names, instances

    number = _number(evo)
    assert number["secondaryLink"]["state"] in ("CONNECTING", "CLOSE")
    assert number["secondaryLink"]["connectedAt"] is None
    assert number["primaryLink"]["state"] == "OPEN"
    # Not every link is open yet, but the number still sends through its primary.
    assert number["isFullyConnected"] is False and number["health"]["sendable"] is True
    assert _listed(evo)["secondaryLink"]["state"] == number["secondaryLink"]["state"]

    again = evo.api.post(f"/v1/numbers/{evo.number['id']}/upgrade-to-dual", evo.tenant["key"])
    assert_error(again, 409, "DUAL_LINK_EXISTS")

    fresh = evo.api.get(
        f"/v1/numbers/{evo.number['id']}/connect", evo.tenant["key"], params={"link": "secondary"}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["qrcodeBase64"].startswith("data:image/png;base64,")


def test_pairing_the_secondary_link_makes_the_number_fully_connected(evo: World) -> None:
    _dual(evo)
    number = _number(evo)
    assert number["isFullyConnected"] is True and number["secondaryLink"]["connectedAt"]
    status = evo.api.get(
        f"/v1/numbers/{evo.number['id']}/status", evo.tenant["key"], params={"link": "secondary"}
    ).json()
    assert status["state"] == "OPEN" and status["stale"] is False and status["isFullyConnected"] is True
    assert_error(
        evo.api.get(
            f"/v1/numbers/{evo.number['id']}/connect", evo.tenant["key"], params={"link": "secondary"}
        ),
        409,
        "NUMBER_ALREADY_CONNECTED",
    )
    # Pairing a second device is not a (re)connection of the number.
    assert [e for e in evo.events() if e["event"] == "number.connected"] == []


# -- failover ------------------------------------------------------------------------------------


def test_the_number_sends_through_the_secondary_while_the_primary_is_down(evo: World) -> None:
    _dual(evo)
    _disconnect(evo, evo.instance)
    wait_until(lambda: _number(evo)["primaryLink"]["state"] == "CLOSE", timeout=15)
    number = _number(evo)
    assert number["isFullyConnected"] is False
    # The other link works: the number is neither unhealthy nor disconnected.
    assert number["health"]["code"] == "OK" and number["health"]["sendable"] is True

    message_id = evo.send_accepted({"destinationNumber": CONTACT, "text": "pelo segundo aparelho"})
    evo.wait_status(message_id, "READ")
    assert _sent_through(evo)[-1] == _secondary(evo)

    # An inbound message through the secondary link reaches the customer.
    evo.control(
        "POST",
        "/_sim/inbound",
        {"instance": _secondary(evo), "from": CONTACT.lstrip("+"), "text": "oi", "type": "text"},
    )
    evo.wait_events(lambda e: e["event"] == "message.received" and e["data"].get("content") == "oi")
    assert [e for e in evo.events() if e["event"] == "number.disconnected"] == []

    # Both links down: now the number is disconnected, once.
    _disconnect(evo, _secondary(evo))
    [gone] = evo.wait_events(lambda e: e["event"] == "number.disconnected")
    assert gone["data"]["numberId"] == evo.number["id"]
    assert _number(evo)["health"]["sendable"] is False

    # The primary comes back: connected again, and it sends through the primary.
    fresh = evo.api.get(f"/v1/numbers/{evo.number['id']}/connect", evo.tenant["key"])
    assert fresh.status_code == 200, fresh.text
    evo.control("POST", f"/_sim/instances/{evo.instance}/pair", {})
    evo.wait_events(lambda e: e["event"] == "number.connected")
    again = evo.send_accepted({"destinationNumber": CONTACT, "text": "de volta"})
    evo.wait_status(again, "SENT")
    assert _sent_through(evo)[-1] == evo.instance


def test_a_primary_that_dropped_silently_fails_over_within_the_attempt(
    make_world: Callable[..., World],
) -> None:
    """Evolution answers "Connection Closed" before the disconnection callback arrives: the
    same attempt goes through the secondary link, and the message is sent once."""
    world = make_world("evolution-v2")
    _dual(world)
    closed = {"status": 500, "error": "Internal Server Error", "response": {"message": "Connection Closed"}}
    world.control(
        "POST",
        "/_sim/faults",
        {
            "kind": "http",
            "path": f"/message/sendText/{world.instance}",
            "status": 500,
            "body": closed,
            "times": 1,
        },
    )
    message_id = world.send_accepted({"destinationNumber": CONTACT, "text": "failover"})
    world.wait_status(message_id, "SENT")
    assert _sent_through(world) == [_secondary(world)]
    timeline = world.timeline(message_id)
    assert not [e for e in timeline if e.get("code") == "RETRY_SCHEDULED"], timeline


# -- errors and clean-up -------------------------------------------------------------------------


def test_a_number_with_one_link_has_no_secondary(evo: World) -> None:
    for path in ("connect", "status"):
        response = evo.api.get(
            f"/v1/numbers/{evo.number['id']}/{path}", evo.tenant["key"], params={"link": "secondary"}
        )
        assert_error(response, 404, "SECONDARY_LINK_NOT_FOUND")
    bad = evo.api.get(f"/v1/numbers/{evo.number['id']}/status", evo.tenant["key"], params={"link": "third"})
    assert_error(bad, 400, "VALIDATION_ERROR")


def test_purging_a_dual_number_removes_both_instances(evo: World) -> None:
    _upgrade(evo)
    response = evo.api.delete(f"/v1/numbers/{evo.number['id']}/purge", evo.tenant["key"])
    assert response.status_code == 200, response.text
    instances = evo.control("GET", "/_sim/instances")
    names = [
        i.get("name") or i.get("instanceName") for i in (instances if isinstance(instances, list) else [])
    ]
    assert evo.instance not in names and _secondary(evo) not in names, names


def test_sandbox_and_meta_numbers_have_no_dual_links(make_world: Callable[..., World]) -> None:
    sandbox = make_world("sandbox")
    response = sandbox.api.post(f"/v1/numbers/{sandbox.number['id']}/upgrade-to-dual", sandbox.tenant["key"])
    assert_error(response, 501, "NOT_SUPPORTED")
    meta = make_world("meta")
    response = meta.api.post(f"/v1/numbers/{meta.number['id']}/upgrade-to-dual", meta.tenant["key"])
    assert_error(response, 400, "NOT_SUPPORTED_FOR_META")
