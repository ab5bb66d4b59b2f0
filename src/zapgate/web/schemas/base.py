"""What every documented body shares: the wire's camelCase names, and how optional and nullable
fields read."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Body(BaseModel):
    """A request body. A field that may be omitted defaults to ``MISSING`` (no default and not
    nullable in the document); ``X | None`` is a field that may be null."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _no_promised_fields(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


class Answer(BaseModel):
    """A response body. Its fields are documented without a ``required`` list (the answers never
    promised which keys are present); ``X | None`` is a field that may be null."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, json_schema_extra=_no_promised_fields
    )
