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


# -- the dashboard renders records, not the API's wire views ---------------------------------

VIEWS = "zapgate.web.views"
# What the dashboard may take from ``web.views``, and why. Request parsers that return a typed
# query or command (so a form refuses what the API refuses, with the same messages) and a URL
# helper; never a function that turns a record into the API's JSON.
DASHBOARD_USES_OF_VIEWS = {
    f"{VIEWS}.messages.list_query": "the log's filters, checked as GET /v1/messages checks them "
    "(a MessageQuery)",
    f"{VIEWS}.analytics.dashboard_query": "the overview's period and zone, checked as "
    "GET /v1/analytics/dashboard checks them (a DashboardQuery)",
    f"{VIEWS}.webhooks.new_endpoint": "the create form, checked as POST /v1/webhooks checks its "
    "body (a NewEndpoint)",
    f"{VIEWS}.webhooks.patch": "the edit form, checked as PATCH /v1/webhooks/{id} checks its body "
    "(an EndpointPatch)",
    f"{VIEWS}.remote_pairing.page_url": "the public pairing page's URL, built in one place for the "
    "API and the dashboard",
    f"{VIEWS}.sandbox.simulated_inbound": "the send page's inbound form, checked as POST "
    "/v1/sandbox/inbound checks its body (a SimulatedInbound)",
}


def _bound_views(tree: ast.AST) -> tuple[dict[str, str], set[str]]:
    """Local names bound to ``web.views`` or one of its modules, and the names imported from
    those modules directly (``from zapgate.web.views.messages import page``)."""
    bound: dict[str, str] = {}
    direct: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == VIEWS or alias.name.startswith(VIEWS + "."):
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:  # ``import zapgate.web.views.x``: reached by its dotted name
                        bound["zapgate"] = "zapgate"
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if node.module.startswith(VIEWS + "."):
                    direct.add(full)
                elif full == VIEWS or full.startswith(VIEWS + "."):
                    bound[alias.asname or alias.name] = full
    return bound, direct


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _views_used(path: Path) -> set[str]:
    """Every name of ``zapgate.web.views`` a module reaches (a whole module when it uses one
    without naming a function of it)."""
    tree = ast.parse(path.read_text())
    bound, used = _bound_views(tree)

    class Uses(ast.NodeVisitor):
        def visit_Attribute(self, node: ast.Attribute) -> None:
            parts = _dotted(node)
            if parts is None or parts[0] not in bound:
                self.generic_visit(node)
                return
            full = ".".join([bound[parts[0]], *parts[1:]])
            if full == VIEWS or full.startswith(VIEWS + "."):
                used.add(full)

        def visit_Name(self, node: ast.Name) -> None:
            if node.id in bound and bound[node.id] != "zapgate":
                used.add(bound[node.id])

    Uses().visit(tree)
    return used


@pytest.mark.parametrize("path", _modules("web/dashboard"), ids=lambda p: p.name)
def test_the_dashboard_renders_records_not_wire_views(path: Path) -> None:
    """Issue 11: the API's wire format stays at the API's edge. Dashboard pages render the
    services' records; ``web.views`` is used only for what ``DASHBOARD_USES_OF_VIEWS`` names."""
    bad = _views_used(path) - DASHBOARD_USES_OF_VIEWS.keys()
    assert not bad, f"{path.name} uses the API's wire views {sorted(bad)}: render the records"


def test_every_dashboard_exception_is_still_used() -> None:
    used = set().union(*(_views_used(p) for p in _modules("web/dashboard")))
    assert DASHBOARD_USES_OF_VIEWS.keys() <= used, sorted(DASHBOARD_USES_OF_VIEWS.keys() - used)


def test_the_views_check_sees_wire_views(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from zapgate.web.views import messages as views\n"
        "from zapgate.web import views as v\n"
        "from zapgate.web.views.keys import list_item\n"
        "import zapgate.web.views.analytics\n"
        "views.page(x)\nviews.list_query(n, p)\nv.webhooks.webhook(e)\n"
        "zapgate.web.views.analytics.dashboard(f)\nhelper(views)\n"
    )
    assert _views_used(sample) == {
        f"{VIEWS}.messages",
        f"{VIEWS}.messages.page",
        f"{VIEWS}.messages.list_query",
        f"{VIEWS}.webhooks.webhook",
        f"{VIEWS}.keys.list_item",
        f"{VIEWS}.analytics.dashboard",
    }


# -- the OpenAPI document comes from models ----------------------------------------------------

SCHEMA_KEYWORDS = {"properties", "additionalProperties", "oneOf", "anyOf", "allOf", "$ref", "minProperties"}
JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}


def _schema_literals(path: Path) -> list[str]:
    """Dict literals that are JSON Schema written by hand (``{"type": "object", ...}``,
    ``{"properties": ...}``, ``{"$ref": ...}``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if not isinstance(key, ast.Constant):
                continue
            typed = key.value == "type" and isinstance(value, ast.Constant) and value.value in JSON_TYPES
            if key.value in SCHEMA_KEYWORDS or typed:
                found.append(f"line {node.lineno}: {key.value!r}")
    return found


@pytest.mark.parametrize("path", _modules("web/api"), ids=lambda p: str(p.relative_to(SRC)))
def test_api_modules_write_no_json_schema(path: Path) -> None:
    """Bodies are documented by the models of ``web/schemas/`` (``openapi.request_body``,
    ``openapi.response``), not by schema dicts in the routes' modules."""
    found = _schema_literals(path)
    assert not found, f"{path} writes JSON Schema by hand: {found}"


def test_the_schema_check_sees_a_schema_dict(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'A = {"type": "object", "properties": {}}\nB = {"items": {"$ref": "x"}}\n'
        'C = {"type": "text", "label": "x"}\n'
    )
    assert _schema_literals(sample) == ["line 1: 'type'", "line 1: 'properties'", "line 2: '$ref'"]


def test_no_hand_written_body_schemas_helper() -> None:
    """``body_schema(dict)`` is gone: a body is documented by ``openapi.request_body(Model)``."""
    openapi = ast.parse((SRC / "web" / "openapi.py").read_text())
    defined = {n.name for n in ast.walk(openapi) if isinstance(n, ast.FunctionDef)}
    assert "body_schema" not in defined
    users = [p for p in SRC.rglob("*.py") if "body_schema" in p.read_text()]
    assert not users, users
