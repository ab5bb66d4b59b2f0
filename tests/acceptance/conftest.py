"""Acceptance fixtures: a real ``zapgate serve`` process over loopback, and the official SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import sdk_transport as sdk_transport  # the acceptance tests import it here
from zapgate.testing import free_port

ZAPGATE = str(Path(sys.executable).parent / "zapgate")


class ServeProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServeProcess:
        log = self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [ZAPGATE, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--no-demo"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"zapgate serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError("zapgate serve did not become ready")

    def crash(self) -> None:
        """SIGKILL: no shutdown hooks, no lease release — like a power cut of the process."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


@pytest.fixture
def serve_env(db_url: str) -> dict[str, str]:
    return process_env(db_url)


def process_env(db_url: str) -> dict[str, str]:
    """The environment of a ``zapgate`` process under test (fast timings, loopback allowed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZAPGATE_")}
    env.update(
        {
            "ZAPGATE_DATABASE_URL": db_url,
            "ZAPGATE_ENVIRONMENT": "test",
            "ZAPGATE_ALLOW_PRIVATE_URLS": "1",
            "ZAPGATE_LOG_JSON": "0",
            "ZAPGATE_LOG_LEVEL": "WARNING",
            "ZAPGATE_WORKER_POLL_INTERVAL": "0.05",
            "ZAPGATE_SWEEP_INTERVAL_SECONDS": "0.05",
            "ZAPGATE_SANDBOX_SEND_LATENCY": "0.01",
            "ZAPGATE_SANDBOX_DELIVERED_AFTER": "0.05",
            "ZAPGATE_SANDBOX_READ_AFTER": "0.1",
            "ZAPGATE_SANDBOX_TEMPLATE_APPROVAL_SECONDS": "0.3",
            "ZAPGATE_WEBHOOK_RETRY_SCHEDULE": json.dumps([0.2, 0.3, 0.5, 0.5, 0.5, 1, 1, 1, 1, 1]),
            "ZAPGATE_MESSAGE_LEASE_SECONDS": "2",
            "ZAPGATE_NUMBER_LEASE_SECONDS": "2",
            "ZAPGATE_KEY_CACHE_SECONDS": "0",
        }
    )
    return env


@pytest.fixture
def serve(serve_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    started: list[ServeProcess] = []

    def start(**extra_env: str) -> ServeProcess:
        proc = ServeProcess({**serve_env, **extra_env}, tmp_path / "serve.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def run_cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([ZAPGATE, *args], env=env, capture_output=True, check=True, timeout=60)
    return out.stdout.decode()


@pytest.fixture
def cli() -> Callable[..., Any]:
    return run_cli


def new_number_key(
    cli: Callable[..., Any], env: dict[str, str], base_url: str, *, name: str, phone: str
) -> str:
    """A new PAID workspace (through ``zapgate admin create-tenant``) with one sandbox number
    created through the API; the number's API key."""
    import httpx

    tenant = json.loads(cli(env, "admin", "create-tenant", "--name", name, "--plan", "PAID", "--json"))
    created = httpx.post(
        base_url + "/v1/numbers",
        headers={"x-api-key": tenant["tenantKey"]},
        json={"name": "n", "number": phone},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["apiKey"]["key"])


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[Callable[..., str]]:
    started: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(provider: str, *args: str) -> str:
        """``zapgate sim <provider> *args`` on a free loopback port; its base URL."""
        port = free_port()
        log = (tmp_path / f"sim-{provider}.log").open("ab")
        logs.append(log)
        proc = subprocess.Popen(
            [ZAPGATE, "sim", provider, "--port", str(port), *args], stdout=log, stderr=subprocess.STDOUT
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                httpx.get(url + "/_sim/config", timeout=1).raise_for_status()
                return url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError((tmp_path / f"sim-{provider}.log").read_text())

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)
    for log in logs:
        log.close()
