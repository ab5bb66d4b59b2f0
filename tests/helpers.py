"""Small helpers shared by integration tests."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from zapgate.clock import Clock
from zapgate.container import Container, build_container
from zapgate.settings import Settings

T = TypeVar("T")
DEST = "+5511988887777"
_HAPPY_PATH = ("QUEUED", "SENT", "DELIVERED", "READ")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The API's error shape: the status, and a body with a string ``error`` and the ``code``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]
    return body


def with_container(
    settings: Settings, fn: Callable[[Container], Awaitable[T]], *, clock: Clock | None = None
) -> T:
    """Run ``fn`` against the test database through a separate container (own engine), on
    ``clock`` when given (the fake clock a test server reads, say)."""

    async def run() -> T:
        container = build_container(settings, clock=clock)
        await container.start()
        try:
            return await fn(container)
        finally:
            await container.close()

    return asyncio.run(run())


def send(api: Any, key: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return api.post("/v1/messages/send", key, json=body, **kw)


def wait_status(
    api: Any,
    wait: Callable[..., Any],
    key: str,
    message_id: str,
    status: str,
    timeout: float = 10.0,
    *,
    or_later: bool = False,
) -> dict[str, Any]:
    """Wait until the message shows ``status``. With ``or_later``, a later state on the way to
    READ counts too: the sandbox moves on from DELIVERED within 50 ms in tests, faster than a
    loaded machine can poll, so a wait for that passing state alone can miss it."""
    wanted = {status}
    if or_later and status in _HAPPY_PATH:
        wanted = set(_HAPPY_PATH[_HAPPY_PATH.index(status) :])

    def check() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/v1/messages/{message_id}", key).json()
        return body if body["status"] in wanted else None

    result: dict[str, Any] = wait(check, timeout=timeout)
    return result


def sdk_transport(
    base_url: str,
) -> Callable[[urllib.request.Request, float], tuple[int, dict[str, str], str]]:
    """An SDK transport that sends the SDK's request to the test server instead."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def transport(req: urllib.request.Request, timeout: float) -> tuple[int, dict[str, str], str]:
        url = req.full_url.replace("https://pilotstatus.com.br", base_url, 1)
        forwarded = urllib.request.Request(
            url, data=req.data, method=req.get_method(), headers=dict(req.header_items())
        )
        try:
            with opener.open(forwarded, timeout=timeout) as res:
                return res.status, {k.lower(): v for k, v in res.headers.items()}, res.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()

    return transport
