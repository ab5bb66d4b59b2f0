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


# -- provider knowledge stays in the adapters ------------------------------------------------

PROVIDER_PACKAGES = {"meta", "sandbox", "evolution_v2", "evolution_go"}
KIND_NAMES = {"meta", "sandbox", "evolution-v2", "evolution-go"}


@pytest.mark.parametrize(
    "path",
    [p for p in SRC.rglob("*.py") if "providers" not in p.relative_to(SRC).parts],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_provider_packages_are_imported_only_by_providers(path: Path) -> None:
    """Outside ``providers/`` an adapter is reached through the registry and the protocol in
    ``providers.base``, never by importing ``providers.<kind>``."""
    bad = {
        m
        for m in _imports(path)
        if m.startswith("zapgate.providers.") and m.split(".")[2] in PROVIDER_PACKAGES
    }
    assert not bad, f"{path} imports {bad}"


def _kind_comparisons(path: Path) -> list[str]:
    """Comparisons with a provider kind's name (``x == "meta"``, ``x in ("sandbox", ...)``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        for operand in [node.left, *node.comparators]:
            values = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
            found += [
                f"line {node.lineno}: {v.value!r}"
                for v in values
                if isinstance(v, ast.Constant) and v.value in KIND_NAMES
            ]
    return found


@pytest.mark.parametrize(
    "path",
    _modules("services") + _modules("workers") + _modules("domain") + _modules("web"),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_no_branching_on_provider_names(path: Path) -> None:
    """What a kind can do is asked of its ``Features`` (``registry.features(kind)``), so a new
    provider is added in ``providers/`` alone."""
    found = _kind_comparisons(path)
    assert not found, f"{path} compares with provider kind names: {found}"


def test_the_kind_check_sees_a_comparison(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('if row.provider == "meta" or kind in ("sandbox", "x"):\n    pass\n')
    assert _kind_comparisons(sample) == ["line 1: 'meta'", "line 1: 'sandbox'"]


def _container_writes(path: Path) -> list[str]:
    """Assignments to the container or into its attributes (``container.x = …``,
    ``container.x[k] = …``, ``self._c.x = …``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            while isinstance(target, (ast.Subscript, ast.Attribute)):
                base = target.value
                if (isinstance(base, ast.Name) and base.id in {"container", "c"}) or (
                    isinstance(base, ast.Attribute) and base.attr in {"_c", "container"}
                ):
                    found.append(f"line {node.lineno}")
                    break
                target = base
    return found


@pytest.mark.parametrize(
    "path",
    _modules("services") + _modules("workers") + _modules("web"),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_nothing_mutates_the_container(path: Path) -> None:
    """Dependencies are built once in the composition root (``container.build_container``)."""
    found = _container_writes(path)
    assert not found, f"{path} assigns into the container: {found}"


def test_the_container_check_sees_a_write(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("container.batchers['x'] = 1\nself._c.cache = 2\nvalue = container.db\n")
    assert _container_writes(sample) == ["line 1", "line 2"]


# -- SQL lives in storage/ -------------------------------------------------------------------


def _uses_sql(path: Path) -> bool:
    """Imports SQLAlchemy or the table definitions."""
    found = _imports(path)
    return any(m.split(".")[0] == "sqlalchemy" or m == "zapgate.storage.tables" for m in found) or (
        "zapgate.storage" in found and "import tables" in path.read_text()
    )


@pytest.mark.parametrize(
    "path", _modules("services") + _modules("domain"), ids=lambda p: str(p.relative_to(SRC))
)
def test_services_hold_no_sql(path: Path) -> None:
    """Services and the domain work on records; SQL lives in ``storage/`` (repositories)."""
    assert not _uses_sql(path), f"{path} builds SQL: use a repository in storage/repositories/"


def test_the_composition_root_holds_no_sql() -> None:
    """``container.py`` builds objects; what it reads at start-up comes from a repository."""
    assert not _uses_sql(SRC / "container.py")
