"""The webhook session's peer guard, over real loopback sockets: a name an attacker points at our
own network (DNS rebinding) is refused before any connection is made, IP literals too, and
loopback is reached when private targets are allowed. Only the DNS answer is stubbed."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from zapgate.webhooks import transport
from zapgate.workers.webhook_sender import _describe

NAME = "hooks.example.com"  # public-looking; the stubbed DNS answers our own addresses


OK = b"HTTP/1.1 200 OK\r\nset-cookie: seen=1\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


class Listener:
    """A loopback TCP server counting the connections it accepts. It reads a request, then
    answers ``answer`` -- 200 ``ok`` by default; None: hangs up; ``b"RST"``: resets."""

    def __init__(self, answer: bytes | None = OK, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Listener:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            self.requests.append(head + await reader.readexactly(length))
            if self.answer == b"RST":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if self.answer is not None:
                writer.write(self.answer)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass  # a client that gave up (a refused certificate)
        finally:
            writer.close()


async def _connections_before_a_marker(listener: Listener) -> int:
    """The connections ``listener`` accepted before one made now. It accepts and counts them in
    arrival order, so once this marker's request is read, any connection that came before it is
    counted too: proof that a refused client made none, where a fixed sleep proved nothing on a
    slow machine."""
    marker = b"GET /marker HTTP/1.1\r\nhost: marker\r\n\r\n"
    _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    try:
        writer.write(marker)
        await writer.drain()
        deadline = asyncio.get_running_loop().time() + 10
        while marker not in listener.requests:
            assert asyncio.get_running_loop().time() < deadline, "the marker was not served"
            await asyncio.sleep(0.001)
    finally:
        writer.close()
    return listener.connections - 1


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Names to answer with given addresses (the resolver's getaddrinfo); others resolve as
    usual."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, family, type, proto, flags)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port), 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port)))
            for a in answers[name]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answers


async def _post(
    url: str, *, allow_private: bool, session: aiohttp.ClientSession | None = None
) -> tuple[int, bytes]:
    if session is None:
        async with transport.open_session(
            allow_private=allow_private, max_connections=4, timeout_seconds=5.0
        ) as own:
            return await _post(url, allow_private=allow_private, session=own)
    async with session.post(
        url, data=b'{"ok":true}', allow_redirects=False, headers={"content-type": "application/json"}
    ) as response:
        return response.status, await response.read()


def _refused(url: str) -> aiohttp.ClientConnectorError:
    async def attempt() -> aiohttp.ClientConnectorError:
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await _post(url, allow_private=False)
        return info.value

    return asyncio.run(attempt())


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["10.0.0.7", "127.0.0.1"],
        ["::1", "127.0.0.1", "169.254.169.254"],  # each refused, so the refusal keeps its type
    ],
)
def test_a_public_name_resolving_to_our_network_is_refused_before_connecting(
    dns: dict[str, list[str]], answer: list[str]
) -> None:
    async def scenario() -> tuple[int, aiohttp.ClientConnectorError]:
        async with Listener() as listener:
            dns[NAME] = answer
            with pytest.raises(aiohttp.ClientConnectorError) as info:
                await _post(f"http://{NAME}:{listener.port}/hook", allow_private=False)
            return await _connections_before_a_marker(listener), info.value

    connections, error = asyncio.run(scenario())
    assert connections == 0  # refused before the socket existed: not even a SYN
    assert isinstance(error.os_error, transport.TargetRefused)
    text = transport.refusal(error)
    assert text is not None and text.startswith(f"{NAME} resolves to ")
    assert error.os_error.address in answer and error.os_error.address in text
    assert "not a public address" in text and "ZAPGATE_ALLOW_PRIVATE_URLS" in text


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "10.1.2.3", "169.254.169.254", "[::ffff:127.0.0.1]", "localhost"]
)
def test_private_and_loopback_hosts_are_refused(host: str) -> None:
    error = _refused(f"http://{host}:9/hook")
    assert isinstance(error.os_error, transport.TargetRefused)
    text = transport.refusal(error)
    assert text is not None and "is not a public address" in text
    assert "ZAPGATE_ALLOW_PRIVATE_URLS" in text and error.os_error.address in text


def test_loopback_is_reached_when_private_targets_are_allowed(dns: dict[str, list[str]]) -> None:
    async def scenario() -> tuple[Listener, list[tuple[int, bytes]]]:
        async with (
            Listener() as listener,
            transport.open_session(allow_private=True, max_connections=4, timeout_seconds=5.0) as session,
        ):
            dns[NAME] = ["127.0.0.1"]
            results = [
                await _post(f"http://127.0.0.1:{listener.port}/hook", allow_private=True, session=session),
                *[
                    await _post(f"http://{NAME}:{listener.port}/hook", allow_private=True, session=session)
                    for _ in range(2)
                ],
            ]
            return listener, results

    listener, results = asyncio.run(scenario())
    assert results == [(200, b"ok")] * 3
    assert listener.connections == 3
    assert all(r.endswith(b'{"ok":true}') for r in listener.requests)
    assert b"cookie:" not in listener.requests[2].lower()  # the answers' cookies are dropped


def test_only_public_internet_addresses_get_a_socket() -> None:
    public = transport.guarded_socket(
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.215.14", 443))
    )
    public.close()  # created, not connected: the connector connects it
    for family, sockaddr in [
        (socket.AF_INET, ("192.168.0.1", 443)),
        (socket.AF_INET6, ("fe80::1%1", 443, 0, 1)),
        (socket.AF_INET, ("not-an-address", 443)),
        (socket.AF_UNIX, "/run/docker.sock"),
    ]:
        with pytest.raises(transport.TargetRefused):
            transport.guarded_socket((family, socket.SOCK_STREAM, 0, "", sockaddr))


def test_the_refusal_names_the_host_and_the_address() -> None:
    refused = transport.TargetRefused("10.0.0.7")
    assert refused.describe("hooks.example.com") == (
        "hooks.example.com resolves to 10.0.0.7, which is not a public address "
        "(ZAPGATE_ALLOW_PRIVATE_URLS is off)"
    )
    assert refused.describe("10.0.0.7") == (
        "10.0.0.7 is not a public address (ZAPGATE_ALLOW_PRIVATE_URLS is off)"
    )
    assert transport.refusal(refused) == refused.describe()
    assert transport.refusal(ValueError("nope")) is None


def test_proxies_from_the_environment_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # Through a proxy the peer would be the proxy, not the target the guard must see.
    async def scenario() -> tuple[Listener, Listener, tuple[int, bytes]]:
        async with Listener() as target, Listener() as proxy:
            for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
                monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
            for name in ("NO_PROXY", "no_proxy"):
                monkeypatch.delenv(name, raising=False)
            result = await _post(f"http://127.0.0.1:{target.port}/hook", allow_private=True)
            return target, proxy, result

    target, proxy, result = asyncio.run(scenario())
    assert result == (200, b"ok") and target.connections == 1 and proxy.connections == 0


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that no authority signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def _failure(listener: Listener | None, scheme: str = "http") -> str:
    """The attempt's error text for a POST to ``listener`` (None: a port nobody listens on)."""

    async def attempt() -> str:
        async with contextlib.AsyncExitStack() as stack:
            if listener is None:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
            else:
                port = (await stack.enter_async_context(listener)).port
            try:
                await _post(f"{scheme}://127.0.0.1:{port}/hook", allow_private=True)
            except Exception as exc:
                return _describe(exc)
        raise AssertionError("the POST succeeded")

    return asyncio.run(attempt())


def test_error_texts_say_what_failed(tmp_path: Path) -> None:
    assert _failure(None).startswith("ConnectError: cannot connect to 127.0.0.1:")
    assert _failure(None).endswith("(Connection refused)")
    assert _failure(Listener(answer=None)) == (
        "ServerDisconnected: the connection closed before a complete answer"
    )
    assert _failure(Listener(answer=b"RST")) == "NetworkError: Connection reset by peer"
    assert _failure(Listener(answer=b"NOT HTTP\r\n\r\n")).startswith(
        "ProtocolError: invalid HTTP answer (Bad status line"
    )
    assert _failure(Listener(answer=b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nok")).startswith(
        "ProtocolError: incomplete HTTP answer"
    )
    # TLS is verified: a certificate no authority signed is refused.
    assert _failure(Listener(tls=_self_signed(tmp_path)), scheme="https") == (
        "TLSError: the certificate of 127.0.0.1 was not accepted (self-signed certificate)"
    )
