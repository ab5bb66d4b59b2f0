"""Idempotency-Key: replay, reuse with another body, in use — and nothing sent twice."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from tests.helpers import DEST, assert_error, send, with_container
from zapgate.clock import FakeClock
from zapgate.services import sending
from zapgate.storage import tables

BODY = {"destinationNumber": DEST, "text": "once"}


def _total(api, key):
    return api.get("/v1/messages", key, params={"pageSize": 1}).json()["total"]


def test_replay_returns_the_original_response(api, number):
    first = send(api, number["key"], BODY, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == 202
    assert "idempotent-replayed" not in first.headers
    again = send(api, number["key"], BODY, headers={"Idempotency-Key": "order-42"})
    assert again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert _total(api, number["key"]) == 1


def test_a_key_stored_before_an_upgrade_replays_the_same_response(api, number, settings):
    # Records written by earlier versions kept the 202 body itself; they are still replayed.
    first = send(api, number["key"], BODY, headers={"Idempotency-Key": "legacy"})
    assert first.status_code == 202

    async def store_the_old_way(container):
        async with container.db.write() as conn:
            await conn.execute(
                sa.update(tables.idempotency_keys)
                .where(tables.idempotency_keys.c.key == "legacy")
                .values(response_body=json.dumps(first.json()))
            )

    with_container(settings, store_the_old_way)
    again = send(api, number["key"], BODY, headers={"Idempotency-Key": "legacy"})
    assert again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert _total(api, number["key"]) == 1


def test_same_key_other_body_is_refused(api, number):
    assert send(api, number["key"], BODY, headers={"Idempotency-Key": "k1"}).status_code == 202
    r = send(api, number["key"], {**BODY, "text": "different"}, headers={"Idempotency-Key": "k1"})
    assert_error(r, 409, "IDEMPOTENCY_KEY_REUSED")
    assert _total(api, number["key"]) == 1


def test_key_in_use_while_first_request_runs(api, tenant, number, settings):
    reservation = sending.Reservation(tenant["id"], number["id"], "busy", sending.request_hash(BODY))
    with_container(settings, lambda c: sending.reserve(c, reservation))
    assert_error(
        send(api, number["key"], BODY, headers={"Idempotency-Key": "busy"}), 409, "IDEMPOTENCY_KEY_IN_USE"
    )
    assert_error(
        send(api, number["key"], {**BODY, "text": "other"}, headers={"Idempotency-Key": "busy"}),
        409,
        "IDEMPOTENCY_KEY_IN_USE",
    )
    with_container(settings, lambda c: sending.release(c, reservation))
    assert send(api, number["key"], BODY, headers={"Idempotency-Key": "busy"}).status_code == 202


def test_stale_reservation_of_a_crashed_request_expires(start_server, api_for, make_tenant, make_settings):
    # The crashed request held the key for 0.2 s; then a retry may take it over. The server and
    # the crashed request share a fake clock: the lock is checked just before and after its end.
    clock = FakeClock()
    api = api_for(start_server(clock=clock))
    tenant = make_tenant()
    number = api.create_number(tenant["key"])
    settings = make_settings(idempotency_lock_seconds=0.2)
    reservation = sending.Reservation(tenant["id"], number["id"], "crashed", sending.request_hash(BODY))
    with_container(settings, lambda c: sending.reserve(c, reservation), clock=clock)
    clock.advance(0.199)
    assert_error(
        send(api, number["key"], BODY, headers={"Idempotency-Key": "crashed"}), 409, "IDEMPOTENCY_KEY_IN_USE"
    )
    clock.advance(0.001)
    assert send(api, number["key"], BODY, headers={"Idempotency-Key": "crashed"}).status_code == 202


def test_only_success_is_remembered(api, number):
    bad = {"destinationNumber": "nope", "text": "x"}
    assert_error(
        send(api, number["key"], bad, headers={"Idempotency-Key": "fixme"}), 400, "INVALID_DESTINATION"
    )
    fixed = send(api, number["key"], BODY, headers={"Idempotency-Key": "fixme"})
    assert fixed.status_code == 202


def test_key_scope_is_per_number(api, tenant, number):
    other = api.create_number(tenant["key"])
    a = send(api, number["key"], BODY, headers={"Idempotency-Key": "shared"})
    b = send(api, other["key"], BODY, headers={"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"]


def test_invalid_keys(api, number):
    for key in ("x" * 256, "bad\tkey"):
        assert_error(
            send(api, number["key"], BODY, headers={"Idempotency-Key": key}), 400, "IDEMPOTENCY_KEY_INVALID"
        )


def test_concurrent_retries_create_exactly_one_message(api, number):
    def attempt(_):
        return send(api, number["key"], BODY, headers={"Idempotency-Key": "storm"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(attempt, range(40)))
    accepted = [r for r in responses if r.status_code == 202]
    assert accepted, [r.text for r in responses]
    assert {r.json()["id"] for r in accepted} == {accepted[0].json()["id"]}
    for r in responses:
        if r.status_code != 202:
            assert_error(r, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert _total(api, number["key"]) == 1
