"""Operators manage dashboard people from the command line: another user for a workspace, and a
password reset that signs the user out everywhere."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from tests.acceptance.conftest import ZAPGATE
from tests.dashboard.conftest import Browser
from zapgate.testing import ServerThread


def _cli(server: ServerThread, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        "ZAPGATE_DATABASE_URL": server.settings.database_url,
        "ZAPGATE_ENVIRONMENT": "test",
        "ZAPGATE_LOG_JSON": "0",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [ZAPGATE, "admin", *args], env=env, capture_output=True, text=True, timeout=60, check=check
    )


def test_create_user_then_sign_in_to_the_same_workspace(
    server: ServerThread, tenant: dict[str, Any], browser_for: Callable[..., Browser]
) -> None:
    out = _cli(
        server,
        "create-user",
        "--tenant",
        tenant["id"],
        "--email",
        "Ana@Acme.test",
        "--password",
        "a long enough password",
    ).stdout
    assert "email: ana@acme.test" in out
    browser = browser_for(server)
    assert browser.login("ana@acme.test", "a long enough password").status_code == 303
    assert "Acme" in browser.page("/").text
    again = _cli(server, "create-user", "--tenant", tenant["id"], "--email", "ana@acme.test", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    short = _cli(
        server,
        "create-user",
        "--tenant",
        tenant["id"],
        "--email",
        "b@acme.test",
        "--password",
        "short",
        check=False,
    )
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    unknown = _cli(server, "create-user", "--tenant", "tenant_nope", "--email", "c@acme.test", check=False)
    assert unknown.returncode == 1 and "Workspace not found" in unknown.stderr


def test_reset_password_signs_the_user_out_everywhere(
    server: ServerThread, tenant: dict[str, Any], signed_in: Browser, browser_for: Callable[..., Browser]
) -> None:
    assert signed_in.page("/").status_code == 200
    out = _cli(server, "reset-password", "--email", tenant["email"]).stdout
    new_password = out.split("password: ")[1].strip()
    assert signed_in.http.get("/").status_code == 303  # the old session is gone
    fresh = browser_for(server)
    assert fresh.login(tenant["email"], tenant["password"]).status_code == 401
    assert fresh.login(tenant["email"], new_password).status_code == 303
    missing = _cli(server, "reset-password", "--email", "nobody@acme.test", check=False)
    assert missing.returncode == 1 and "No user" in missing.stderr
