"""The body limit holds however the body arrives: with a Content-Length, or streamed chunked
without one (on public callback routes, before any authentication, and on the API)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tests.helpers import DEST, assert_error, with_container
from zapgate.container import Container
from zapgate.storage import tables as t
from zapgate.testing import ServerThread

LIMIT = 64 * 1024


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A JSON-looking body streamed in chunks (httpx sends it with Transfer-Encoding: chunked)."""
    yield b'{"object": "whatsapp_business_account", "pad": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.fixture
def limited(start_server: Callable[..., ServerThread]) -> ServerThread:
    return start_server(max_body_bytes=LIMIT)


def _post_chunked(
    server: ServerThread, path: str, total: int, headers: dict[str, str] | None = None
) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post(
            path, content=_chunks(total), headers={"content-type": "application/json", **(headers or {})}
        )
    return response


@pytest.mark.parametrize(
    "path", ["/webhooks/meta", "/webhooks/evolution/wn_unknown", "/webhooks/evolution-go/wn_unknown"]
)
def test_a_chunked_body_over_the_limit_is_refused_on_callback_routes(
    limited: ServerThread, path: str
) -> None:
    body = assert_error(
        _post_chunked(limited, path, 4 * LIMIT, {"x-hub-signature-256": "sha256=00"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert "64 KiB" in body["error"] or str(LIMIT) in body["error"]
    # Under the limit the same route answers as usual: authentication decides.
    assert_error(
        _post_chunked(limited, path, LIMIT // 2, {"x-hub-signature-256": "sha256=00"}),
        401,
        "INVALID_SIGNATURE",
    )
    assert with_container(limited.settings, _stored_callbacks) == 0


async def _stored_callbacks(container: Container) -> int:
    async with container.db.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(t.provider_events))).scalar_one()
        )


def test_a_chunked_body_over_the_limit_is_refused_on_the_api(
    limited: ServerThread, make_tenant: Callable[..., dict[str, str]], api_for: Callable[[ServerThread], Api]
) -> None:
    api = api_for(limited)
    number = api.create_number(make_tenant()["key"])
    key = {"x-api-key": number["key"]}
    # The send fast path, a FastAPI route, and the sandbox inbound route.
    for path in ("/v1/messages/send", "/v1/templates", "/v1/sandbox/inbound"):
        assert_error(_post_chunked(limited, path, 4 * LIMIT, key), 413, "PAYLOAD_TOO_LARGE")
    # Nothing was accepted, and the server still serves a normal send.
    ok = httpx.post(
        limited.url + "/v1/messages/send", headers=key, json={"destinationNumber": DEST, "text": "after"}
    )
    assert ok.status_code == 202, ok.text


def test_the_default_limit_stops_a_64_mib_stream_early(server: ServerThread) -> None:
    """The default 16 MiB limit against the 64 MiB stream of the original report."""
    body = assert_error(
        _post_chunked(server, "/webhooks/meta", 64 * 1024 * 1024, {"x-hub-signature-256": "sha256=00"}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert "16 MiB" in body["error"]
