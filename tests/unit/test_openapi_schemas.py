"""``/openapi.json`` describes bodies with the Pydantic models of ``zapgate.web.schemas``: every
documented request body (and every documented answer body) is a ``$ref`` to a component
generated from one of them."""

from __future__ import annotations

from typing import Any

import pytest

from zapgate.domain.analytics import PERIODS
from zapgate.providers.base import ProviderKind
from zapgate.settings import Settings
from zapgate.web import openapi, schemas
from zapgate.web.app import create_app
from zapgate.webhooks import payloads

BASES = {"Body", "Answer"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite+aiosqlite://", environment="test", demo=False))
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in document["paths"].items() for method, op in item.items()]


def _component(schema: dict[str, Any]) -> str:
    assert set(schema) == {"$ref"}, schema
    name = schema["$ref"].removeprefix(openapi.COMPONENTS)
    assert schema["$ref"] == openapi.COMPONENTS + name
    return str(name)


def test_every_request_body_is_a_model(document: dict[str, Any]) -> None:
    models = schemas.by_name()
    components = document["components"]["schemas"]
    bodies = 0
    for method, path, op in _operations(document):
        if "requestBody" not in op:
            continue
        bodies += 1
        name = _component(op["requestBody"]["content"]["application/json"]["schema"])
        assert name in models, (method, path, name)
        generated = openapi.model_schemas([models[name]])
        assert components[name] == generated[name], (method, path)
    assert bodies >= 15


def test_every_documented_answer_body_is_a_model_or_the_error(document: dict[str, Any]) -> None:
    models = schemas.by_name()
    for method, path, op in _operations(document):
        for status, answer in op["responses"].items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            if schema is None or set(schema) <= {"title"}:  # FastAPI's default: an undocumented 2xx
                continue
            name = _component(schema)
            assert name == "Error" or name in models, (method, path, status, name)


def test_every_reference_resolves_and_every_model_is_used(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    referenced = openapi._referenced(document)
    assert referenced <= set(components), referenced - set(components)
    unused = set(schemas.by_name()) - BASES - set(components)
    assert not unused, f"models no operation documents: {unused}"


def test_the_properties_are_the_wire_names(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    send = components["SendRequest"]["properties"]
    assert {"destinationNumber", "templateId", "mediaType", "deliverAt", "list"} <= set(send)
    assert "from" in components["InboundSimulation"]["properties"]
    assert "phone_number" in components["TemplateButton"]["properties"]  # Meta's own spelling
    assert components["NumberSettings"]["additionalProperties"] is False
    assert components["TemplateCreate"]["required"] == ["name", "category", "language", "body"]
    assert "required" not in components["Template"]  # answers never promised their keys
    assert not any("title" in prop for prop in send.values())


def test_optional_fields_are_not_nullable_unless_said(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    assert components["ProjectCreate"]["properties"]["description"] == {"type": "string", "maxLength": 500}
    pace = components["NumberPatch"]["properties"]["pacePerSecond"]
    assert pace == {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 1000}, {"type": "null"}]}


def test_enumerations_follow_their_source(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    provider = components["NumberCreate"]["properties"]["provider"]
    assert provider["enum"] == [k.value for k in ProviderKind if k is not ProviderKind.META]
    assert provider["default"] == ProviderKind.SANDBOX.value
    events = components["WebhookCreate"]["properties"]["events"]["anyOf"]
    assert events == [
        {"type": "string", "enum": ["*"]},
        {"type": "array", "items": {"type": "string", "enum": list(payloads.SUBSCRIBABLE_EVENTS)}},
    ]
    assert components["DashboardStats"]["properties"]["period"]["enum"] == list(PERIODS)
    assert components["SendAccepted"]["properties"]["status"] == {"type": "string", "enum": ["QUEUED"]}


def test_a_reference_to_an_unknown_model_fails_the_build() -> None:
    document = {"paths": {"/x": {"post": openapi.request_body(type("Nowhere", (schemas.base.Body,), {}))}}}
    with pytest.raises(LookupError, match="Nowhere"):
        openapi.add_models(document)
