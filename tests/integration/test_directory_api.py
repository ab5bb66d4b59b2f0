"""GET /v1/groups, GET /v1/newsletters and POST /v1/numbers/check on sandbox numbers (the
Evolution adapters are tested against their simulators; Meta numbers refuse them:
tests/integration/providers/test_meta_e2e.py)."""

from __future__ import annotations

from tests.helpers import assert_error

NOT_ON_WHATSAPP = "+5511900000001"


def test_groups_and_channels(api, tenant, number):
    k = number["key"]
    groups = api.get("/v1/groups", k)
    assert groups.status_code == 200, groups.text
    listed = groups.json()
    assert [g["subject"] for g in listed] == ["Sandbox: equipe", "Sandbox: clientes"]
    assert all(g["id"].endswith("@g.us") and isinstance(g["size"], int) for g in listed)
    assert api.get("/v1/groups", k).json() == listed  # the same every time
    channels = api.get("/v1/newsletters", k).json()
    assert len(channels) == 1 and channels[0]["id"].endswith("@newsletter") and channels[0]["name"]
    other = api.create_number(tenant["key"])
    assert api.get("/v1/groups", other["key"]).json() != listed  # each number has its own
    assert_error(api.get("/v1/groups", tenant["key"]), 403, "TENANT_SCOPE_NOT_ALLOWED")
    r = api.get("/v1/newsletters", tenant["key"], headers={"x-whatsapp-number-id": number["id"]})
    assert r.json() == channels
    assert_error(api.get("/v1/groups"), 401, "UNAUTHORIZED")


def test_number_check_tries_both_brazilian_forms(api, number):
    asked = [
        "+5511988887777",  # area 11 keeps the 9th digit
        "+5531988887777",  # area 31: WhatsApp's address has no 9th digit
        "+553188887777",  # ...found when written without it too
        "+551188887777",  # area 11 written without the 9: found with it
        "(11) 98888-7777",  # national format is not a phone number here: no country code
        "not a number",
        NOT_ON_WHATSAPP,
    ]
    r = api.post("/v1/numbers/check", number["key"], json={"numbers": asked})
    assert r.status_code == 200, r.text
    results = {x["input"]: x for x in r.json()["results"]}
    assert list(results) == asked
    assert results["+5511988887777"]["exists"] is True
    assert results["+5511988887777"]["number"] == "+5511988887777"
    assert results["+5531988887777"]["number"] == "+553188887777"
    assert results["+553188887777"]["number"] == "+553188887777"
    assert results["+551188887777"]["number"] == "+5511988887777"
    assert results["not a number"] == {
        "input": "not a number",
        "exists": False,
        "number": None,
        "name": None,
        "error": "INVALID_NUMBER",
    }
    assert results[NOT_ON_WHATSAPP]["exists"] is False and results[NOT_ON_WHATSAPP]["number"] is None
    one = api.post("/v1/numbers/check", number["key"], json={"number": "+5511988887777"}).json()
    assert [x["exists"] for x in one["results"]] == [True]


def test_number_check_validation(api, tenant, number):
    k = number["key"]
    for body in ({}, {"numbers": []}, {"numbers": ["+5511988887777"] * 21}, {"numbers": [5]}, {"number": 5}):
        assert_error(api.post("/v1/numbers/check", k, json=body), 400, "VALIDATION_ERROR")
    assert_error(
        api.post("/v1/numbers/check", tenant["key"], json={"number": "+1"}), 403, "TENANT_SCOPE_NOT_ALLOWED"
    )
