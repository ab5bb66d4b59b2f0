"""Outbound HTTP for customer webhooks: an aiohttp session whose connector checks each peer.

The address about to be connected is checked before a byte is sent (before the socket even
exists), unless private targets are allowed: DNS can point a public name at our own network at
any time (DNS rebinding), so a check of a separate lookup is not enough.
"""

from __future__ import annotations

import errno
import socket

import aiohttp
from aiohttp.connector import AddrInfoType

from zapgate.domain import urls

_NOT_PUBLIC = "not a public address (ZAPGATE_ALLOW_PRIVATE_URLS is off)"


class TargetRefused(OSError):
    """The address about to be connected is local or private (or not an internet address).

    An ``OSError`` so that aiohttp reports it like any failed connect: a
    :class:`aiohttp.ClientConnectorError` whose ``os_error`` is this (see :func:`refusal`).
    Its ``str()`` deliberately leaves the address out, so it is the same for every address of a
    name: when all of them are refused, aiohappyeyeballs (which folds differing errors into one
    plain ``OSError("Multiple exceptions: ...")``) raises one of them as it is.
    """

    def __init__(self, address: str) -> None:
        super().__init__(errno.EACCES, _NOT_PUBLIC)
        self.address = address

    def describe(self, host: str | None = None) -> str:
        """The refusal naming the URL's host and the address it led to."""
        if not host or host == self.address:
            return f"{self.address or 'an unknown address'} is {_NOT_PUBLIC}"
        return f"{host} resolves to {self.address or 'an unknown address'}, which is {_NOT_PUBLIC}"


def guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    """The connector's ``socket_factory``: called with the exact (family, type, proto,
    canonname, sockaddr) about to be connected -- a resolved name or an IP literal alike -- and
    before any socket exists; refuses anything but a public IPv4/IPv6 address.

    Each address of a name is checked as it is tried, so a name answering both a private and a
    public address still reaches the public one, and never the private one.
    """
    family, type_, proto, _, sockaddr = addr_info
    if family not in (socket.AF_INET, socket.AF_INET6):  # unix sockets are not targets
        raise TargetRefused(str(sockaddr))
    host = str(sockaddr[0])
    address = urls.parse_address(host)
    if address is None or not urls.is_public_address(address):
        raise TargetRefused(host)
    return socket.socket(family=family, type=type_, proto=proto)


def refusal(exc: BaseException) -> str | None:
    """The refusal text when ``exc`` is the peer guard refusing the target, else None.

    aiohttp raises it as a :class:`aiohttp.ClientConnectorError` whose ``os_error`` is the
    :class:`TargetRefused` (one address, or every address refused). When a name had public
    addresses too and those failed to connect, aiohappyeyeballs folds the errors into one plain
    ``OSError`` and this is None: the connect error's own text then lists the refusal next to
    the other failures.
    """
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, TargetRefused):
        return exc.os_error.describe(exc.host)
    if isinstance(exc, TargetRefused):
        return exc.describe()
    return None


def open_session(
    *, allow_private: bool, max_connections: int, timeout_seconds: float
) -> aiohttp.ClientSession:
    """A session for customer webhooks; call it inside the running loop that will use it.

    - the peer guard (:func:`guarded_socket`) unless ``allow_private``;
    - at most ``max_connections`` connections, idle ones kept 5 s;
    - ``timeout_seconds`` for a whole request, connecting and reading the answer included;
    - no cookies, no decompression (the excerpt is read raw), TLS verified with the default
      context, and no proxy from the environment: through a proxy the peer would be the proxy,
      not the target. Redirects are not followed: pass ``allow_redirects=False`` per request.
    """
    connector = aiohttp.TCPConnector(
        limit=max_connections,
        keepalive_timeout=5.0,
        ssl=True,
        socket_factory=None if allow_private else guarded_socket,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        trust_env=False,
    )
