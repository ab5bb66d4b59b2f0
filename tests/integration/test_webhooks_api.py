"""``/v1/webhooks``: CRUD, scopes, validation and every error code, over a real server and DB."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import assert_error, with_container
from zapgate.clock import parse_iso
from zapgate.storage import tables as t

HOOK_URL = "https://hooks.acme.com/whatsapp"
OBJECT_KEYS = {
    "id",
    "tenantId",
    "name",
    "url",
    "environment",
    "active",
    "events",
    "apiKeys",
    "lastTriggered",
    "whatsappNumberIds",
    "whatsappInstanceIds",
    "createdAt",
    "updatedAt",
}


def create(api: Any, key: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
    return api.post("/v1/webhooks", key, json={"url": HOOK_URL, **(body or {})}, **kw)


def created(api: Any, key: str, **body: Any) -> dict[str, Any]:
    r = create(api, key, body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


@pytest.fixture
def other_tenant(make_tenant: Any, server: Any) -> dict[str, Any]:
    return make_tenant(name="Other")


# --- create --------------------------------------------------------------------------------


def test_create_with_number_key_returns_the_object_and_the_secret_once(api, tenant, number):
    body = created(api, number["key"], events=["message.sent", "message.read"])
    assert set(body) >= OBJECT_KEYS
    assert body["id"].startswith("wh_") and body["tenantId"] == tenant["id"]
    assert body["name"] == "hooks.acme.com" and body["url"] == HOOK_URL
    assert body["environment"] == "LIVE" and body["active"] is True
    assert body["events"] == ["message.sent", "message.read"]
    assert body["whatsappNumberIds"] == [number["id"]] and body["whatsappInstanceIds"] == []
    assert body["apiKeys"] == [{"id": number["keyId"], "name": "Default"}]
    assert body["lastTriggered"] is None and body["disabledReason"] is None
    assert body["secret"].startswith("whsec_")
    assert parse_iso(body["createdAt"]) == parse_iso(body["updatedAt"])
    for shown in (
        api.get(f"/v1/webhooks/{body['id']}", number["key"]),
        api.get("/v1/webhooks", number["key"]),
    ):
        assert shown.status_code == 200
        assert "secret" not in shown.text and body["secret"] not in shown.text


def test_secret_is_sealed_at_rest(api, number, settings):
    body = created(api, number["key"])

    async def stored(container: Any) -> str:
        async with container.db.read() as conn:
            return str(
                (
                    await conn.execute(
                        sa.select(t.webhook_endpoints.c.secret_enc).where(
                            t.webhook_endpoints.c.id == body["id"]
                        )
                    )
                ).scalar_one()
            )

    sealed = with_container(settings, stored)
    assert body["secret"] not in sealed


def test_create_defaults_and_event_forms(api, number):
    assert created(api, number["key"])["events"] == []
    assert created(api, number["key"], events="*")["events"] == ["*"]
    assert created(api, number["key"], events=["message.sent", "*"])["events"] == ["*"]
    dup = created(api, number["key"], events=["message.read", "message.sent", "message.read"])
    assert dup["events"] == ["message.read", "message.sent"]
    assert created(api, number["key"], name="  n8n  ")["name"] == "n8n"


def test_create_with_tenant_key_takes_the_number_from_body_or_header(api, tenant, number):
    by_body = created(api, tenant["key"], whatsappNumberId=number["id"])
    assert by_body["whatsappNumberIds"] == [number["id"]]
    r = create(api, tenant["key"], headers={"x-whatsapp-number-id": number["id"]})
    assert r.status_code == 201 and r.json()["whatsappNumberIds"] == [number["id"]]
    assert_error(create(api, tenant["key"]), 400, "NUMBER_REQUIRED")


def test_number_mismatch(api, tenant, number):
    other = api.create_number(tenant["key"])
    assert_error(create(api, number["key"], {"whatsappNumberId": other["id"]}), 400, "NUMBER_MISMATCH")
    assert created(api, number["key"], whatsappNumberId=number["id"])
    r = create(
        api, tenant["key"], {"whatsappNumberId": number["id"]}, headers={"x-whatsapp-number-id": other["id"]}
    )
    assert_error(r, 400, "NUMBER_MISMATCH")


def test_a_number_key_ignores_the_number_header(api, tenant, number):
    other = api.create_number(tenant["key"])
    r = create(api, number["key"], headers={"x-whatsapp-number-id": other["id"]})
    assert r.status_code == 201 and r.json()["whatsappNumberIds"] == [number["id"]]


def test_number_of_another_workspace_unknown_or_deleted_is_not_found(
    api, tenant, number, other_tenant, settings
):
    foreign = api.create_number(other_tenant["key"])
    assert_error(create(api, tenant["key"], {"whatsappNumberId": foreign["id"]}), 404, "NUMBER_NOT_FOUND")
    assert_error(create(api, tenant["key"], {"whatsappNumberId": "wn_nope"}), 404, "NUMBER_NOT_FOUND")

    async def delete_number(container: Any) -> None:
        async with container.db.write() as conn:
            await conn.execute(
                sa.update(t.numbers)
                .where(t.numbers.c.id == number["id"])
                .values(deleted_at=container.clock.now_ms())
            )

    with_container(settings, delete_number)
    assert_error(create(api, tenant["key"], {"whatsappNumberId": number["id"]}), 404, "NUMBER_NOT_FOUND")


CREATE_PROBLEMS = [
    ({"url": None}, "url"),
    ({"url": "ftp://hooks.acme.com/x"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": 12}, "url"),
    ({"events": ["message.sent", "message.bogus"]}, "events[1]"),
    ({"events": ["number.health_blocked"]}, "events[0]"),
    ({"events": "message.sent"}, "events"),
    ({"events": [1]}, "events"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": 5}, "name"),
    ({"whatsappNumberId": 5}, "whatsappNumberId"),
]


def test_create_validation_errors_list_the_field(api, number):
    for body, field in CREATE_PROBLEMS:
        err = assert_error(create(api, number["key"], body), 400, "VALIDATION_ERROR")
        assert field in [d["field"] for d in err["details"]], (body, err)
    assert api.get("/v1/webhooks", number["key"]).json() == []


def test_create_needs_a_json_object(api, number):
    assert_error(api.post("/v1/webhooks", number["key"], json=[HOOK_URL]), 400, "VALIDATION_ERROR")
    assert_error(
        api.post(
            "/v1/webhooks", number["key"], content=b"{nope", headers={"content-type": "application/json"}
        ),
        400,
        "VALIDATION_ERROR",
    )


def test_private_targets_are_refused_unless_allowed(start_server, make_tenant, api_for):
    api = api_for(start_server(allow_private_urls=False))
    key = api.create_number(make_tenant()["key"])["key"]
    for url in (
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest",
    ):
        assert_error(create(api, key, {"url": url}), 400, "WEBHOOK_URL_NOT_ALLOWED")
    hook = created(api, key)
    r = api.patch(f"/v1/webhooks/{hook['id']}", key, json={"url": "http://192.168.0.2/"})
    assert_error(r, 400, "WEBHOOK_URL_NOT_ALLOWED")


def test_requests_without_a_key_are_unauthorized(api):
    assert_error(api.get("/v1/webhooks"), 401, "UNAUTHORIZED")
    assert_error(api.post("/v1/webhooks", json={"url": HOOK_URL}), 401, "UNAUTHORIZED")


# --- read, update, delete ------------------------------------------------------------------


def test_list_scope_number_key_sees_its_number_tenant_key_sees_all(api, tenant, number):
    other = api.create_number(tenant["key"])
    mine = created(api, number["key"])
    theirs = created(api, other["key"])
    assert [w["id"] for w in api.get("/v1/webhooks", number["key"]).json()] == [mine["id"]]
    assert [w["id"] for w in api.get("/v1/webhooks", other["key"]).json()] == [theirs["id"]]
    listed = api.get("/v1/webhooks", tenant["key"]).json()
    assert [w["id"] for w in listed] == [mine["id"], theirs["id"]]
    assert all(set(w) >= OBJECT_KEYS and "secret" not in w for w in listed)
    # Another number's webhook does not exist for a number key.
    assert_error(api.get(f"/v1/webhooks/{theirs['id']}", number["key"]), 404, "WEBHOOK_NOT_FOUND")
    assert api.get(f"/v1/webhooks/{theirs['id']}", tenant["key"]).status_code == 200


def test_get_unknown_webhook(api, number):
    assert_error(api.get("/v1/webhooks/wh_missing", number["key"]), 404, "WEBHOOK_NOT_FOUND")


def test_patch_updates_fields_and_replaces_events(api, number):
    hook = created(api, number["key"], events=["message.sent", "message.read"])
    r = api.patch(
        f"/v1/webhooks/{hook['id']}",
        number["key"],
        json={
            "name": "renamed",
            "url": "https://other.acme.com/in",
            "events": ["message.failed"],
            "active": False,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["url"], body["events"], body["active"]) == (
        "renamed",
        "https://other.acme.com/in",
        ["message.failed"],
        False,
    )
    assert "secret" not in body
    assert parse_iso(body["updatedAt"]) >= parse_iso(body["createdAt"])
    again = api.patch(f"/v1/webhooks/{hook['id']}", number["key"], json={"events": "*"})
    assert again.json()["events"] == ["*"] and again.json()["name"] == "renamed"


def test_empty_patch(api, number):
    hook = created(api, number["key"])
    for kwargs in (
        {"json": {}},
        {"content": b""},
        {"content": b"  "},
        {"json": {"whatsappNumberId": "x", "secret": "y"}},
    ):
        assert_error(api.patch(f"/v1/webhooks/{hook['id']}", number["key"], **kwargs), 400, "EMPTY_PATCH")


def test_patch_validation(api, number):
    hook = created(api, number["key"])
    for body, field in (
        ({"active": "yes"}, "active"),
        ({"events": ["nope"]}, "events[0]"),
        ({"url": "gopher://x.acme.com"}, "url"),
        ({"name": " "}, "name"),
    ):
        err = assert_error(
            api.patch(f"/v1/webhooks/{hook['id']}", number["key"], json=body), 400, "VALIDATION_ERROR"
        )
        assert err["details"][0]["field"] == field
    assert api.get(f"/v1/webhooks/{hook['id']}", number["key"]).json()["active"] is True


def test_patch_unknown_webhook(api, number):
    assert_error(
        api.patch("/v1/webhooks/wh_missing", number["key"], json={"active": True}), 404, "WEBHOOK_NOT_FOUND"
    )


def test_delete_removes_the_webhook(api, number):
    hook = created(api, number["key"])
    r = api.delete(f"/v1/webhooks/{hook['id']}", number["key"])
    assert r.status_code == 200 and r.json() == {"id": hook["id"], "deleted": True}
    assert_error(api.get(f"/v1/webhooks/{hook['id']}", number["key"]), 404, "WEBHOOK_NOT_FOUND")
    assert_error(api.delete(f"/v1/webhooks/{hook['id']}", number["key"]), 404, "WEBHOOK_NOT_FOUND")
    assert api.get("/v1/webhooks", number["key"]).json() == []


def test_rotate_secret_returns_a_new_secret_once(api, number):
    hook = created(api, number["key"])
    r = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", number["key"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != hook["secret"]
    assert set(body) >= OBJECT_KEYS
    ttl = parse_iso(body["previousSecretExpiresAt"]) - parse_iso(body["updatedAt"])
    assert ttl == 24 * 3600 * 1000
    shown = api.get(f"/v1/webhooks/{hook['id']}", number["key"]).text
    assert body["secret"] not in shown and hook["secret"] not in shown
    assert_error(api.post("/v1/webhooks/wh_missing/rotate-secret", number["key"]), 404, "WEBHOOK_NOT_FOUND")


def test_changes_are_audited_without_secrets(api, tenant, number, settings):
    hook = created(api, number["key"])
    api.patch(f"/v1/webhooks/{hook['id']}", number["key"], json={"name": "x"})
    rotated = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", tenant["key"]).json()
    api.delete(f"/v1/webhooks/{hook['id']}", tenant["key"])

    async def audit(container: Any) -> list[Any]:
        async with container.db.read() as conn:
            return list(
                (
                    await conn.execute(
                        sa.select(t.audit_log)
                        .where(t.audit_log.c.workspace_id == tenant["id"])
                        .order_by(t.audit_log.c.id)
                    )
                ).all()
            )

    rows = with_container(settings, audit)
    assert [r.action for r in rows] == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ]
    assert rows[1].detail["fields"] == ["name"]
    text = repr([(r.actor, r.detail) for r in rows])
    assert hook["secret"] not in text and rotated["secret"] not in text
    assert number["keyId"] not in text


# --- logs, redeliver, test: request validation ---------------------------------------------


def test_logs_limit_is_validated(api, number):
    hook = created(api, number["key"])
    for query in ("limit=0", "limit=51", "limit=abc", "limit=-1"):
        assert_error(
            api.get(f"/v1/webhooks/{hook['id']}/logs?{query}", number["key"]), 400, "VALIDATION_ERROR"
        )


def test_logs_of_a_new_webhook_are_empty(api, number):
    hook = created(api, number["key"])
    r = api.get(f"/v1/webhooks/{hook['id']}/logs?limit=50", number["key"])
    assert r.status_code == 200 and r.json() == []
    assert_error(api.get("/v1/webhooks/wh_missing/logs", number["key"]), 404, "WEBHOOK_NOT_FOUND")


def test_redeliver_unknown_delivery(api, number):
    hook = created(api, number["key"])
    assert_error(
        api.post(f"/v1/webhooks/{hook['id']}/logs/whd_missing/redeliver", number["key"]),
        404,
        "DELIVERY_NOT_FOUND",
    )


def test_inactive_webhook_refuses_test_and_redeliver(api, number):
    hook = created(api, number["key"])
    queued = api.post(f"/v1/webhooks/{hook['id']}/test", number["key"]).json()
    api.patch(f"/v1/webhooks/{hook['id']}", number["key"], json={"active": False})
    assert_error(api.post(f"/v1/webhooks/{hook['id']}/test", number["key"]), 409, "WEBHOOK_INACTIVE")
    assert_error(
        api.post(f"/v1/webhooks/{hook['id']}/logs/{queued['deliveryId']}/redeliver", number["key"]),
        409,
        "WEBHOOK_INACTIVE",
    )


def test_a_delivery_of_another_webhook_cannot_be_redelivered_through_this_one(api, number):
    first = created(api, number["key"])
    second = created(api, number["key"])
    queued = api.post(f"/v1/webhooks/{first['id']}/test", number["key"]).json()
    r = api.post(f"/v1/webhooks/{second['id']}/logs/{queued['deliveryId']}/redeliver", number["key"])
    assert_error(r, 404, "DELIVERY_NOT_FOUND")


# --- isolation -----------------------------------------------------------------------------


def test_cross_workspace_isolation(api, tenant, number, other_tenant):
    hook = created(api, number["key"])
    queued = api.post(f"/v1/webhooks/{hook['id']}/test", number["key"]).json()
    foreign_number = api.create_number(other_tenant["key"])
    base = f"/v1/webhooks/{hook['id']}"
    calls = [
        ("GET", base, None),
        ("PATCH", base, {"name": "x"}),
        ("DELETE", base, None),
        ("GET", base + "/logs", None),
        ("POST", base + "/rotate-secret", None),
        ("POST", base + "/test", None),
        ("POST", f"{base}/logs/{queued['deliveryId']}/redeliver", None),
    ]
    for key in (other_tenant["key"], foreign_number["key"]):
        for method, path, body in calls:
            r = api.request(method, path, key, json=body)
            assert_error(r, 404, "WEBHOOK_NOT_FOUND")
        assert api.get("/v1/webhooks", key).json() == []
    # Nothing changed for the owner.
    assert api.get(base, tenant["key"]).json()["name"] == hook["name"]


def test_every_route_is_documented(api):
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        "/v1/webhooks": {"get", "post"},
        "/v1/webhooks/{webhook_id}": {"get", "patch", "delete"},
        "/v1/webhooks/{webhook_id}/logs": {"get"},
        "/v1/webhooks/{webhook_id}/rotate-secret": {"post"},
        "/v1/webhooks/{webhook_id}/logs/{delivery_id}/redeliver": {"post"},
        "/v1/webhooks/{webhook_id}/test": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            op = paths[path][method]
            assert "401" in op["responses"], (path, method)
            if "{webhook_id}" in path:
                assert "404" in op["responses"], (path, method)
    assert "requestBody" in paths["/v1/webhooks"]["post"]
    assert "requestBody" in paths["/v1/webhooks/{webhook_id}"]["patch"]
    create_400 = paths["/v1/webhooks"]["post"]["responses"]["400"]["description"]
    for code in ("NUMBER_REQUIRED", "NUMBER_MISMATCH", "WEBHOOK_URL_NOT_ALLOWED"):
        assert code in create_400
