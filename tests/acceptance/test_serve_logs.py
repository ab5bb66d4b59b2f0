"""``zapgate serve`` logs only JSON lines with secrets redacted -- uvicorn's own messages and
its traceback of an unhandled error included (uvicorn's default logging would print those as
plain text past the redacting formatter)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

import httpx
import sqlalchemy as sa

from tests.acceptance.conftest import ZAPGATE
from tests.helpers import with_container
from zapgate.testing import free_port

SECRET_REF = "ps_" + "S3cr3t" * 7  # looks like an API key: must never reach the log


def _start(env, log_path, *args):
    port = free_port()
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [ZAPGATE, "serve", "--port", str(port), "--no-demo", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"serve did not start: {log_path.read_text()[-2000:]}")


def _break_templates_table(settings):
    async def rename(container):
        async with container.db.write() as conn:
            await conn.execute(sa.text("ALTER TABLE templates RENAME TO templates_gone"))

    with_container(settings, rename)


def test_an_unhandled_error_is_logged_as_redacted_json_only(serve_env, make_settings, make_tenant, tmp_path):
    env = {**serve_env, "ZAPGATE_LOG_JSON": "1", "ZAPGATE_LOG_LEVEL": "INFO"}
    log_path = tmp_path / "serve.stderr"
    proc, base = _start(env, log_path)
    try:
        tenant = make_tenant()
        with httpx.Client(base_url=base, timeout=10) as http:
            created = http.post(
                "/v1/numbers",
                headers={"x-api-key": tenant["key"]},
                json={"name": "n", "number": "+5511912345678", "provider": "sandbox"},
            )
            key = created.json()["apiKey"]["key"]
            _break_templates_table(make_settings())
            # The reference ends up in the database error's parameters, hence the traceback.
            failed = http.get(f"/v1/templates/{SECRET_REF}", headers={"x-api-key": key})
            assert failed.status_code == 500
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert not any(line.lstrip().startswith("Traceback") for line in lines)
    text = log_path.read_text()
    assert SECRET_REF not in text and key not in text and tenant["key"] not in text
    # Logged once, by Zapgate (not raised on to the server, which would log it again).
    logged = [e for e in entries if "exc" in e]
    assert [e["logger"] for e in logged] == ["zapgate.web"], entries
    assert "Traceback" in logged[0]["exc"] and "ps_***" in logged[0]["exc"]
    assert any(e["logger"] == "uvicorn.error" and "Started server process" in e["msg"] for e in entries)


def _entries(log_path):
    complete = log_path.read_text().split("\n")[:-1]  # a line still being written waits
    return [json.loads(line) for line in complete if line.strip()]


def test_serve_workers_starts_that_many_server_processes(serve_env, make_tenant, tmp_path, wait):
    env = {**serve_env, "ZAPGATE_LOG_JSON": "1", "ZAPGATE_LOG_LEVEL": "INFO"}
    log_path = tmp_path / "serve.stderr"
    proc, base = _start(env, log_path, "--workers", "2")
    try:
        started = wait(
            lambda: (
                len({e["msg"] for e in _entries(log_path) if e["msg"].startswith("Started server process")})
                == 2
            ),
            timeout=60,
        )
        assert started
        key = make_tenant()["key"]
        assert httpx.get(f"{base}/v1/numbers", headers={"x-api-key": key}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not any(e["level"] == "error" for e in _entries(log_path))
