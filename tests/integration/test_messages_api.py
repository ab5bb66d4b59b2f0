"""GET /v1/messages filters and paging, scopes, and cross-workspace isolation."""

from __future__ import annotations

from tests.helpers import DEST, assert_error, send, wait_status


def _send(api, key, **body):
    r = send(api, key, {"destinationNumber": DEST, "text": "x", **body})
    assert r.status_code == 202, r.text
    return r.json()


def test_list_filters_and_paging(api, number, wait):
    k = number["key"]
    a = _send(api, k, labels=["july", "vip"])
    b = _send(api, k, destinationNumber="+5511900000001")
    c = _send(api, k, labels=["july"], destinationNumber="+5511977770000")
    wait_status(api, wait, k, b["id"], "FAILED")
    wait_status(api, wait, k, a["id"], "READ")
    wait_status(api, wait, k, c["id"], "READ")
    everything = api.get("/v1/messages", k).json()
    assert everything["total"] == 3 and everything["page"] == 1 and everything["pageSize"] == 30
    assert [m["id"] for m in everything["messages"]] == [c["id"], b["id"], a["id"]]
    assert api.get("/v1/messages", k, params={"status": "FAILED"}).json()["messages"][0]["id"] == b["id"]
    july = api.get("/v1/messages", k, params={"label": "july"}).json()
    assert {m["id"] for m in july["messages"]} == {a["id"], c["id"]}
    by_dest = api.get("/v1/messages", k, params={"destinationNumber": "5511977770000"}).json()
    assert [m["id"] for m in by_dest["messages"]] == [c["id"]]
    page2 = api.get("/v1/messages", k, params={"pageSize": 2, "page": 2}).json()
    assert page2["totalPages"] == 2 and [m["id"] for m in page2["messages"]] == [a["id"]]
    future = api.get("/v1/messages", k, params={"startDate": "2099-01-01T00:00:00Z"}).json()
    assert future["total"] == 0


def test_list_rejects_bad_parameters(api, number):
    k = number["key"]
    assert_error(api.get("/v1/messages", k, params={"pageSize": 101}), 400, "VALIDATION_ERROR")
    assert_error(api.get("/v1/messages", k, params={"page": "x"}), 400, "VALIDATION_ERROR")
    assert_error(api.get("/v1/messages", k, params={"status": "LOST"}), 400, "VALIDATION_ERROR")
    assert_error(
        api.get(
            "/v1/messages", k, params={"startDate": "2026-02-01T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"}
        ),
        400,
        "INVALID_DATE_RANGE",
    )


def test_tenant_key_reads_with_number_header(api, tenant, number):
    m = _send(api, number["key"])
    assert_error(api.get(f"/v1/messages/{m['id']}", tenant["key"]), 403, "TENANT_SCOPE_NOT_ALLOWED")
    r = api.get(f"/v1/messages/{m['id']}", tenant["key"], headers={"x-whatsapp-number-id": number["id"]})
    assert r.status_code == 200 and r.json()["id"] == m["id"]


def test_workspaces_never_see_each_other(api, number, make_tenant):
    m = _send(api, number["key"])
    other_tenant = make_tenant(name="Other")
    other = api.create_number(other_tenant["key"])
    assert_error(api.get(f"/v1/messages/{m['id']}", other["key"]), 404, "MESSAGE_NOT_FOUND")
    assert api.get("/v1/messages", other["key"]).json()["total"] == 0
    r = api.delete("/v1/messages/cancel", other["key"], json={"messageIds": [m["id"]]})
    assert r.json()["failed"] == [{"id": m["id"], "reason": "NOT_FOUND"}]
    # A tenant key naming another workspace's number is refused.
    assert_error(
        api.get("/v1/messages", other_tenant["key"], headers={"x-whatsapp-number-id": number["id"]}),
        403,
        "TENANT_SCOPE_NOT_ALLOWED",
    )
    assert_error(api.get(f"/v1/numbers/{number['id']}", other_tenant["key"]), 404, "NUMBER_NOT_FOUND")
    assert_error(
        api.post("/v1/api-keys", other_tenant["key"], json={"whatsappNumberId": number["id"]}),
        404,
        "NUMBER_NOT_FOUND",
    )


def test_two_numbers_of_one_workspace_are_separate(api, tenant, number):
    m = _send(api, number["key"])
    sibling = api.create_number(tenant["key"])
    assert_error(api.get(f"/v1/messages/{m['id']}", sibling["key"]), 404, "MESSAGE_NOT_FOUND")
