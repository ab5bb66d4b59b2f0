"""The ``zapgate`` command line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import zapgate
from tests.acceptance.conftest import ZAPGATE
from tests.helpers import with_container
from zapgate.domain import number_commands
from zapgate.services import numbers


def _run(env, *args, check=True):
    return subprocess.run([ZAPGATE, *args], env=env, capture_output=True, text=True, timeout=60, check=check)


# The newest migration's revision (the file names start with it).
HEAD = max(
    path.name[:4]
    for path in (Path(zapgate.__file__).parent / "storage" / "migrations" / "versions").glob("0*.py")
)


def test_migrate_check_config_and_tenants(serve_env):
    assert f"database at revision {HEAD}" in _run(serve_env, "migrate").stdout
    out = _run(serve_env, "check-config").stdout
    assert f"database: ok (revision {HEAD})" in out and "private webhook urls: allowed" in out
    created = json.loads(
        _run(
            serve_env, "admin", "create-tenant", "--name", "Acme", "--json", "--email", "Owner@Acme.test"
        ).stdout
    )
    assert created["tenantKey"].startswith("ps_") and created["ownerEmail"] == "owner@acme.test"
    assert created["tenantId"].startswith("tenant_") and created["ownerPassword"]
    dup = _run(serve_env, "admin", "create-tenant", "--name", "B", "--email", "owner@acme.test", check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    plan = _run(serve_env, "admin", "set-plan", "--tenant", created["tenantId"], "--plan", "PAID")
    assert "plan PAID" in plan.stdout


def test_bad_configuration_is_reported(serve_env):
    env = {**serve_env, "ZAPGATE_ENVIRONMENT": "production", "ZAPGATE_SECRET_KEY": "changeme"}
    result = _run(env, "check-config", check=False)
    assert result.returncode == 2 and "ZAPGATE_SECRET_KEY" in result.stderr


def test_python_dash_m_and_help(serve_env):
    result = subprocess.run(
        [sys.executable, "-m", "zapgate", "--help"], env=serve_env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and "serve" in result.stdout


def test_version():
    from zapgate import __version__

    result = subprocess.run([ZAPGATE, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == f"zapgate {__version__}"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["serve"], ["--host HOST", "(default: 127.0.0.1)", "(default: 8080)", "(default: 1)", "Ctrl-C"]),
        (["demo"], ["(default: 127.0.0.1)", "(default: 8080)"]),
        (["admin", "create-tenant"], ["(default: FREE)", "(default: generated"]),
        (["admin", "list-tenants"], ["--json"]),
        (["sim"], ["(default: sim-app-secret)", "(default: 127.0.0.1)"]),
    ],
)
def test_help_shows_every_option_with_its_default(capsys, command, expected):
    from zapgate.cli import main

    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    for text in expected:
        assert text in " ".join(out.split()), out


def test_every_option_has_help():
    from zapgate.cli import _parser

    def walk(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)

    for parser in walk(_parser()):
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{parser.prog}: {action.option_strings or action.dest}"


def test_list_tenants(serve_env, make_settings):
    assert _run(serve_env, "admin", "list-tenants").stdout.strip() == "no workspaces"
    acme = json.loads(
        _run(
            serve_env,
            "admin",
            "create-tenant",
            "--name",
            "Acme",
            "--plan",
            "PAID",
            "--email",
            "owner@acme.test",
            "--json",
        ).stdout
    )
    beta = json.loads(_run(serve_env, "admin", "create-tenant", "--name", "Beta", "--json").stdout)

    async def add_numbers(container):
        for phone in ("+5511911110001", "+5511911110002"):
            await numbers.create_number(
                container,
                workspace_id=acme["tenantId"],
                add=number_commands.add_number(name="n", number=phone, provider="sandbox"),
            )

    with_container(make_settings(), add_numbers)
    listed = json.loads(_run(serve_env, "admin", "list-tenants", "--json").stdout)
    assert listed == [
        {
            "tenantId": acme["tenantId"],
            "name": "Acme",
            "plan": "PAID",
            "numbers": 2,
            "ownerEmail": "owner@acme.test",
        },
        {
            "tenantId": beta["tenantId"],
            "name": "Beta",
            "plan": "FREE",
            "numbers": 0,
            "ownerEmail": beta["ownerEmail"],
        },
    ]
    text = _run(serve_env, "admin", "list-tenants").stdout.splitlines()
    assert len(text) == 2 and acme["tenantId"] in text[0] and "2 number(s)" in text[0]
    assert "Beta" in text[1] and "FREE" in text[1]
