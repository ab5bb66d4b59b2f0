"""Numbers and API keys in the SDK's shapes."""

from __future__ import annotations

from tests.helpers import assert_error


def test_create_list_and_get_numbers(api, tenant):
    created = api.post(
        "/v1/numbers",
        tenant["key"],
        json={"name": "Support", "number": "+55 (11) 98888-1234", "provider": "sandbox"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    instance = body["instance"]
    assert instance["number"] == "5511988881234" and instance["state"] == "OPEN"
    assert instance["isFullyConnected"] is True
    assert body["qrcodeBase64"] is None and body["primaryLink"] == {"qrcodeBase64": None, "pairingCode": None}
    key = body["apiKey"]["key"]
    listed = api.get("/v1/numbers", tenant["key"]).json()
    assert [n["id"] for n in listed] == [instance["id"]]
    item = listed[0]
    assert item["apiKeys"] == [{"name": "Default", "keyPrefix": key[:7], "keyLast4": key[-4:]}]
    assert item["extraChargeUnpaidSince"] is None and item["secondaryLink"] is None
    detail = api.get(f"/v1/numbers/{instance['id']}", tenant["key"]).json()
    assert detail["provider"] == "sandbox" and detail["settings"]["markReadOnSend"] is True
    assert detail["coexistence"] is None and detail["piiMode"] == "STORE_INDEFINITE"
    assert key not in api.get("/v1/numbers", tenant["key"]).text


def test_number_validation(api, tenant):
    assert_error(api.post("/v1/numbers", tenant["key"], json={"name": "x"}), 400, "VALIDATION_ERROR")
    assert_error(
        api.post(
            "/v1/numbers",
            tenant["key"],
            json={"name": "x", "number": "+5511911110000", "provider": "carrier-pigeon"},
        ),
        400,
        "VALIDATION_ERROR",
    )
    api.post("/v1/numbers", tenant["key"], json={"name": "x", "number": "+5511911110000"})
    assert_error(
        api.post("/v1/numbers", tenant["key"], json={"name": "y", "number": "+5511911110000"}),
        409,
        "NUMBER_ALREADY_EXISTS",
    )


def test_number_key_sees_only_its_number(api, tenant, number):
    api.create_number(tenant["key"])
    listed = api.get("/v1/numbers", number["key"]).json()
    assert [n["id"] for n in listed] == [number["id"]]


def test_api_keys_listing(api, tenant, number):
    mine = api.get("/v1/api-keys", number["key"]).json()
    assert len(mine) == 1
    item = mine[0]
    assert item["id"] == number["keyId"] and item["keyPrefix"] == number["key"][:7]
    assert item["whatsappInstanceId"] == number["id"] and item["retentionDays"] == 90
    assert "key" not in item
    reveal = api.get("/v1/api-keys", tenant["key"]).json()
    assert reveal == [
        {
            "numberId": number["id"],
            "number": number["number"].lstrip("+"),
            "displayName": "Test number",
            "keyId": number["keyId"],
            "keyLast4": number["key"][-4:],
            "key": None,
            "revealable": False,
        }
    ]


def test_rotate_requires_a_number_id(api, tenant):
    assert_error(api.post("/v1/api-keys", tenant["key"], json={}), 400, "VALIDATION_ERROR")
    assert_error(
        api.post("/v1/api-keys", tenant["key"], json={"whatsappNumberId": "wn_x"}), 404, "NUMBER_NOT_FOUND"
    )


def test_regenerate_rotates_the_calling_key(api, tenant, number):
    r = api.post("/v1/api-keys/regenerate", number["key"])
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["scope"] == "number" and new["whatsappNumberId"] == number["id"] and new["name"] == "Default"
    assert new["key"] != number["key"] and new["key"].endswith(new["keyLast4"])
    assert new["key"].startswith(new["keyPrefix"]) and new["createdAt"]
    assert_error(api.get("/v1/api-keys", number["key"]), 401, "UNAUTHORIZED")  # the old one is gone
    assert api.get("/v1/api-keys", new["key"]).status_code == 200
    r = api.post("/v1/api-keys/regenerate", tenant["key"])
    assert r.status_code == 201 and r.json()["scope"] == "tenant" and r.json()["whatsappNumberId"] is None
    assert_error(api.get("/v1/numbers", tenant["key"]), 401, "UNAUTHORIZED")
    assert api.get("/v1/numbers", r.json()["key"]).status_code == 200
    assert_error(api.post("/v1/api-keys/regenerate"), 401, "UNAUTHORIZED")
