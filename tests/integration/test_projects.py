"""GET/POST /v1/projects: the SDK's Project, slugs unique per workspace, scopes."""

from __future__ import annotations

from tests.helpers import assert_error


def test_create_and_list_projects(api, tenant, number):
    assert api.get("/v1/projects", tenant["key"]).json() == []
    r = api.post("/v1/projects", tenant["key"], json={"name": "Loja São Paulo", "description": "Vendas"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["name"] == "Loja São Paulo" and first["slug"] == "loja-sao-paulo"
    assert first["description"] == "Vendas" and first["id"].startswith("prj_") and first["createdAt"]
    second = api.post("/v1/projects", tenant["key"], json={"name": "loja sao paulo!"}).json()
    assert second["slug"] == "loja-sao-paulo-2" and second["description"] == ""
    odd = api.post("/v1/projects", tenant["key"], json={"name": "✨✨"}).json()
    assert odd["slug"] == "project"
    listed = api.get("/v1/projects", number["key"]).json()  # any key of the workspace reads them
    assert [p["id"] for p in listed] == [first["id"], second["id"], odd["id"]]
    assert set(listed[0]) == {"id", "name", "slug", "description", "createdAt"}


def test_project_validation_and_scopes(api, tenant, number, make_tenant):
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": "a", "description": 5}):
        assert_error(api.post("/v1/projects", tenant["key"], json=body), 400, "VALIDATION_ERROR")
    assert_error(api.post("/v1/projects", number["key"], json={"name": "a"}), 403, "NUMBER_SCOPE_NOT_ALLOWED")
    assert_error(api.post("/v1/projects", json={"name": "a"}), 401, "UNAUTHORIZED")
    api.post("/v1/projects", tenant["key"], json={"name": "Mine"})
    other = make_tenant(name="Other")
    assert api.get("/v1/projects", other["key"]).json() == []
    assert api.post("/v1/projects", other["key"], json={"name": "Mine"}).json()["slug"] == "mine"
