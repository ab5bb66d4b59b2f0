"""Helpers to describe raw-JSON request bodies in the OpenAPI document."""

from __future__ import annotations

from typing import Any


def body_schema(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


# Routes anyone may call: no API key (callbacks carry the provider's own authentication).
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/metrics", "/webhooks/", "/v1/remote-pairing/")


def tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """Make FastAPI's generated document say what the API really does.

    FastAPI documents ``422 HTTPValidationError`` on routes with dependencies, whether or not
    anything can fail; Zapgate answers every validation failure with ``400 {error, code:
    VALIDATION_ERROR, details}``, so the 422 goes, and a 400 stands in where the route takes a
    body or a typed parameter and documents no 400 yet. Public routes get an empty ``security``
    list (the document's global API-key requirement does not apply to them).
    """
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.get("responses", {})
            if (
                responses.pop("422", None) is not None
                and "400" not in responses
                and _can_be_invalid(operation)
            ):
                responses["400"] = {
                    "description": "VALIDATION_ERROR",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            if path.startswith(PUBLIC_PREFIXES):
                operation["security"] = []
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _can_be_invalid(operation: dict[str, Any]) -> bool:
    typed = [
        p for p in operation.get("parameters", []) if p.get("schema", {}).get("type") not in (None, "string")
    ]
    return "requestBody" in operation or bool(typed)
