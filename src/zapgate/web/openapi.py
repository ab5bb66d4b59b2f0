"""The OpenAPI document: bodies are the Pydantic models of ``zapgate.web.schemas``, referred to
by name from the routes and added to ``components.schemas`` when the document is built."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from zapgate.web import schemas

COMPONENTS = "#/components/schemas/"
_UNWRAP = re.compile(r"(?<!\n)\n(?!\n)")  # a line break that does not end a paragraph


def ref(model: type[BaseModel]) -> dict[str, str]:
    """A reference to the model's component (added by :func:`tidy`)."""
    return {"$ref": COMPONENTS + model.__name__}


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body that the route reads itself (its parsers and
    services answer the API's own error codes; the model only describes the body)."""
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": ref(model)}}}}


def response(model: type[BaseModel], description: str, status: int = 200) -> dict[int | str, Any]:
    """A ``responses`` entry documenting the JSON a route answers, without FastAPI
    re-validating it (``response_model`` would, on every answer)."""
    return {status: {"description": description, "content": {"application/json": {"schema": ref(model)}}}}


# Routes anyone may call: no API key (callbacks carry the provider's own authentication).
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/metrics", "/webhooks/", "/v1/remote-pairing/")


def tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """Make FastAPI's generated document say what the API really does.

    FastAPI documents ``422 HTTPValidationError`` on routes with dependencies, whether or not
    anything can fail; Zapgate answers every validation failure with ``400 {error, code:
    VALIDATION_ERROR, details}``, so the 422 goes, and a 400 stands in where the route takes a
    body or a typed parameter and documents no 400 yet. Public routes get an empty ``security``
    list (the document's global API-key requirement does not apply to them). A documented answer
    that is a model's reference keeps only the reference, and the models the operations refer to
    join ``components.schemas``.
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
            for answer in responses.values():
                _only_the_reference(answer)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    add_models(schema)
    return schema


def _only_the_reference(answer: dict[str, Any]) -> None:
    """FastAPI merges its default answer's schema (a ``title`` for ``-> Any``) into a documented
    one: where that is a model's ``$ref``, the reference alone stands."""
    for content in answer.get("content", {}).values():
        schema = content.get("schema", {})
        if "$ref" in schema:
            content["schema"] = {"$ref": schema["$ref"]}


def _can_be_invalid(operation: dict[str, Any]) -> bool:
    typed = [
        p for p in operation.get("parameters", []) if p.get("schema", {}).get("type") not in (None, "string")
    ]
    return "requestBody" in operation or bool(typed)


def add_models(document: dict[str, Any]) -> None:
    """Add the models of ``zapgate.web.schemas`` that the document refers to, and the models
    they nest, to ``components.schemas``."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    wanted = sorted(_referenced(document) - set(components))
    if not wanted:
        return
    known = schemas.by_name()
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise LookupError(f"the document refers to {unknown}, which zapgate.web.schemas does not define")
    for name, schema in model_schemas([known[name] for name in wanted]).items():
        if name in components:
            raise ValueError(f"two components named {name}")
        components[name] = schema


def model_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """The components of the models and of every model they nest, by model name."""
    # One mode for bodies and answers alike, so a model nested in both (a template's content)
    # is one component, not an -Input and an -Output.
    _, document = models_json_schema(
        [(model, "validation") for model in models],
        ref_template=COMPONENTS + "{model}",
        schema_generator=_Generator,
    )
    generated: dict[str, Any] = document.get("$defs", {})
    for model in models:
        # Two models of one name would be renamed by Pydantic, and ``ref`` would miss them.
        if generated.get(model.__name__, {}).get("title") != model.__name__:
            raise ValueError(f"{model.__qualname__}: its component is not named {model.__name__}")
    return generated


def _referenced(node: Any) -> set[str]:
    """The component names that ``$ref``s under ``node`` point at."""
    found: set[str] = set()
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str) and target.startswith(COMPONENTS):
            found.add(target.removeprefix(COMPONENTS))
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return found
    for child in children:
        found |= _referenced(child)
    return found


class _Generator(GenerateJsonSchema):
    """Pydantic's JSON Schema, as the document wants it: no generated title on every property,
    a model's docstring unwrapped (its lines are one paragraph), and a one-value ``Literal`` as
    an ``enum`` of one, like every other enumeration."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        generated = super().model_schema(schema)
        if isinstance(generated.get("description"), str):
            generated["description"] = _UNWRAP.sub(" ", generated["description"])
        return generated

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        generated = super().literal_schema(schema)
        if "const" in generated and "enum" not in generated:
            generated["enum"] = [generated.pop("const")]
        return generated
