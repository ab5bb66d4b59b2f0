"""The ``zapgate`` command line."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.acceptance.conftest import ZAPGATE


def _run(env, *args, check=True):
    return subprocess.run([ZAPGATE, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=check)


def test_migrate_check_config_and_tenants(serve_env):
    assert "database at revision 0004" in _run(serve_env, "migrate").stdout
    out = _run(serve_env, "check-config").stdout
    assert "database: ok (revision 0004)" in out and "private webhook urls: allowed" in out
    created = json.loads(_run(serve_env, "admin", "create-tenant", "--name", "Acme", "--json",
                              "--email", "Owner@Acme.test").stdout)
    assert created["tenantKey"].startswith("ps_") and created["ownerEmail"] == "owner@acme.test"
    assert created["tenantId"].startswith("tenant_") and created["ownerPassword"]
    dup = _run(serve_env, "admin", "create-tenant", "--name", "B", "--email", "owner@acme.test",
               check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    plan = _run(serve_env, "admin", "set-plan", "--tenant", created["tenantId"], "--plan", "PAID")
    assert "plan PAID" in plan.stdout


def test_bad_configuration_is_reported(serve_env):
    env = {**serve_env, "ZAPGATE_ENVIRONMENT": "production", "ZAPGATE_SECRET_KEY": "changeme"}
    result = _run(env, "check-config", check=False)
    assert result.returncode == 2 and "ZAPGATE_SECRET_KEY" in result.stderr


def test_python_dash_m_and_help(serve_env):
    result = subprocess.run([sys.executable, "-m", "zapgate", "--help"], env=serve_env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "serve" in result.stdout


def test_serve_prints_demo_credentials(serve_env, tmp_path):
    from tests.acceptance.conftest import ServeProcess

    env = {k: v for k, v in serve_env.items()}
    proc = ServeProcess(env, tmp_path / "demo.log")
    proc.proc = subprocess.Popen([ZAPGATE, "serve", "--port", str(proc.port)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.proc.stdout:
            lines.append(line)
            if (len(lines) > 1 and lines[-2].startswith("Track it:")) or len(lines) > 200:
                break
        text = "".join(lines)
        assert "Tenant key:      ps_" in text and "Number key:      ps_" in text
        assert "Dashboard:" in text and "curl -s" in text
        key = next(line.split()[-1] for line in lines if line.startswith("Number key:"))
        import httpx

        from tests.conftest import wait_until

        wait_until(lambda: _up(proc.url), timeout=30)
        r = httpx.post(f"{proc.url}/v1/messages/send", headers={"x-api-key": key},
                       json={"destinationNumber": "+5511988887777", "text": "demo"})
        assert r.status_code == 202, r.text
    finally:
        proc.stop()
        proc.proc.stdout.close()


def _up(url):
    import httpx

    try:
        return httpx.get(url + "/healthz").status_code == 200
    except httpx.HTTPError:
        return False
