"""Dependencies point one way: web → services → domain. A wrong-way import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "zapgate"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("domain"), ids=lambda p: p.name)
def test_domain_is_pure(path: Path) -> None:
    bad = {
        m
        for m in _imports(path)
        if m.split(".")[0] in {"fastapi", "starlette", "sqlalchemy", "httpx", "uvicorn"}
        or m.startswith(
            ("zapgate.services", "zapgate.web.", "zapgate.storage", "zapgate.workers", "zapgate.providers")
        )
    }
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in SRC.rglob("*.py")
        if not {"web", "sim"} & set(p.relative_to(SRC).parts) and p.name != "testing.py"
    ],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_only_web_imports_fastapi(path: Path) -> None:
    bad = {m for m in _imports(path) if m.split(".")[0] in {"fastapi", "starlette"}}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize(
    "path",
    _modules("services") + _modules("workers") + _modules("providers") + _modules("storage"),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_nothing_below_web_imports_web(path: Path) -> None:
    bad = {m for m in _imports(path) if m == "zapgate.web" or m.startswith("zapgate.web.")}
    assert not bad, f"{path} imports {bad}"
