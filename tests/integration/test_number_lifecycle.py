"""A number's settings (PATCH), its 30-day soft delete, restore and purge over the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tests.contract.worlds import World, build_world, close_world
from tests.helpers import DEST, assert_error, send, wait_status, with_container
from zapgate.clock import parse_iso
from zapgate.container import Container
from zapgate.settings import Settings
from zapgate.storage import tables as t
from zapgate.testing import WebhookReceiver

DAY_MS = 86_400_000


def _patch(api: Api, key: str, number_id: str, body: Any) -> Any:
    return api.patch(f"/v1/numbers/{number_id}", key, json=body)


def _backdate_deletion(settings: Settings, number_id: str, days: float) -> None:
    async def run(container: Container) -> None:
        async with container.db.write() as conn:
            await conn.execute(
                sa.update(t.numbers)
                .where(t.numbers.c.id == number_id)
                .values(deleted_at=t.numbers.c.deleted_at - int(days * DAY_MS))
            )

    with_container(settings, run)


def _count(settings: Settings, table: sa.Table, number_id: str) -> int:
    async def run(container: Container) -> int:
        async with container.db.read() as conn:
            return int(
                (
                    await conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(table.c.number_id == number_id)
                    )
                ).scalar_one()
            )

    return with_container(settings, run)


# -- PATCH --------------------------------------------------------------------------------------


def test_patch_sets_pii_mode_settings_and_pace_together(api, tenant, number):
    response = _patch(
        api,
        tenant["key"],
        number["id"],
        {
            "piiMode": "STORE_X_DAYS",
            "piiRetentionDays": 30,
            "pacePerSecond": 3,
            "settings": {"markReadOnSend": False, "rejectCall": True, "msgRejectCall": "Busy"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["piiMode"] == "STORE_X_DAYS" and body["piiRetentionDays"] == 30
    assert body["pacePerSecond"] == 3
    settings = body["settings"]
    assert settings["markReadOnSend"] is False and settings["rejectCall"] is True
    assert settings["msgRejectCall"] == "Busy"
    assert settings["historyImportEnabled"] is True  # merged, not replaced
    again = _patch(api, tenant["key"], number["id"], {"settings": {"rejectCall": None}}).json()
    assert again["settings"]["rejectCall"] is None and again["settings"]["markReadOnSend"] is False
    assert api.get(f"/v1/numbers/{number['id']}", tenant["key"]).json()["pacePerSecond"] == 3


def test_retention_days_are_required_for_store_x_days_and_dropped_otherwise(api, tenant, number):
    missing = assert_error(
        _patch(api, tenant["key"], number["id"], {"piiMode": "STORE_X_DAYS"}), 400, "VALIDATION_ERROR"
    )
    assert [d["field"] for d in missing["details"]] == ["piiRetentionDays"]
    for days in (0, 3651, 2.5, "30", True):
        assert_error(
            _patch(api, tenant["key"], number["id"], {"piiMode": "STORE_X_DAYS", "piiRetentionDays": days}),
            400,
            "VALIDATION_ERROR",
        )
    _patch(api, tenant["key"], number["id"], {"piiMode": "STORE_X_DAYS", "piiRetentionDays": 7})
    longer = _patch(api, tenant["key"], number["id"], {"piiRetentionDays": 3650}).json()
    assert longer["piiMode"] == "STORE_X_DAYS" and longer["piiRetentionDays"] == 3650
    relay = _patch(api, tenant["key"], number["id"], {"piiMode": "RELAY_ONLY", "piiRetentionDays": 5}).json()
    assert relay["piiMode"] == "RELAY_ONLY" and relay["piiRetentionDays"] is None


def test_bad_patches_are_refused_whole(api, tenant, number):
    key, number_id = tenant["key"], number["id"]
    assert_error(api.patch(f"/v1/numbers/{number_id}", key), 400, "EMPTY_PATCH")
    assert_error(_patch(api, key, number_id, {}), 400, "EMPTY_PATCH")
    unknown = assert_error(
        _patch(api, key, number_id, {"settings": {"teleport": True}}), 400, "VALIDATION_ERROR"
    )
    assert unknown["details"] == [{"field": "settings.teleport", "message": "unknown setting"}]
    body = assert_error(
        _patch(
            api,
            key,
            number_id,
            {
                "pacePerSecond": 2,
                "piiMode": "FOREVER",
                "colour": "red",
                "settings": {"markReadOnSend": None, "alwaysOnline": "yes", "msgRejectCall": "x" * 1001},
            },
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert {d["field"] for d in body["details"]} == {
        "colour",
        "piiMode",
        "settings.markReadOnSend",
        "settings.alwaysOnline",
        "settings.msgRejectCall",
    }
    assert_error(_patch(api, key, number_id, {"settings": []}), 400, "VALIDATION_ERROR")
    detail = api.get(f"/v1/numbers/{number_id}", key).json()
    assert detail["pacePerSecond"] is None and detail["piiMode"] == "STORE_INDEFINITE"


def test_settings_read_back_can_be_sent_again(api, tenant, number):
    read = api.get(f"/v1/numbers/{number['id']}", tenant["key"]).json()["settings"]
    response = _patch(api, tenant["key"], number["id"], {"settings": read})
    assert response.status_code == 200, response.text


def test_patch_scope(api, tenant, number, make_tenant):
    own = _patch(api, number["key"], number["id"], {"piiMode": "RELAY_ONLY"})
    assert own.status_code == 200, own.text
    other = api.create_number(tenant["key"])
    assert_error(_patch(api, number["key"], other["id"], {"piiMode": "RELAY_ONLY"}), 404, "NUMBER_NOT_FOUND")
    stranger = make_tenant(name="Other")
    assert_error(
        _patch(api, stranger["key"], number["id"], {"piiMode": "RELAY_ONLY"}), 404, "NUMBER_NOT_FOUND"
    )


# -- soft delete ----------------------------------------------------------------------------------


def test_soft_delete_hides_the_number_and_stops_its_key(api, tenant, number):
    before = int(time.time() * 1000)
    response = api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    until = parse_iso(body["restorableUntil"]) - 30 * DAY_MS
    assert before - 1000 <= until <= int(time.time() * 1000) + 1000
    assert api.get("/v1/numbers", tenant["key"]).json() == []
    assert_error(api.get(f"/v1/numbers/{number['id']}", tenant["key"]), 404, "NUMBER_NOT_FOUND")
    assert_error(send(api, number["key"], {"destinationNumber": DEST, "text": "hi"}), 401, "UNAUTHORIZED")
    assert_error(api.delete(f"/v1/numbers/{number['id']}", tenant["key"]), 404, "NUMBER_NOT_FOUND")
    assert api.get("/v1/api-keys", tenant["key"]).json() == []


def test_a_recently_deleted_phone_cannot_be_added_again(api, tenant, number):
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    again = assert_error(
        api.post("/v1/numbers", tenant["key"], json={"name": "Again", "number": number["number"]}),
        409,
        "NUMBER_SOFT_DELETED",
    )
    assert again["details"][0]["field"] == "number"


def test_lifecycle_routes_need_the_tenant_key(api, tenant, number):
    for method, path in (("DELETE", ""), ("POST", "/restore"), ("DELETE", "/purge")):
        assert_error(
            api.request(method, f"/v1/numbers/{number['id']}{path}", number["key"]),
            403,
            "NUMBER_SCOPE_NOT_ALLOWED",
        )


def test_lifecycle_routes_answer_404_for_another_workspace(api, number, make_tenant):
    stranger = make_tenant(name="Other")
    for method, path in (("DELETE", ""), ("POST", "/restore"), ("DELETE", "/purge")):
        assert_error(
            api.request(method, f"/v1/numbers/{number['id']}{path}", stranger["key"]), 404, "NUMBER_NOT_FOUND"
        )
    assert api.get(f"/v1/numbers/{number['id']}", number["key"]).status_code == 200


# -- restore --------------------------------------------------------------------------------------


def test_restore_gives_the_number_back_with_its_key(api, tenant, number, wait):
    _patch(api, tenant["key"], number["id"], {"settings": {"markReadOnSend": False}})
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    restored = api.post(f"/v1/numbers/{number['id']}/restore", tenant["key"])
    assert restored.status_code == 200, restored.text
    assert restored.json() == {"ok": True, "requiresReconnect": False}
    detail = api.get(f"/v1/numbers/{number['id']}", number["key"]).json()
    assert detail["settings"]["markReadOnSend"] is False and detail["state"] == "OPEN"
    sent = send(api, number["key"], {"destinationNumber": DEST, "text": "back"})
    assert sent.status_code == 202, sent.text
    wait_status(api, wait, number["key"], sent.json()["id"], "DELIVERED", or_later=True)
    assert_error(api.post(f"/v1/numbers/{number['id']}/restore", tenant["key"]), 409, "NUMBER_ALREADY_ACTIVE")


def test_restore_window_is_thirty_days(api, tenant, number, settings):
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    _backdate_deletion(settings, number["id"], 29.9)
    assert api.post(f"/v1/numbers/{number['id']}/restore", tenant["key"]).status_code == 200
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    _backdate_deletion(settings, number["id"], 30.1)
    assert_error(api.post(f"/v1/numbers/{number['id']}/restore", tenant["key"]), 404, "NUMBER_NOT_FOUND")
    # Past the window the phone is free again.
    assert (
        api.post("/v1/numbers", tenant["key"], json={"name": "New", "number": number["number"]}).status_code
        == 201
    )


def test_restore_respects_the_plan_limit(api, make_tenant):
    free = make_tenant(plan="FREE")
    first = api.create_number(free["key"])
    api.delete(f"/v1/numbers/{first['id']}", free["key"])
    api.create_number(free["key"])  # the deleted number released its slot
    assert_error(api.post(f"/v1/numbers/{first['id']}/restore", free["key"]), 409, "NUMBER_LIMIT_EXCEEDED")


# -- purge ----------------------------------------------------------------------------------------


def test_purge_removes_the_number_and_everything_it_owns(api, tenant, number, settings, wait, receiver):
    sent = send(api, number["key"], {"destinationNumber": DEST, "text": "bye"})
    wait_status(api, wait, number["key"], sent.json()["id"], "DELIVERED", or_later=True)
    api.post("/v1/webhooks", number["key"], json={"url": receiver.url})
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    purged = api.delete(f"/v1/numbers/{number['id']}/purge", tenant["key"])
    assert purged.status_code == 200 and purged.json() == {"ok": True}
    for table in (t.messages, t.api_keys, t.webhook_endpoints):
        assert _count(settings, table, number["id"]) == 0, table.name
    assert_error(api.post(f"/v1/numbers/{number['id']}/restore", tenant["key"]), 404, "NUMBER_NOT_FOUND")
    assert_error(api.delete(f"/v1/numbers/{number['id']}/purge", tenant["key"]), 404, "NUMBER_NOT_FOUND")
    assert (
        api.post("/v1/numbers", tenant["key"], json={"name": "Again", "number": number["number"]}).status_code
        == 201
    )


def test_an_active_number_can_be_purged_at_once(api, tenant, number):
    assert api.delete(f"/v1/numbers/{number['id']}/purge", tenant["key"]).json() == {"ok": True}
    assert api.get("/v1/numbers", tenant["key"]).json() == []
    assert_error(api.get("/v1/numbers", number["key"]), 401, "UNAUTHORIZED")


# -- Evolution numbers ----------------------------------------------------------------------------


@pytest.fixture
def evo(
    make_settings: Callable[..., Any], make_tenant: Callable[..., dict[str, Any]], receiver: WebhookReceiver
) -> Iterator[World]:
    world = build_world(
        "evolution-v2", make_settings=make_settings, make_tenant=make_tenant, receiver=receiver
    )
    yield world
    close_world(world)


def test_restoring_an_evolution_number_checks_the_link_again(evo: World) -> None:
    number_id, key = evo.number["id"], evo.tenant["key"]
    evo.api.delete(f"/v1/numbers/{number_id}", key)
    # Logged out while deleted: the callback is ignored, the live check on restore is not.
    evo.control("POST", f"/_sim/instances/{evo.instance}/disconnect", {"reason": 401})
    restored = evo.api.post(f"/v1/numbers/{number_id}/restore", key).json()
    assert restored == {"ok": True, "requiresReconnect": True}
    assert evo.api.get(f"/v1/numbers/{number_id}", key).json()["state"] != "OPEN"


def test_purging_an_evolution_number_removes_its_instance(evo: World) -> None:
    assert evo.instance in json.dumps(evo.control("GET", "/_sim/instances"))
    purged = evo.api.delete(f"/v1/numbers/{evo.number['id']}/purge", evo.tenant["key"])
    assert purged.status_code == 200, purged.text
    assert evo.instance not in json.dumps(evo.control("GET", "/_sim/instances"))


def test_removal_and_restore_are_webhook_events(api, tenant, number, receiver):
    """``number.removed`` and ``number.restored`` reach the number's endpoints, each once, in
    the SDK's shape."""
    from pilot_status.webhooks import parse_customer_webhook

    r = api.post("/v1/webhooks", number["key"], json={"url": receiver.url, "events": ["*"]})
    assert r.status_code == 201, r.text
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])
    api.delete(f"/v1/numbers/{number['id']}", tenant["key"])  # deleted already: no second event
    assert api.post(f"/v1/numbers/{number['id']}/restore", tenant["key"]).status_code == 200

    def number_events(hooks: list[Any]) -> list[str]:
        return [h.json()["event"] for h in hooks if h.json()["event"].startswith("number.")]

    hooks = receiver.wait_for(lambda got: len(number_events(got)) >= 2)
    assert number_events(hooks) == ["number.removed", "number.restored"]
    for hook in hooks:
        parsed = parse_customer_webhook(hook.json())
        if parsed["event"].startswith("number."):
            assert parsed["data"]["numberId"] == number["id"] and parsed["data"]["phone"].startswith("+")


def test_a_number_created_with_its_webhook_reports_number_created(api, tenant, receiver):
    """Endpoints belong to a number, so ``number.created`` goes to the one made with it
    (``webhook`` in the create body), signed, in the SDK's shape; its secret is shown once."""
    from pilot_status.webhooks import parse_customer_webhook

    body = {
        "name": "Loja",
        "number": "+5511977771234",
        "webhook": {"url": receiver.url, "events": ["number.created", "message.sent"], "name": "ops"},
    }
    created = api.post("/v1/numbers", tenant["key"], json=body)
    assert created.status_code == 201, created.text
    number_id = created.json()["instance"]["id"]
    hook = created.json()["webhook"]
    assert hook["secret"].startswith("whsec_") and hook["name"] == "ops"
    assert hook["events"] == ["number.created", "message.sent"] and hook["whatsappNumberIds"] == [number_id]

    [delivered] = receiver.wait_for(lambda got: len(got) >= 1)
    parsed = parse_customer_webhook(delivered.json(), unknown_events="raise")
    assert parsed["event"] == "number.created"
    assert parsed["data"]["numberId"] == number_id and parsed["data"]["phone"] == "+5511977771234"
    signed = hmac.new(hook["secret"].encode(), delivered.body, hashlib.sha256).hexdigest()
    assert delivered.headers["x-pilot-status-signature"] == signed
    listed = api.get("/v1/webhooks", tenant["key"], headers={"x-whatsapp-number-id": number_id}).json()
    assert [w["id"] for w in listed] == [hook["id"]] and "secret" not in listed[0]


def test_a_bad_webhook_in_the_create_body_creates_nothing(api, tenant):
    for webhook, field in (
        ({"url": "ftp://hooks.example.com"}, "url"),
        ({"url": "https://hooks.example.com", "events": ["message.teleported"]}, "events[0]"),
        ("https://hooks.example.com", "webhook"),
    ):
        body = {"name": "Loja", "number": "+5511977774321", "webhook": webhook}
        problem = assert_error(api.post("/v1/numbers", tenant["key"], json=body), 400, "VALIDATION_ERROR")
        assert field in str(problem), problem
    assert api.get("/v1/numbers", tenant["key"]).json() == []
