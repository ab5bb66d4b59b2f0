"""The request and response bodies of the public API as Pydantic models, one module per area.

They document the API (``/openapi.json`` refers to them by name: ``web.openapi.request_body``,
``web.openapi.response``); they validate nothing at run time: the routes read the JSON
themselves and the services and ``web/views`` parsers answer the API's own error codes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from pydantic import BaseModel


def by_name() -> dict[str, type[BaseModel]]:
    """Every model of this package by class name (the name of its OpenAPI component)."""
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, value in vars(module).items():
            # Pydantic also files a parametrized generic (RootModel[list[X]]) under its full name.
            if not (inspect.isclass(value) and issubclass(value, BaseModel) and name == value.__name__):
                continue
            if value.__module__ != module.__name__ or not name.isidentifier():
                continue
            if name in found:
                raise ValueError(f"two models named {name}: component names must be unique")
            found[name] = value
    return found
