"""Shared fixtures. Every test gets a fresh database: a SQLite file, or a new PostgreSQL database
when ``ZAPGATE_TEST_BACKEND=postgres`` (the PostgreSQL suite run by ``scripts/test``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from zapgate.clock import Clock
from zapgate.container import build_container
from zapgate.services import tenants
from zapgate.settings import Settings
from zapgate.testing import ServerThread, WebhookReceiver

BACKEND = os.environ.get("ZAPGATE_TEST_BACKEND", "sqlite")
PG_DSN = os.environ.get("ZAPGATE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_report_header() -> str:
    return f"zapgate test backend: {BACKEND}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database_url(tmp_dir: Any) -> Iterator[str]:
    """A SQLite file in ``tmp_dir``, or a new PostgreSQL database (dropped afterwards) when
    ``ZAPGATE_TEST_BACKEND=postgres``."""
    if BACKEND != "postgres":
        yield f"sqlite+aiosqlite:///{tmp_dir}/zapgate.db"
        return
    name = "zgt_" + secrets.token_hex(6)
    asyncio.run(_pg_admin(f"CREATE DATABASE {name}"))
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def db_url(tmp_path: Any) -> Iterator[str]:
    with fresh_database_url(tmp_path) as url:
        yield url


TEST_SETTINGS: dict[str, Any] = {
    "environment": "test",
    "allow_private_urls": True,
    "demo": False,
    "log_json": False,
    "log_level": "WARNING",
    "worker_poll_interval": 0.05,
    "sweep_interval_seconds": 0.05,
    "sandbox_send_latency": 0.01,
    "sandbox_delivered_after": 0.05,
    "sandbox_read_after": 0.1,
    "sandbox_template_approval_seconds": 0.3,
    "retry_base_seconds": 0.05,
    "retry_max_seconds": 0.5,
    "webhook_retry_schedule": [0.1, 0.2, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    "webhook_timeout_seconds": 2.0,
    "message_lease_seconds": 5.0,
    "number_lease_seconds": 2.0,
    "key_cache_seconds": 0.0,
}


@pytest.fixture
def make_settings(db_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return Settings(**{"database_url": db_url, **TEST_SETTINGS, **overrides})

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def start_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., ServerThread]]:
    """Start a Zapgate server (optionally with setting overrides, and ``clock=`` a
    ``zapgate.clock.FakeClock`` for a test that moves time rather than sleeping); stopped
    after the test."""
    started: list[ServerThread] = []

    def start(*, clock: Clock | None = None, **overrides: Any) -> ServerThread:
        server = ServerThread(make_settings(**overrides), clock=clock).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., ServerThread]) -> ServerThread:
    return start_server()


class Api:
    """A tiny loopback client: ``api.post(path, key, json=...)`` returns an httpx.Response."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        key: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        h = dict(headers or {})
        if key is not None:
            h["x-api-key"] = key
        return self.http.request(method, path, headers=h, **kwargs)

    def get(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", path, key, **kw)

    def post(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, key, **kw)

    def put(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, key, **kw)

    def patch(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, key, **kw)

    def delete(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, key, **kw)

    def create_number(
        self, tenant_key: str, *, number: str | None = None, official: bool = False, name: str = "Test number"
    ) -> dict[str, Any]:
        phone = number or "+55119" + "".join(secrets.choice("0123456789") for _ in range(8))
        r = self.post(
            "/v1/numbers",
            tenant_key,
            json={"name": name, "number": phone, "provider": "sandbox", "official": official},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        return {
            "id": body["instance"]["id"],
            "key": body["apiKey"]["key"],
            "number": phone,
            "keyId": body["apiKey"]["keyId"],
        }

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(server: ServerThread) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.close()


@pytest.fixture
def make_tenant(settings: Settings) -> Callable[..., dict[str, Any]]:
    def make(plan: str = "PAID", name: str = "Acme") -> dict[str, Any]:
        async def run() -> tenants.CreatedTenant:
            container = build_container(settings)
            try:
                return await tenants.create_tenant(container, name=name, plan=plan)
            finally:
                await container.close()

        created = asyncio.run(run())
        return {
            "id": created.tenant_id,
            "key": created.tenant_key,
            "email": created.owner_email,
            "password": created.owner_password,
        }

    return make


@pytest.fixture
def tenant(server: ServerThread, make_tenant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return make_tenant()


@pytest.fixture
def number(api: Api, tenant: dict[str, Any]) -> dict[str, Any]:
    return api.create_number(tenant["key"])


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver().start()
    yield r
    r.stop()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.time() + timeout
    last: Any = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s (last value: {last!r})")


@pytest.fixture
def wait() -> Callable[..., Any]:
    return wait_until


@pytest.fixture
def api_for() -> Iterator[Callable[[ServerThread], Api]]:
    """An :class:`Api` for another server started in the test (closed afterwards)."""
    clients: list[Api] = []

    def make(server: ServerThread) -> Api:
        client = Api(server.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
