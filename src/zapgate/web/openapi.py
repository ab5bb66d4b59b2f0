"""Helpers to describe raw-JSON request bodies in the OpenAPI document."""

from __future__ import annotations

from typing import Any


def body_schema(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema}}}}
