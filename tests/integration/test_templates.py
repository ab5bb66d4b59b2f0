"""The templates capability over real HTTP (loopback server, real database)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from pilot_status import PilotStatusClient
from pilot_status.errors import NotFoundError

from tests.helpers import DEST, assert_error, sdk_transport
from tests.helpers import send as post_send

APPROVAL_SECONDS = 1.0
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
ITEM_KEYS = {
    "id",
    "name",
    "category",
    "language",
    "body",
    "variables",
    "examples",
    "source",
    "metaStatus",
    "metaLanguage",
    "sendable",
    "latestVersion",
    "version",
    "createdAt",
    "updatedAt",
    "rejectionReason",
}


def template(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "boas_vindas",
        "category": "UTILITY",
        "language": "pt_BR",
        "body": "Olá {{nome}}, bem-vindo!",
        "examples": {"nome": "Ana"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def created(api: Any, key: str, **overrides: Any) -> dict[str, Any]:
    r = api.post("/v1/templates", key, json=template(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


def send(api: Any, key: str, ref: str, variables: dict[str, str]) -> Any:
    return post_send(api, key, {"templateId": ref, "destinationNumber": DEST, "variables": variables})


# -- create and read -------------------------------------------------------------------------


def test_create_plain_text_template(api, number):
    r = api.post("/v1/templates", number["key"], json=template())
    assert r.status_code == 201, r.text
    item = r.json()
    assert set(item) == ITEM_KEYS
    assert item["id"].startswith("tpl_")
    assert item["name"] == "boas_vindas"
    assert item["category"] == "UTILITY" and item["language"] == "pt_BR"
    assert item["body"] == {"body": {"text": "Olá {{nome}}, bem-vindo!"}}
    assert item["variables"] == ["nome"] and item["examples"] == {"nome": "Ana"}
    assert item["source"] == "PILOT_STATUS"
    assert item["metaStatus"] is None and item["metaLanguage"] is None
    assert item["sendable"] is True
    assert item["version"] == 1
    assert item["latestVersion"]["version"] == 1
    assert item["latestVersion"]["metaStatus"] is None
    assert item["latestVersion"]["createdAt"].endswith("Z")
    assert item["createdAt"] == item["updatedAt"]


def test_get_by_id_and_by_name_and_list(api, number):
    first = created(api, number["key"])
    second = created(
        api,
        number["key"],
        name="Promo Cupom",
        category="MARKETING",
        body="Use o cupom {{cupom}} hoje.",
        examples={"cupom": "X10"},
    )
    assert second["name"] == "promo_cupom"
    for ref in (first["id"], "boas_vindas"):
        r = api.get(f"/v1/templates/{ref}", number["key"])
        assert r.status_code == 200 and r.json() == first
    listed = api.get("/v1/templates", number["key"])
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [first["id"], second["id"]]


def test_structured_and_json_string_bodies(api, number):
    structured = {
        "header": {"type": "TEXT", "text": "Pedido {{pedido}}"},
        "body": {"text": "Olá {{nome}}, seu pedido saiu."},
        "footer": {"text": "Loja Exemplo"},
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Ok"},
            {"type": "URL", "text": "Rastrear", "url": "https://loja.com/r/{{codigo}}"},
            {"type": "PHONE_NUMBER", "text": "Ligar", "phone_number": "+5511999999999"},
            {"type": "COPY_CODE", "example": "CUPOM10"},
        ],
    }
    examples = {"pedido": "42", "nome": "Ana", "codigo": "XYZ"}
    a = created(api, number["key"], name="pedido_a", body=structured, examples=examples)
    b = created(
        api, number["key"], name="pedido_b", body=orjson.dumps(structured).decode(), examples=examples
    )
    assert a["body"] == structured == b["body"]
    assert a["variables"] == ["pedido", "nome", "codigo"] == b["variables"]
    c = created(
        api,
        number["key"],
        name="pedido_c",
        body="Olá {{nome}}, seu pedido saiu.",
        header={"type": "IMAGE", "base64": PNG},
        footer="Loja",
        buttons=[{"type": "QUICK_REPLY", "text": "Ok"}],
        examples={"nome": "Ana"},
    )
    assert c["body"]["header"] == {"type": "IMAGE", "base64": PNG}
    assert c["body"]["footer"] == {"text": "Loja"}


def test_authentication_is_an_alias_of_otp(api, number):
    item = created(
        api, number["key"], category="AUTHENTICATION", body="Seu código é {{c}}.", examples={"c": "123456"}
    )
    assert item["category"] == "OTP"


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"name": "promo!"}, "name"),
    ({"name": None}, "name"),
    ({"category": "SERVICE"}, "category"),
    ({"language": "portuguese"}, "language"),
    ({"body": None}, "body.text"),
    ({"body": "x" * 1025, "examples": None}, "body.text"),
    ({"body": "{{nome}}, olá"}, "body.text"),
    ({"body": "Olá {{nome}}"}, "body.text"),
    ({"body": "Olá {{1}}!"}, "body.text"),
    ({"header": {"type": "TEXT", "text": "x" * 61}}, "header.text"),
    (
        {"header": {"type": "TEXT", "text": "{{a}} {{b}}"}, "examples": {"nome": "Ana", "a": "1", "b": "2"}},
        "header.text",
    ),
    ({"header": {"type": "TEXT", "text": "a\nb"}}, "header.text"),
    ({"header": {"type": "IMAGE", "url": "ftp://x/a.png"}}, "header.url"),
    ({"header": {"type": "VIDEO", "base64": PNG}}, "header.base64"),
    ({"header": {"type": "LOCATION"}}, "header.type"),
    ({"footer": "x" * 61}, "footer"),
    ({"footer": "Oi {{nome}}"}, "footer"),
    ({"buttons": [{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(11)]}, "buttons"),
    ({"buttons": [{"type": "URL", "text": "u", "url": "https://a.b"}] * 3}, "buttons"),
    ({"buttons": [{"type": "PHONE_NUMBER", "text": "t", "phone_number": "+5511999999999"}] * 2}, "buttons"),
    ({"buttons": [{"type": "COPY_CODE", "example": "A1"}] * 2}, "buttons"),
    (
        {
            "buttons": [{"type": "URL", "text": "u", "url": "https://a.b/{{x}}/c"}],
            "examples": {"nome": "Ana", "x": "1"},
        },
        "buttons[0].url",
    ),
    ({"buttons": [{"type": "PHONE_NUMBER", "text": "t", "phone_number": "12"}]}, "buttons[0].phone_number"),
    ({"buttons": [{"type": "COPY_CODE", "example": "CUPOM-10"}]}, "buttons[0].example"),
    ({"buttons": [{"type": "COPY_CODE", "example": "A" * 16}]}, "buttons[0].example"),
]


def test_every_rule_is_a_400_with_field_details(api, number):
    for overrides, field in INVALID:
        r = api.post("/v1/templates", number["key"], json=template(**overrides))
        body = assert_error(r, 400, "VALIDATION_ERROR")
        assert field in {d["field"] for d in body["details"]}, (overrides, body)
        assert all(set(d) == {"field", "message"} for d in body["details"])
    assert api.get("/v1/templates", number["key"]).json() == []


def test_missing_examples(api, number):
    r = api.post(
        "/v1/templates",
        number["key"],
        json=template(
            body="Olá {{nome}}, seu código é {{codigo}}.",
            buttons=[{"type": "URL", "text": "Abrir", "url": "https://loja.com/{{link}}"}],
            examples={"nome": "Ana"},
        ),
    )
    body = assert_error(r, 400, "TEMPLATE_EXAMPLES_REQUIRED")
    assert body["details"] == {"missing": ["codigo", "link"]}


@pytest.mark.parametrize(
    ("content", "kwargs"),
    [
        (b"", {}),
        (b"{not json", {}),
        (b"[1, 2]", {}),
        (b'"text"', {}),
    ],
)
def test_malformed_bodies(api, number, content, kwargs):
    r = api.post(
        "/v1/templates",
        number["key"],
        content=content,
        headers={"content-type": "application/json"},
        **kwargs,
    )
    assert_error(r, 400, "VALIDATION_ERROR")


def test_name_taken_and_reusable_after_delete(api, number):
    first = created(api, number["key"])
    r = api.post("/v1/templates", number["key"], json=template(name="Boas Vindas"))
    assert_error(r, 409, "TEMPLATE_NAME_TAKEN")
    r = api.delete(f"/v1/templates/{first['id']}", number["key"])
    assert r.status_code == 200 and r.json() == {"ok": True, "id": first["id"]}
    again = created(api, number["key"], name="Boas Vindas")
    assert again["id"] != first["id"] and again["name"] == "boas_vindas"


def test_concurrent_creates_of_one_name(api, number):
    def attempt(_: int) -> int:
        return api.post("/v1/templates", number["key"], json=template()).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [201] + [409] * 7
    assert len(api.get("/v1/templates", number["key"]).json()) == 1


# -- update, versions, delete ----------------------------------------------------------------


def test_update_makes_a_new_version(api, number):
    first = created(api, number["key"])
    r = api.put(
        "/v1/templates/boas_vindas",
        number["key"],
        json={"body": "Oi {{nome}}, tudo bem?", "footer": "Equipe", "examples": {"nome": "Bia"}},
    )
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["id"] == first["id"] and item["version"] == 2
    assert item["latestVersion"]["version"] == 2
    assert item["body"] == {"body": {"text": "Oi {{nome}}, tudo bem?"}, "footer": {"text": "Equipe"}}
    assert (item["name"], item["category"], item["language"]) == ("boas_vindas", "UTILITY", "pt_BR")
    assert item["examples"] == {"nome": "Bia"}
    assert item["createdAt"] == first["createdAt"]
    history = api.get(f"/v1/templates/{first['id']}/versions", number["key"]).json()
    assert [(v["version"], v["current"]) for v in history["versions"]] == [(2, True), (1, False)]
    assert history["versions"][1]["body"] == first["body"]
    assert history["versions"][1]["examples"] == {"nome": "Ana"}
    assert api.get("/v1/templates", number["key"]).json() == [item]


def test_update_replaces_the_whole_content(api, number):
    created(api, number["key"], footer="Loja", buttons=[{"type": "QUICK_REPLY", "text": "Ok"}])
    item = api.put("/v1/templates/boas_vindas", number["key"], json={"body": "Sem variáveis."}).json()
    assert item["body"] == {"body": {"text": "Sem variáveis."}}
    assert item["variables"] == [] and item["examples"] == {}


def test_identical_update_changes_nothing(api, number):
    first = created(api, number["key"])
    r = api.put(f"/v1/templates/{first['id']}", number["key"], json=template())
    assert r.status_code == 200 and r.json() == first


def test_rename_alone_keeps_the_version(api, number):
    first = created(api, number["key"])
    item = api.put(f"/v1/templates/{first['id']}", number["key"], json=template(name="Boas-Vindas 2")).json()
    assert (item["name"], item["version"]) == ("boas_vindas_2", 1)
    assert_error(api.get("/v1/templates/boas_vindas", number["key"]), 404, "TEMPLATE_NOT_FOUND")
    assert api.get("/v1/templates/boas_vindas_2", number["key"]).json()["id"] == first["id"]


def test_update_rules(api, number):
    first = created(api, number["key"])
    created(api, number["key"], name="outro")
    url = f"/v1/templates/{first['id']}"
    assert_error(
        api.put(url, number["key"], json=template(category="MARKETING")), 400, "TEMPLATE_CATEGORY_IMMUTABLE"
    )
    assert_error(api.put(url, number["key"], json=template(name="Outro")), 409, "TEMPLATE_NAME_TAKEN")
    assert_error(api.put(url, number["key"], json={"name": "x"}), 400, "VALIDATION_ERROR")
    r = api.put(url, number["key"], json={"body": "Oi {{novo}}, tudo?"})
    assert assert_error(r, 400, "TEMPLATE_EXAMPLES_REQUIRED")["details"] == {"missing": ["novo"]}
    assert_error(api.put("/v1/templates/nope", number["key"], json=template()), 404, "TEMPLATE_NOT_FOUND")
    assert api.get(url, number["key"]).json() == first


def test_deleted_template_is_gone(api, number):
    first = created(api, number["key"])
    assert api.delete("/v1/templates/boas_vindas", number["key"]).json() == {"ok": True, "id": first["id"]}
    for ref in (first["id"], "boas_vindas"):
        assert_error(api.get(f"/v1/templates/{ref}", number["key"]), 404, "TEMPLATE_NOT_FOUND")
        assert_error(
            api.put(f"/v1/templates/{ref}", number["key"], json=template()), 404, "TEMPLATE_NOT_FOUND"
        )
        assert_error(api.delete(f"/v1/templates/{ref}", number["key"]), 404, "TEMPLATE_NOT_FOUND")
        assert_error(send(api, number["key"], ref, {"nome": "Ana"}), 404, "TEMPLATE_NOT_FOUND")
    assert api.get("/v1/templates", number["key"]).json() == []


# -- scope -----------------------------------------------------------------------------------


def test_templates_are_scoped_to_their_number(api, tenant, number, make_tenant):
    mine = created(api, number["key"])
    sibling = api.create_number(tenant["key"])
    stranger = api.create_number(make_tenant(name="Other")["key"])
    for other in (sibling, stranger):
        assert api.get("/v1/templates", other["key"]).json() == []
        for ref in (mine["id"], mine["name"]):
            assert_error(api.get(f"/v1/templates/{ref}", other["key"]), 404, "TEMPLATE_NOT_FOUND")
            assert_error(
                api.put(f"/v1/templates/{ref}", other["key"], json=template()), 404, "TEMPLATE_NOT_FOUND"
            )
            assert_error(api.delete(f"/v1/templates/{ref}", other["key"]), 404, "TEMPLATE_NOT_FOUND")
            assert_error(send(api, other["key"], ref, {"nome": "Ana"}), 404, "TEMPLATE_NOT_FOUND")
        # The same name is free on another number.
        assert created(api, other["key"])["id"] != mine["id"]
    assert api.get(f"/v1/templates/{mine['id']}", number["key"]).json() == mine


def test_tenant_key_needs_a_number_of_its_workspace(api, tenant, number, make_tenant):
    headers = {"x-whatsapp-number-id": number["id"]}
    r = api.post("/v1/templates", tenant["key"], headers=headers, json=template())
    assert r.status_code == 201, r.text
    assert api.get("/v1/templates", number["key"]).json() == [r.json()]
    assert api.get("/v1/templates/boas_vindas", tenant["key"], headers=headers).json() == r.json()
    assert_error(api.get("/v1/templates", tenant["key"]), 403, "TENANT_SCOPE_NOT_ALLOWED")
    assert_error(
        api.post("/v1/templates", tenant["key"], json=template(name="x")), 403, "TENANT_SCOPE_NOT_ALLOWED"
    )
    other_tenant = make_tenant(name="Other")
    assert_error(
        api.get("/v1/templates", other_tenant["key"], headers=headers), 403, "TENANT_SCOPE_NOT_ALLOWED"
    )
    assert api.delete("/v1/templates/boas_vindas", tenant["key"], headers=headers).json()["ok"] is True


def test_keys_are_required(api, number):
    assert_error(api.get("/v1/templates"), 401, "UNAUTHORIZED")
    assert_error(api.post("/v1/templates", "ps_wrong", json=template()), 401, "UNAUTHORIZED")


# -- sending ---------------------------------------------------------------------------------


def test_send_on_a_number_without_approval(api, number, wait):
    created(api, number["key"])
    assert_error(send(api, number["key"], "boas_vindas", {}), 400, "MISSING_TEMPLATE_VARIABLES")
    r = send(api, number["key"], "boas_vindas", {"outra": "x"})
    assert assert_error(r, 400, "MISSING_TEMPLATE_VARIABLES")["details"] == {"missing": ["nome"]}
    assert_error(send(api, number["key"], "nao_existe", {"nome": "Ana"}), 404, "TEMPLATE_NOT_FOUND")
    r = send(api, number["key"], "boas_vindas", {"nome": "Ana"})
    assert r.status_code == 202, r.text
    message = wait(
        lambda: (
            (m := api.get(f"/v1/messages/{r.json()['id']}", number["key"]).json())["status"] == "READ" and m
        )
    )
    assert message["template"] == "boas_vindas"


@pytest.fixture
def official_api(start_server, api_for):
    """A server whose sandbox approves templates after APPROVAL_SECONDS (long enough to see
    PENDING on a slow machine)."""
    return api_for(start_server(sandbox_template_approval_seconds=APPROVAL_SECONDS))


def approved(api: Any, key: str, ref: str) -> Any:
    item = api.get(f"/v1/templates/{ref}", key).json()
    return item if item["sendable"] else None


def test_official_number_approval_flow(official_api, make_tenant, wait):
    api = official_api
    official = api.create_number(make_tenant()["key"], official=True)
    key = official["key"]
    item = created(api, key)
    assert (item["metaStatus"], item["sendable"], item["metaLanguage"]) == ("PENDING", False, "pt_BR")
    assert item["latestVersion"]["metaStatus"] == "PENDING"
    assert item["latestVersion"]["approveAt"] > item["createdAt"]
    assert_error(send(api, key, "boas_vindas", {"nome": "Ana"}), 409, "TEMPLATE_NOT_APPROVED")

    item = wait(lambda: approved(api, key, "boas_vindas"))
    assert item["metaStatus"] == "APPROVED" and item["latestVersion"]["metaStatus"] == "APPROVED"
    r = send(api, key, "boas_vindas", {"nome": "Ana"})
    assert r.status_code == 202, r.text
    wait(lambda: api.get(f"/v1/messages/{r.json()['id']}", key).json()["status"] == "READ")

    # A new version goes back to review; the old one stays approved in the history.
    v2 = api.put(
        "/v1/templates/boas_vindas", key, json={"body": "Oi {{nome}}, novidade!", "examples": {"nome": "Ana"}}
    ).json()
    assert (v2["version"], v2["metaStatus"], v2["sendable"]) == (2, "PENDING", False)
    assert_error(send(api, key, "boas_vindas", {"nome": "Ana"}), 409, "TEMPLATE_NOT_APPROVED")
    wait(lambda: approved(api, key, "boas_vindas"))
    history = wait(
        lambda: (
            (h := api.get("/v1/templates/boas_vindas/versions", key).json())
            and all(v["metaStatus"] == "APPROVED" for v in h["versions"])
            and h
        )
    )
    assert [v["version"] for v in history["versions"]] == [2, 1]
    assert send(api, key, "boas_vindas", {"nome": "Ana"}).status_code == 202


# -- official SDK and OpenAPI ----------------------------------------------------------------


def test_official_sdk_reads_templates(server, api, tenant, number):
    item = created(api, number["key"])
    client = PilotStatusClient(api_key=number["key"], transport=sdk_transport(server.url))
    listed = client.templates.list()
    assert listed == [item]
    assert {"id", "name", "category", "latestVersion"} <= set(listed[0])
    assert client.templates.get("boas_vindas") == item
    assert client.templates.get(item["id"]) == item
    with pytest.raises(NotFoundError) as info:
        client.templates.get("nao_existe")
    assert info.value.body["code"] == "TEMPLATE_NOT_FOUND"
    as_tenant = PilotStatusClient(
        api_key=tenant["key"], transport=sdk_transport(server.url), whatsapp_number_id=number["id"]
    )
    assert as_tenant.templates.list() == [item]


def test_openapi_documents_every_route_and_its_errors(api):
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        ("/v1/templates", "get"): {"200", "401", "403"},
        ("/v1/templates", "post"): {"201", "400", "401", "403", "409", "413"},
        ("/v1/templates/{template_ref}", "get"): {"200", "401", "403", "404"},
        ("/v1/templates/{template_ref}", "put"): {"200", "400", "401", "403", "404", "409"},
        ("/v1/templates/{template_ref}", "delete"): {"200", "401", "403", "404"},
        ("/v1/templates/{template_ref}/versions", "get"): {"200", "401", "403", "404"},
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, method, set(responses))
    post = paths["/v1/templates"]["post"]
    assert "TEMPLATE_EXAMPLES_REQUIRED" in post["responses"]["400"]["description"]
    assert "TEMPLATE_NAME_TAKEN" in post["responses"]["409"]["description"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert body_schema["required"] == [
        "name",
        "category",
        "language",
        "body",
    ]
    put = paths["/v1/templates/{template_ref}"]["put"]
    assert "TEMPLATE_CATEGORY_IMMUTABLE" in put["responses"]["400"]["description"]
    assert "TEMPLATE_NOT_FOUND" in put["responses"]["404"]["description"]
