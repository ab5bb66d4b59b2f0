"""The provider adapters' HTTP client: aiohttp behind the few calls the adapters make.

Why aiohttp: measured on our 2-core machine (``bench/http_clients.py``), a request costs about
0.2 ms of client CPU with aiohttp against 1.0-2.9 ms with httpx, whose pool re-scans every
connection per request and, past 20 kept-alive connections, closes and reopens them (a TLS
handshake each, against the Graph API). The dispatcher keeps up to 32 sends in flight per Meta
number, so both costs land on the hot path.

Responses are read whole (provider answers are small JSON documents); ``Response`` offers what
the adapters read: ``status_code``, ``is_success``, ``headers``, ``json()`` and ``text``.
Transport failures (refused, reset, timed out, malformed answers) raise :class:`TransportError`
(:class:`TransportTimeout` for timeouts), which each adapter turns into one of our errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy

POOL_SIZE = 128  # connections kept per client (all hosts): above the dispatcher's concurrency
KEEPALIVE_SECONDS = 30.0


class TransportError(Exception):
    """The request did not get an HTTP answer."""


class TransportTimeout(TransportError):
    """No (complete) answer in time."""


class ConnectError(TransportError):
    """No connection: refused, unreachable, or the name did not resolve."""


class TooLarge(Exception):
    """A download passed its size limit (``size``: what was announced or read so far)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"more than the limit ({size} bytes seen)")
        self.size = size


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The parsed body; raises ``ValueError`` when it is not JSON."""
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


Files = Mapping[str, tuple[str, bytes, str]]  # field -> (file name, content, mime type)


class Client:
    """One pooled, keep-alive session, made on first use inside the running loop."""

    def __init__(self, *, base_url: str, timeout: float, source_address: str | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._local_addr = (source_address, 0) if source_address else None
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=POOL_SIZE, keepalive_timeout=KEEPALIVE_SECONDS, local_addr=self._local_addr
                ),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._session

    async def post(self, path: str, **request: Any) -> Response:
        return await self.request("POST", path, **request)

    async def get(self, path: str, **request: Any) -> Response:
        return await self.request("GET", path, **request)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Files | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """One request, its answer read whole (or, with ``max_bytes``, up to that size: more
        raises :class:`TooLarge`)."""
        body: Any = None
        if files is not None:
            form = aiohttp.FormData()
            for name, value in (data or {}).items():
                form.add_field(name, value)
            for name, (file_name, content, mime) in files.items():
                form.add_field(name, content, filename=file_name, content_type=mime)
            body = form
        elif data is not None:
            body = dict(data)
        query = None if params is None else {k: str(v) for k, v in params.items() if v is not None}
        try:
            async with self._open().request(
                method,
                self._base_url + path,
                json=json,
                data=body,
                params=query,
                headers=headers,
                allow_redirects=False,
            ) as response:
                if max_bytes is None:
                    content = await response.read()
                else:
                    content = await _read_capped(response, max_bytes)
                return Response(response.status, response.headers, content)
        except TimeoutError as exc:
            raise TransportTimeout(f"no answer in {self._timeout:g} s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc

    async def download(self, url: str, *, headers: Mapping[str, str], max_bytes: int) -> Response:
        """GET an absolute URL (a provider's media link), streamed: raises :class:`TooLarge` as
        soon as the body passes ``max_bytes`` (only that much is read), whatever the
        ``Content-Length`` says."""
        try:
            async with self._open().get(url, headers=headers, allow_redirects=False) as response:
                return Response(response.status, response.headers, await _read_capped(response, max_bytes))
        except TimeoutError as exc:
            raise TransportTimeout(f"no answer in {self._timeout:g} s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, read in chunks; :class:`TooLarge` once it passes ``max_bytes`` (or when the
    ``Content-Length`` says it will)."""
    if response.content_length is not None and response.content_length > max_bytes:
        raise TooLarge(response.content_length)
    content = bytearray()
    async for chunk in response.content.iter_chunked(65_536):
        content += chunk
        if len(content) > max_bytes:
            raise TooLarge(len(content))
    return bytes(content)
