"""Client-side CPU per request of async HTTP clients posting webhook-sized JSON (issue 9).

    .venv/bin/python bench/http_clients.py [--requests 20000] [--warmup 1000]
                                           [--concurrency 1,8,32] [--repeats 2]
                                           [--clients zapgate,httpx,aiohttp,...]
                                           [--loop uvloop|asyncio]

Every candidate POSTs the same ~1 KB JSON body with the same four headers (content-type,
user-agent, x-pilot-status-signature, webhook-id) to one HTTP/1.1 keep-alive receiver on
127.0.0.1, from ``concurrency`` asyncio tasks sharing one client, and reads the status and the
body. The receiver is this file with ``--serve-receiver PORT`` in its own process (a bare ASGI app
under uvicorn + httptools + uvloop answering 200 ``{}``), so its CPU is not counted as the
client's. Measured per cell (client x concurrency), after ``--warmup`` requests on a fresh client
(connections open, caches warm): this process's user + system CPU time (getrusage: every thread)
over ``--requests`` requests, divided by them -- the number that matters, because it barely moves
with other load on the machine -- plus requests/s (noisy on a shared machine), the receiver's CPU
per request (psutil), and the connections the receiver saw (distinct client ports).

Candidates (``--clients``):

- ``zapgate``: the webhook sender's client exactly as ``WebhookSender._http`` builds it now
  (``webhooks.transport.open_session``: aiohttp with the peer guard in the connector's
  ``socket_factory``, ``limit=webhook_concurrency``) and used as ``_post`` uses it (the excerpt
  read raw up to 2 KB, ``retry-after`` read, inside ``asyncio.timeout``). The peer check runs as
  in production (allow_private off), except that the bench receiver's 127.0.0.1 counts as public.
  Until commit ``a78e67a`` this row was the sender's httpx client (``GuardedTransport``, 1.0-2.9
  ms per request in RESULTS.md).
- ``httpx``: a plain ``httpx.AsyncClient`` (``base_url``, timeout ``provider_timeout_seconds``,
  httpx's default limits) as the provider adapters used it until commit ``53aa412``,
  ``post()`` + ``.content``.
- ``aiohttp``: ``ClientSession`` over ``TCPConnector(limit=webhook_concurrency,
  keepalive_timeout=5)``, ``ClientTimeout(total=...)``, ``DummyCookieJar``, no redirects,
  ``auto_decompress=False``; ``post()`` + ``read()``.
- ``aiohttp-guard``: the same plus the SSRF peer check in the connector's ``socket_factory``,
  which receives the exact address about to be connected (resolved name or IP literal) before
  any byte is sent: once per new connection.
- ``aiohttp-resolver``: the same as ``aiohttp`` plus a custom ``AbstractResolver`` that drops
  non-public addresses from the DNS answer (URL host ``localhost`` so that it is called; aiohttp
  never calls the resolver for an IP-literal host).
- ``aiohttp-trace``: the same as ``aiohttp`` plus one ``TraceConfig`` with a no-op
  ``on_request_start``: what any tracing hook costs per request (its connection events carry no
  peer address, so a peer check cannot be built on them).
- ``raw``: the floor, a minimal HTTP/1.1 keep-alive client on an ``asyncio.Protocol`` with
  httptools' response parser, a LIFO pool of idle connections and ``asyncio.timeout``.

The event loop is uvloop, as under ``zapgate serve`` (uvicorn picks it); ``--loop asyncio`` is
what ``zapgate worker`` runs. Exit 1 when a cell was invalid: an error, a non-200 answer or
another body, or a receiver count that is not the number of requests sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import json
import os
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import benchlib as b
import httptools
import httpx

from zapgate.domain import urls
from zapgate.settings import Settings
from zapgate.webhooks import signing, transport
from zapgate.workers import webhook_sender

CLIENTS = ("zapgate", "httpx", "aiohttp", "aiohttp-guard", "aiohttp-resolver", "aiohttp-trace", "raw")
AIOHTTP_CLIENTS = frozenset(c for c in CLIENTS if c.startswith("aiohttp"))
WEBHOOK_CONCURRENCY: int = Settings.model_fields["webhook_concurrency"].default
WEBHOOK_TIMEOUT: float = Settings.model_fields["webhook_timeout_seconds"].default
PROVIDER_TIMEOUT: float = Settings.model_fields["provider_timeout_seconds"].default
PATH = "/hook"
RECEIVER_SCRIPT = str(Path(__file__).resolve())
CELL_LIMIT_SECONDS = 600.0


# --- the receiver (a subprocess: this file with --serve-receiver PORT) -----------------------

_requests = 0
_ports: set[int] = set()
_JSON_OK = [(b"content-type", b"application/json"), (b"content-length", b"2")]


async def _sink(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """POST anything: read the body, answer 200 ``{}``; GET /stats: requests and distinct client
    ports since the last /stats (then reset); GET /healthz."""
    global _requests
    if scope["type"] != "http":
        return
    headers, out = _JSON_OK, b"{}"
    if scope["method"] == "POST":
        while (await receive()).get("more_body"):
            pass
        _requests += 1
        client = scope.get("client")
        if client:
            _ports.add(client[1])
    elif scope["path"] == "/stats":
        out = json.dumps({"requests": _requests, "connections": len(_ports)}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
        _requests = 0
        _ports.clear()
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


def _serve_receiver(port: int) -> int:
    import uvicorn

    uvicorn.run(
        _sink,
        host=b.HOST,
        port=port,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    return 0


# --- the peer check, counted -------------------------------------------------------------------

_BENCH_PEERS = frozenset({ipaddress.ip_address(b.HOST)})


class PeerChecks:
    """``urls.is_public_address`` counting its calls; the bench receiver's address passes."""

    def __init__(self) -> None:
        self.real = urls.is_public_address
        self.count = 0

    def __call__(self, address: urls.IPAddress) -> bool:
        self.count += 1
        return self.real(address) or address in _BENCH_PEERS


CHECKS = PeerChecks()


def _refuse_unless_public(host: str) -> None:
    address = urls.parse_address(host)
    if address is None or not CHECKS(address):
        raise OSError(errno.EACCES, f"{host} is not a public address")


# --- the request ------------------------------------------------------------------------------


def _body() -> bytes:
    """A webhook event of about 1 KB, shaped like Zapgate's status events."""
    event: dict[str, Any] = {
        "id": "evt_01J9ZQ7X8Y2K3M4N5P6Q7R8S9T",
        "event": "message.read",
        "createdAt": "2025-01-01T12:00:00.000Z",
        "workspaceId": "ws_01J9ZQ7X8Y2K3M4N5P6Q7R8S9T",
        "data": {
            "id": "msg_01J9ZQ7X8Y2K3M4N5P6Q7R8S9T",
            "status": "READ",
            "numberId": "num_01J9ZQ7X8Y2K3M4N5P6Q7R8S9T",
            "to": "+5511987654321",
            "provider": "meta",
            "providerMessageId": "wamid." + "A" * 56,
            "sentAt": "2025-01-01T11:59:58.000Z",
            "deliveredAt": "2025-01-01T11:59:59.000Z",
            "readAt": "2025-01-01T12:00:00.000Z",
            "metadata": {"note": ""},
        },
    }
    raw = json.dumps(event, separators=(",", ":"))
    event["data"]["metadata"]["note"] = "x" * max(0, 1024 - len(raw))
    return json.dumps(event, separators=(",", ":")).encode()


BODY = _body()
HEADERS = {
    "content-type": "application/json",
    "user-agent": webhook_sender.USER_AGENT,
    signing.SIGNATURE_HEADER: signing.hex_signature("whsec_" + "A" * 32, BODY),
    signing.ID_HEADER: "evt_01J9ZQ7X8Y2K3M4N5P6Q7R8S9T",
}

Post = Callable[[], Coroutine[Any, Any, tuple[int, bytes]]]


class Candidate:
    """One client under test: ``open`` builds it, ``post`` makes one request, ``close``."""

    name = ""
    needs_hostname = False  # True: the URL names "localhost" instead of 127.0.0.1

    async def open(self, origin: str) -> None:
        raise NotImplementedError

    async def post(self) -> tuple[int, bytes]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class ZapgateClient(Candidate):
    """The webhook sender's client exactly as ``WebhookSender._http`` builds it now
    (``transport.open_session`` with the peer guard) and its read of the answer's excerpt."""

    name = "zapgate"

    async def open(self, origin: str) -> None:
        self.url = origin + PATH
        self.session = transport.open_session(
            allow_private=False, max_connections=WEBHOOK_CONCURRENCY, timeout_seconds=WEBHOOK_TIMEOUT
        )

    async def post(self) -> tuple[int, bytes]:
        async with (
            asyncio.timeout(WEBHOOK_TIMEOUT),
            self.session.post(self.url, data=BODY, headers=HEADERS, allow_redirects=False) as response,
        ):
            excerpt = await response.content.read(webhook_sender.EXCERPT_BYTES)
            response.headers.get("retry-after")
            return response.status, excerpt

    async def close(self) -> None:
        await self.session.close()


class PlainHttpx(Candidate):
    name = "httpx"

    async def open(self, origin: str) -> None:
        self.client = httpx.AsyncClient(base_url=origin, timeout=PROVIDER_TIMEOUT)

    async def post(self) -> tuple[int, bytes]:
        response = await self.client.post(PATH, content=BODY, headers=HEADERS)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


class Aiohttp(Candidate):
    name = "aiohttp"

    def connector_options(self) -> dict[str, Any]:
        return {}

    def trace_configs(self) -> list[Any]:
        return []

    async def open(self, origin: str) -> None:
        import aiohttp

        self.url = origin + PATH
        connector = aiohttp.TCPConnector(
            limit=WEBHOOK_CONCURRENCY, keepalive_timeout=5.0, **self.connector_options()
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trace_configs=self.trace_configs() or None,
        )

    async def post(self) -> tuple[int, bytes]:
        async with self.session.post(self.url, data=BODY, headers=HEADERS, allow_redirects=False) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.session.close()


def _guarded_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """aiohttp's ``socket_factory``: sees the exact (family, type, proto, _, sockaddr) that is
    about to be connected, for resolved names and IP literals alike, before any byte is sent."""
    family, type_, proto, _, sockaddr = addr_info
    _refuse_unless_public(str(sockaddr[0]))
    return socket.socket(family=family, type=type_, proto=proto)


class AiohttpGuard(Aiohttp):
    name = "aiohttp-guard"

    def connector_options(self) -> dict[str, Any]:
        return {"socket_factory": _guarded_socket}


class AiohttpResolver(Aiohttp):
    name = "aiohttp-resolver"
    needs_hostname = True

    def connector_options(self) -> dict[str, Any]:
        import aiohttp.abc
        import aiohttp.resolver

        class PublicOnlyResolver(aiohttp.abc.AbstractResolver):
            """The default resolver's answer without non-public addresses. aiohttp connects to
            exactly these (no second lookup), but never asks the resolver for an IP literal."""

            def __init__(self) -> None:
                self.inner = aiohttp.resolver.DefaultResolver()

            async def resolve(
                self,
                host: str,
                port: int = 0,
                family: socket.AddressFamily = socket.AF_INET,
            ) -> list[aiohttp.abc.ResolveResult]:
                found = await self.inner.resolve(host, port, family)
                kept = []
                for hit in found:
                    with contextlib.suppress(OSError):
                        _refuse_unless_public(hit["host"])
                        kept.append(hit)
                if not kept:
                    raise OSError(errno.EACCES, f"{host} has no public address")
                return kept

            async def close(self) -> None:
                await self.inner.close()

        return {"resolver": PublicOnlyResolver(), "family": socket.AF_INET}


class AiohttpTrace(Aiohttp):
    name = "aiohttp-trace"

    def trace_configs(self) -> list[Any]:
        import aiohttp

        async def on_request_start(*_args: Any) -> None:
            return None

        config = aiohttp.TraceConfig()
        config.on_request_start.append(on_request_start)
        return [config]


class _RawConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; httptools parses the response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.chunks: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            if self.transport is not None:
                self.transport.close()

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        body, self.chunks = b"".join(self.chunks), []
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), body, self.parser.should_keep_alive()))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("connection closed"))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


class Raw(Candidate):
    name = "raw"

    async def open(self, origin: str) -> None:
        parsed = httpx.URL(origin)
        self.host, self.port = parsed.host, parsed.port
        self.head = (
            f"POST {PATH} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        ).encode()
        self.idle: list[_RawConnection] = []
        self.slots = asyncio.Semaphore(WEBHOOK_CONCURRENCY)

    async def _connection(self) -> _RawConnection:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn
        _, conn = await asyncio.get_running_loop().create_connection(_RawConnection, self.host, self.port)
        return conn

    async def post(self) -> tuple[int, bytes]:
        async with self.slots, asyncio.timeout(WEBHOOK_TIMEOUT):
            conn = await self._connection()
            try:
                status, body, keep = await conn.request(
                    b"".join((self.head, b"content-length: ", str(len(BODY)).encode(), b"\r\n\r\n", BODY))
                )
            except BaseException:
                if conn.transport is not None:
                    conn.transport.close()
                raise
            if keep and not conn.closed:
                self.idle.append(conn)
            elif conn.transport is not None:
                conn.transport.close()
            return status, body

    async def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None:
                conn.transport.close()
        self.idle.clear()


CANDIDATES: dict[str, type[Candidate]] = {
    c.name: c for c in (ZapgateClient, PlainHttpx, Aiohttp, AiohttpGuard, AiohttpResolver, AiohttpTrace, Raw)
}


# --- one cell ---------------------------------------------------------------------------------


@dataclass
class Cell:
    client: str
    concurrency: int
    run: int
    requests: int
    seconds: float
    cpu_user_s: float
    cpu_sys_s: float
    receiver_cpu_s: float
    received: int = 0
    connections: int = 0
    peer_checks: int = 0
    errors: int = 0
    first_error: str = ""

    @property
    def cpu_us(self) -> float:
        return (self.cpu_user_s + self.cpu_sys_s) * 1e6 / self.requests

    @property
    def sys_us(self) -> float:
        return self.cpu_sys_s * 1e6 / self.requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def receiver_us(self) -> float:
        return self.receiver_cpu_s * 1e6 / self.requests

    @property
    def valid(self) -> bool:
        return self.errors == 0 and self.received == self.requests

    def line(self) -> str:
        flag = (
            ""
            if self.valid
            else (
                f"   <-- INVALID: {self.errors} errors ({self.first_error}), receiver counted {self.received}"
            )
        )
        return (
            f"{self.client:<17} c={self.concurrency:<3} run {self.run}: "
            f"client CPU {self.cpu_us:7.1f} us/req (sys {self.sys_us:5.1f})  "
            f"{self.rps:8.0f} req/s  receiver CPU {self.receiver_us:6.1f} us/req  "
            f"connections {self.connections}  peer checks {self.peer_checks}{flag}"
        )


@dataclass
class Drive:
    errors: int = 0
    first_error: str = ""
    bad: list[tuple[int, bytes]] = field(default_factory=list)


async def _drive(post: Post, n: int, concurrency: int) -> Drive:
    """``n`` requests from ``concurrency`` tasks; every answer must be 200 ``{}``."""
    left = n
    result = Drive()

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            try:
                status, body = await post()
            except Exception as exc:
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                continue
            if status != 200 or body != b"{}":
                result.errors += 1
                result.first_error = result.first_error or f"HTTP {status} {body[:80]!r}"

    async with asyncio.timeout(CELL_LIMIT_SECONDS):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result


def _stats(receiver: b.Server) -> dict[str, int]:
    answer: dict[str, int] = httpx.get(receiver.url + "/stats", timeout=30).json()
    return answer


async def _cell(name: str, concurrency: int, run: int, args: argparse.Namespace, receiver: b.Server) -> Cell:
    candidate = CANDIDATES[name]()
    host = "localhost" if candidate.needs_hostname else b.HOST
    await candidate.open(f"http://{host}:{receiver.port}")
    try:
        _stats(receiver)  # reset the receiver's counters (blocking: nothing else runs)
        CHECKS.count = 0
        warm = await _drive(candidate.post, args.warmup, concurrency)
        before = resource.getrusage(resource.RUSAGE_SELF)
        receiver_before = receiver.cpu_seconds()
        started = time.perf_counter()
        measured = await _drive(candidate.post, args.requests, concurrency)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        receiver_cpu = receiver.cpu_seconds() - receiver_before
        stats = _stats(receiver)
    finally:
        await candidate.close()
    return Cell(
        client=name,
        concurrency=concurrency,
        run=run,
        requests=args.requests,
        seconds=seconds,
        cpu_user_s=after.ru_utime - before.ru_utime,
        cpu_sys_s=after.ru_stime - before.ru_stime,
        receiver_cpu_s=receiver_cpu,
        received=stats["requests"] - args.warmup,
        connections=stats["connections"],
        peer_checks=CHECKS.count,
        errors=warm.errors + measured.errors,
        first_error=warm.first_error or measured.first_error,
    )


# --- report -----------------------------------------------------------------------------------


def _both(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in values)


def _table(cells: list[Cell], clients: list[str], levels: list[int]) -> list[str]:
    rows = [
        "| client | conc. | client CPU µs/req (runs) | vs zapgate | req/s (runs) "
        "| receiver CPU µs/req (runs) | connections | peer checks |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    base: dict[int, float] = {}
    for level in levels:
        ref = [c.cpu_us for c in cells if c.client == "zapgate" and c.concurrency == level]
        if ref:
            base[level] = statistics.mean(ref)
    for name in clients:
        for level in levels:
            mine = [c for c in cells if c.client == name and c.concurrency == level]
            if not mine:
                continue
            cpu = [c.cpu_us for c in mine]
            ratio = f"{statistics.mean(cpu) / base[level]:.2f}" if level in base else "-"
            flag = "" if all(c.valid for c in mine) else " INVALID"
            rows.append(
                f"| {name}{flag} | {level} | {_both(cpu, '.0f')} | {ratio} "
                f"| {_both([c.rps for c in mine], '.0f')} "
                f"| {_both([c.receiver_us for c in mine], '.0f')} "
                f"| {_both([float(c.connections) for c in mine], '.0f')} "
                f"| {_both([float(c.peer_checks) for c in mine], '.0f')} |"
            )
    return rows


def _uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or b.load_line()


async def _bench(args: argparse.Namespace, clients: list[str], levels: list[int], work: Path) -> int:
    port = b.free_port()
    cmd = [sys.executable, RECEIVER_SCRIPT, "--serve-receiver", str(port)]
    receiver = b.Server("receiver", cmd, env=b.clean_env(), cwd=work, port=port).start()
    b.say(
        f"receiver: pid {receiver.pid} on {receiver.url} (uvicorn + httptools + uvloop, "
        "bare ASGI, HTTP/1.1 keep-alive, 200 {})"
    )
    b.say(
        f"body {len(BODY)} bytes, headers {', '.join(HEADERS)}; {args.requests} requests per "
        f"cell after {args.warmup} warm-up requests; loop {args.loop}; "
        f"webhook_concurrency {WEBHOOK_CONCURRENCY}"
    )
    cells: list[Cell] = []
    try:
        for run in range(1, args.repeats + 1):
            for level in levels:
                for name in clients:
                    cell = await _cell(name, level, run, args, receiver)
                    cells.append(cell)
                    b.say(cell.line())
    finally:
        receiver.stop()
    b.say(f"\nload after: {_uptime()}")
    b.say(f"machine: {b.machine_line()}\n")
    for row in _table(cells, clients, levels):
        b.say(row)
    b.say(
        "\nclient CPU = this process's user + system time (every thread) over the measured "
        "requests, the bench's own task loop included (the same for every client); "
        "connections = distinct client ports the receiver saw in the cell (warm-up and "
        "measured requests); peer checks = calls of the SSRF address check in the cell."
    )
    invalid = [c for c in cells if not c.valid]
    if invalid:
        b.say(f"INVALID: {len(invalid)} cells had errors or lost requests")
        return 1
    return 0


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--requests", type=int, default=20_000, help="measured requests per cell")
    p.add_argument("--warmup", type=int, default=1_000, help="warm-up requests per cell")
    p.add_argument("--concurrency", default="1,8,32", help="comma-separated task counts")
    p.add_argument("--repeats", type=int, default=2, help="runs of the whole grid")
    p.add_argument("--clients", default=",".join(CLIENTS), help=f"comma-separated, of: {', '.join(CLIENTS)}")
    p.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="uvloop as under `zapgate serve`, asyncio as under `zapgate worker`",
    )
    p.add_argument("--serve-receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.requests < 1 or args.warmup < 0 or args.repeats < 1:
        p.error("--requests and --repeats must be at least 1, --warmup at least 0")
    return args


def main() -> int:
    args = _args()
    if args.serve_receiver:
        return _serve_receiver(args.serve_receiver)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = [c for c in clients if c not in CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown clients {unknown}; known: {', '.join(CLIENTS)}")
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if any(level < 1 for level in levels):
        raise SystemExit("--concurrency values must be at least 1")
    try:
        import aiohttp
    except ImportError:
        skipped = [c for c in clients if c in AIOHTTP_CLIENTS]
        clients = [c for c in clients if c not in AIOHTTP_CLIENTS]
        if skipped:
            b.say(
                f"aiohttp is not installed: skipping {', '.join(skipped)} "
                "(uv pip install --python .venv/bin/python aiohttp)"
            )
    else:
        b.say(f"aiohttp {aiohttp.__version__}")
    b.say(f"httpx {httpx.__version__}, httptools {httptools.__version__}")
    # The production peer check (GuardedTransport with allow_private off) calls
    # urls.is_public_address through the module; counting it also lets the bench receiver pass.
    urls.is_public_address = CHECKS  # type: ignore[assignment]
    for key in [k for k in os.environ if k.startswith("ZAPGATE_")]:
        del os.environ[key]
    b.say(
        "command: "
        + shlex.join(
            [
                os.path.relpath(sys.executable, b.ROOT)
                if sys.executable.startswith(str(b.ROOT))
                else sys.executable,
                os.path.relpath(__file__, b.ROOT),
                *sys.argv[1:],
            ]
        )
    )
    b.say(f"machine: {b.machine_line()}")
    b.say(f"load before: {_uptime()}")
    with b.workspace("http-clients") as work, contextlib.suppress(KeyboardInterrupt):
        coro = _bench(args, clients, levels, work)
        if args.loop == "uvloop":
            import uvloop

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(coro)
        return asyncio.run(coro)
    return 130


if __name__ == "__main__":
    sys.exit(main())
