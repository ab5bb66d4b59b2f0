"""Outbound HTTP for customer webhooks: httpx over a connection pool that checks each peer.

The address actually connected to is checked before a byte is sent, unless private targets are
allowed: DNS can point a public name at our own network at any time (DNS rebinding), so a check
of a separate lookup is not enough.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from zapgate.domain import urls


class TargetRefused(Exception):
    """The endpoint's host is (or resolved to) a local or private address."""


class _PeerGuard(httpcore.AsyncNetworkBackend):
    """Connects as usual, then refuses a non-public peer before the request is written.

    Checking the connected socket rather than a separate DNS lookup closes the gap between
    "checked" and "used" that DNS rebinding exploits.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    # The signatures (``timeout`` included) are httpcore's AsyncNetworkBackend interface.
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout=timeout,
                                               local_address=local_address,
                                               socket_options=socket_options)
        if self._allow_private:
            return stream
        peer = _peer_address(stream)
        if peer is None or not urls.is_public_address(peer):
            await stream.aclose()
            raise TargetRefused(f"{host} resolves to {peer or 'an unknown address'}, which is "
                                "not a public address (ZAPGATE_ALLOW_PRIVATE_URLS is off)")
        return stream

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _peer_address(stream: httpcore.AsyncNetworkStream) -> urls.IPAddress | None:
    peer = stream.get_extra_info("server_addr")
    if not isinstance(peer, tuple) or not peer:
        return None
    return urls.parse_address(str(peer[0]))


# httpx transports must raise httpx's exceptions; this is the one place httpcore's are mapped.
_ERROR_MAP: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout), (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError), (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.NetworkError, httpx.NetworkError), (httpcore.TimeoutException, httpx.TimeoutException),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERROR_MAP:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, inner: AsyncIterable[bytes]) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._inner:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool whose connections pass :class:`_PeerGuard`.

    No proxy support on purpose: through a proxy the peer would be the proxy, not the target.
    """

    def __init__(self, *, allow_private: bool, max_connections: int) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=max_connections,
            keepalive_expiry=5.0, network_backend=_PeerGuard(allow_private=allow_private))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        with _httpx_errors():
            response = await self._pool.handle_async_request(core)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream),
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()
