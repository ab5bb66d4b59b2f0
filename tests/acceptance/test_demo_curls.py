"""The demo workspace, end to end: every request ``zapgate serve`` prints on a first run in
development is run as printed and succeeds; the credentials can be issued again; and outside
development nothing is created or printed."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import ZAPGATE
from zapgate.demo import RECOVERY_HINT
from zapgate.testing import free_port


class Serve:
    """``zapgate serve`` with its stdout kept apart (the banner), stopped by ``stop``."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [ZAPGATE, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def banner(self) -> list[str]:
        """The lines printed up to the banner's last one."""
        assert self.proc.stdout is not None
        lines = []
        for line in self.proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(RECOVERY_HINT):
                return lines
        raise AssertionError(f"no banner: {lines}")

    def wait_ready(self) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, "serve exited"
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise TimeoutError("serve did not become ready")

    def stop(self) -> str:
        """Stop it; returns what it printed and nobody read."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=15)
        return out


@pytest.fixture
def dev_env(serve_env: dict[str, str]) -> dict[str, str]:
    return {**serve_env, "ZAPGATE_ENVIRONMENT": "development"}


@pytest.fixture
def serving() -> Any:
    started: list[Serve] = []

    def start(env: dict[str, str], *args: str) -> Serve:
        started.append(Serve(env, *args))
        return started[-1]

    yield start
    for serve in started:
        if serve.proc.poll() is None:
            serve.stop()


def curls(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip().startswith("curl ")]


def run_curl(command: str) -> httpx.Response:
    """Run a printed ``curl`` command over loopback: the flags the banner uses, nothing else."""
    words = shlex.split(command)
    assert words[:2] == ["curl", "-s"], command
    url, headers, data = words[2], {}, None
    rest = iter(words[3:])
    for flag in rest:
        value = next(rest)
        if flag == "-H":
            name, _, header = value.partition(":")
            headers[name.strip()] = header.strip()
        elif flag == "-d":
            data = value
        else:
            raise AssertionError(f"unexpected curl flag {flag} in {command}")
    return httpx.request(
        "POST" if data is not None else "GET", url, headers=headers, content=data, timeout=10
    )


def field(lines: list[str], label: str) -> str:
    return next(line.split()[2] for line in lines if line.startswith(label))


def test_every_printed_request_works_as_printed(dev_env, serving):
    serve = serving(dev_env)  # no flags: what scripts/run does
    lines = serve.banner()
    serve.wait_ready()
    printed = curls(lines)
    assert len(printed) >= 5 and all(serve.url in c for c in printed)
    template_send = next(c for c in printed if '"templateId"' in c)
    # The Pilot Status guide's first request, as its seed's example template expects it.
    assert json.loads(shlex.split(template_send)[-1]) == {
        "destinationNumber": "+5511988887777",
        "templateId": "onboarding-test",
        "variables": {"name": "John", "order_id": "123"},
    }
    for command in printed:
        response = run_curl(command)
        assert 200 <= response.status_code < 300, (command, response.text)
    tracked = run_curl(next(c for c in printed if "/v1/messages/msg_" in c)).json()
    assert tracked["template"] and tracked["destinationNumber"] == "+5511988887777"


def test_lost_credentials_are_issued_again(dev_env, serving):
    first = serving(dev_env)
    old = first.banner()
    first.stop()
    second = serving(dev_env)
    second.wait_ready()
    again = subprocess.run(
        [ZAPGATE, "demo", "--port", str(second.port)],
        env=dev_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    lines = again.splitlines()
    assert field(lines, "Number key:") != field(old, "Number key:")
    for command in curls(lines):
        assert 200 <= run_curl(command).status_code < 300, command
    for label in ("Number key:", "Tenant key:"):
        stale = httpx.get(f"{second.url}/v1/numbers", headers={"x-api-key": field(old, label)})
        assert stale.status_code == 401
    assert "Tenant key:" not in second.stop()  # a second start printed nothing
    tenants = json.loads(
        subprocess.run(
            [ZAPGATE, "admin", "list-tenants", "--json"],
            env=dev_env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    assert [(t["name"], t["numbers"], t["ownerEmail"]) for t in tenants] == [
        ("Demo", 1, "demo@zapgate.local")
    ]


def test_production_creates_and_prints_no_demo(serve_env, serving):
    env = {
        **serve_env,
        "ZAPGATE_ENVIRONMENT": "production",
        "ZAPGATE_SECRET_KEY": "p" * 48,
        "ZAPGATE_ALLOW_PRIVATE_URLS": "0",
    }
    serve = serving(env)
    serve.wait_ready()
    assert "Tenant key" not in serve.stop()
    listed = subprocess.run(
        [ZAPGATE, "admin", "list-tenants", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(listed) == []
    # `zapgate demo` refuses there too, unless forced.
    refused = subprocess.run([ZAPGATE, "demo"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert "Tenant key" not in refused.stdout
