"""What the three provider simulators share: the request log, fault injection, the outgoing
callback queue (with retries, duplicates and reordering), the control API under ``/_sim``, a
runner for tests, and the small pieces both Evolution simulators use (ids, pairing codes, QR
images, control bodies, the sender's lifespan).

The control API (identical on every simulator; provider-specific routes are added by each):

* ``GET  /_sim/requests``            every API request received: ``[{method, path, query,
                                       headers, json, at, client}]`` (``at``: unix seconds;
                                       ``client``: the caller's IP; ``?path=`` filter)
* ``POST /_sim/faults``              queue a fault: ``{"path": "/messages", "to": "5511...",
                                       "kind": "error"|"timeout"|"http"|"slow", "code": ...,
                                       "status": 503, "delayMs": 2000, "times": 1}``
* ``GET/POST /_sim/config``          read / merge behaviour switches (see ``DEFAULT_CONFIG``)
* ``GET  /_sim/callbacks``           callbacks posted so far: ``[{url, json, status, attempt,
                                       error, headers, postedAt, answeredAt}]`` (``postedAt``:
                                       wall-clock start of the first attempt; ``answeredAt``: end
                                       of the latest one; unix seconds)
* ``POST /_sim/reset``               forget requests, faults, callbacks; config back to default

Callbacks leave from one queue, in the order they were queued, each once its delay is over.
With ``callbackConcurrency`` 1 (the default) the sender posts one and waits for its answer before
the next, and a failed one goes to the back of the queue with its retry delay. With N > 1 up to N
posts are in flight at once over pooled keep-alive connections (the real providers post
concurrently, so a receiver cannot rely on one callback being answered before the next arrives),
they still start in queue order but may be answered in any order, and a failed one waits for its
retry on a timer of its own instead of holding up the queue. Either way a callback is tried up to
``callbackMaxAttempts`` times, ``callbackRetrySeconds`` apart. The switch may change while the
simulator runs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import ssl
import struct
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zapgate.testing import UvicornThread

DEFAULT_CONFIG: dict[str, Any] = {
    # Delay before each asynchronous status callback, milliseconds.
    "statusDelayMs": 50,
    # Post every status callback twice.
    "duplicates": False,
    # Post a message's status callbacks in reverse order (e.g. read before delivered).
    "reorder": False,
    # Leave out the "delivered" status.
    "skipDelivered": False,
    # Leave out the "read" status (recipient has read receipts off).
    "dropRead": False,
    # Recipients (bare digits) that are not on WhatsApp.
    "unknownRecipients": [],
    # Seconds between callback retries (the real providers use 5 s..300 s or 30 s).
    "callbackRetrySeconds": 0.2,
    "callbackMaxAttempts": 5,
    # Callbacks in flight at once: 1 posts them one at a time, each answered before the next.
    "callbackConcurrency": 1,
}


PAIRING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"


@dataclass
class Fault:
    kind: str  # error | timeout | http | slow
    path: str | None = None
    to: str | None = None
    code: Any = None
    status: int | None = None
    delay_ms: int = 0
    times: int = 1
    body: Any = None

    def matches(self, path: str, to: str | None) -> bool:
        if self.path and self.path not in path:
            return False
        return not (self.to and (to or "").lstrip("+") != self.to.lstrip("+"))


@dataclass
class Callback:
    url: str
    body: bytes
    headers: dict[str, str]
    attempt: int = 0
    status: int | None = None
    error: str | None = None
    # Wall clock (unix seconds): the first attempt's start, the latest attempt's end.
    posted_at: float | None = None
    answered_at: float | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "json": json.loads(self.body),
            "status": self.status,
            "attempt": self.attempt,
            "error": self.error,
            "headers": self.headers,
            "postedAt": self.posted_at,
            "answeredAt": self.answered_at,
        }


@dataclass
class SimState:
    # Provider-specific switches on top of DEFAULT_CONFIG.
    extra_defaults: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config = self.defaults()

    def defaults(self) -> dict[str, Any]:
        merged: dict[str, Any] = json.loads(json.dumps({**DEFAULT_CONFIG, **self.extra_defaults}))
        return merged

    def reset(self) -> None:
        self.config = self.defaults()
        self.requests.clear()
        self.faults.clear()
        self.callbacks.clear()

    async def log_request(self, request: Request) -> Any:
        """Record the request and return its parsed JSON body (None when not JSON)."""
        raw = await request.body()
        parsed: Any = None
        if raw and "json" in request.headers.get("content-type", "json"):
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "json": parsed,
                "at": time.time(),
                "client": request.client.host if request.client else None,
            }
        )
        return parsed

    def take_fault(self, path: str, to: str | None) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(path, to):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def is_unknown(self, digits: str) -> bool:
        return digits.lstrip("+") in {str(u).lstrip("+") for u in self.config["unknownRecipients"]}


async def apply_transport_fault(fault: Fault | None) -> Response | None:
    """The generic faults every simulator handles the same way; ``error`` faults (provider
    error codes) are the simulator's own business and come back as ``None`` here."""
    if fault is None:
        return None
    if fault.kind in ("slow", "timeout"):
        await asyncio.sleep((fault.delay_ms or (60_000 if fault.kind == "timeout" else 1000)) / 1000)
        return None if fault.kind == "slow" else Response(status_code=504)
    if fault.kind == "http":
        body = fault.body if fault.body is not None else {"error": "simulated failure"}
        return JSONResponse(body, status_code=fault.status or 500)
    return None


async def apply_fault(
    fault: Fault | None, *, status: int, body: Callable[[Fault, int], Any]
) -> Response | None:
    """``apply_transport_fault`` plus the ``error`` faults of the simulators that answer them
    with a plain body: the fault's ``body`` (else ``body(fault, status)``) with the fault's
    ``status`` (else ``status``)."""
    response = await apply_transport_fault(fault)
    if response is not None or fault is None or fault.kind != "error":
        return response
    answer_status = fault.status or status
    payload = fault.body if fault.body is not None else body(fault, answer_status)
    return JSONResponse(payload, status_code=answer_status)


async def json_object(request: Request) -> dict[str, Any]:
    """A control call's JSON object body; ``{}`` when it is empty, not JSON or not an object."""
    raw = await request.body()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task (if it was started) and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class CallbackSender:
    """Posts callbacks from one queue in order, ``callbackConcurrency`` at a time (1: each
    answered before the next is posted), retrying failures like the real provider."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        self._queue: asyncio.Queue[tuple[float, Callback]] | None = None
        self._task: asyncio.Task[None] | None = None
        # The connection pool: one keep-alive connection per httpx client, per target origin as
        # many clients as posts were ever in flight to it at once (``callbackConcurrency``),
        # idle ones reused last in first out. One client with N connections would cost about
        # twice the CPU per post at N = 16: httpcore's pool checks every connection on every
        # request.
        self._clients: list[httpx.AsyncClient] = []
        self._idle: dict[str, list[httpx.AsyncClient]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slot_free: asyncio.Event | None = None  # set whenever a post in flight ends

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._slot_free = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel(self._task)
        for task in list(self._in_flight):
            await cancel(task)
        for client in self._clients:
            await client.aclose()
        self._clients.clear()
        self._idle.clear()

    def post(
        self,
        url: str,
        payload: Any,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        body: bytes | None = None,
    ) -> Callback:
        """Queue one callback ``delay`` seconds from now. ``body`` overrides the JSON
        serialisation (Meta signs the exact bytes it sends)."""
        raw = body if body is not None else json.dumps(payload, ensure_ascii=False).encode()
        callback = Callback(url, raw, {"content-type": "application/json", **(headers or {})})
        assert self._queue is not None, "CallbackSender.start() was not awaited"
        self._queue.put_nowait((time.monotonic() + delay, callback))
        return callback

    def _concurrency(self) -> int:
        try:
            return max(1, int(self._state.config.get("callbackConcurrency", 1)))
        except (TypeError, ValueError):
            return 1

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            due, callback = await self._queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            limit = self._concurrency()
            # With 1: one at a time, as before the switch existed (once any posts still in
            # flight from a higher setting are done).
            await self._until_fewer_than(limit)
            if limit == 1:
                await self._deliver(callback)
                continue
            task = asyncio.create_task(self._deliver(callback))
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    async def _until_fewer_than(self, limit: int) -> None:
        assert self._slot_free is not None
        while len(self._in_flight) >= limit:
            self._slot_free.clear()
            await self._slot_free.wait()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        assert self._slot_free is not None
        self._slot_free.set()

    def _client(self, origin: str) -> httpx.AsyncClient:
        idle = self._idle.get(origin)
        if idle:
            return idle.pop()
        if self._ssl is None:  # once: building one costs ~25 ms (it loads the CA bundle)
            self._ssl = httpx.create_ssl_context()
        client = httpx.AsyncClient(
            timeout=10, verify=self._ssl, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)
        )
        self._clients.append(client)
        return client

    async def _deliver(self, callback: Callback) -> None:
        assert self._queue is not None
        callback.attempt += 1
        if callback.posted_at is None:
            callback.posted_at = time.time()
        origin = "/".join(callback.url.split("/", 3)[:3])  # scheme://host:port
        client = self._client(origin)
        try:
            response = await client.post(callback.url, content=callback.body, headers=callback.headers)
            callback.status = response.status_code
            ok = 200 <= response.status_code < 300
        except httpx.HTTPError as exc:
            callback.error = repr(exc)
            ok = False
        finally:
            self._idle.setdefault(origin, []).append(client)
        callback.answered_at = time.time()
        if callback.attempt == 1:
            self._state.callbacks.append(callback)
        if not ok and callback.attempt < int(self._state.config["callbackMaxAttempts"]):
            retry = float(self._state.config["callbackRetrySeconds"])
            if self._concurrency() == 1:
                self._queue.put_nowait((time.monotonic() + retry, callback))
            else:
                # Its own timer: a due-later entry in the queue would hold up every callback
                # queued behind it.
                asyncio.get_running_loop().call_later(retry, self._queue.put_nowait, (0.0, callback))


def status_sequence(config: dict[str, Any], statuses: list[str], *, delivered: str, read: str) -> list[str]:
    """Apply the skip/drop/reorder/duplicate switches to a status sequence."""
    out = [
        s
        for s in statuses
        if not (config["skipDelivered"] and s == delivered) and not (config["dropRead"] and s == read)
    ]
    if config["reorder"]:
        out.reverse()
    if config["duplicates"]:
        out = [s for s in out for _ in (0, 1)]
    return out


def control_routes(state: SimState, *, on_reset: Callable[[], None] | None = None) -> list[Route]:
    async def requests(request: Request) -> Response:
        needle = request.query_params.get("path")
        items = [r for r in state.requests if not needle or needle in r["path"]]
        return JSONResponse(items)

    async def faults(request: Request) -> Response:
        body = await request.json()
        items = body if isinstance(body, list) else [body]
        for item in items:
            state.faults.append(
                Fault(
                    kind=str(item.get("kind", "error")),
                    path=item.get("path"),
                    to=item.get("to"),
                    code=item.get("code"),
                    status=item.get("status"),
                    delay_ms=int(item.get("delayMs", 0)),
                    times=int(item.get("times", 1)),
                    body=item.get("body"),
                )
            )
        return JSONResponse({"faults": len(state.faults)})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            unknown = sorted(set(body) - set(state.defaults()))
            if unknown:
                return JSONResponse({"error": f"unknown config keys {unknown}"}, status_code=400)
            state.config.update(body)
        return JSONResponse(state.config)

    async def callbacks(_: Request) -> Response:
        return JSONResponse([c.describe() for c in state.callbacks])

    async def reset(_: Request) -> Response:
        state.reset()
        if on_reset is not None:
            on_reset()
        return JSONResponse({"ok": True})

    return [
        Route("/_sim/requests", requests, methods=["GET"]),
        Route("/_sim/faults", faults, methods=["POST"]),
        Route("/_sim/config", config, methods=["GET", "POST"]),
        Route("/_sim/callbacks", callbacks, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
    ]


def new_hex_id(prefix: str = "3EB0", length: int = 20) -> str:
    return (prefix + "".join(random.choice("0123456789ABCDEF") for _ in range(length)))[:length]


def new_pairing_code() -> str:
    """WhatsApp's 8-character phone pairing code (no 0, O, I or U)."""
    return "".join(random.choice(PAIRING_ALPHABET) for _ in range(8))


def png_data_uri(text: str) -> str:
    """A valid 1x1 PNG data URI carrying ``text`` in a text chunk (so every QR image differs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"tEXt", b"qr\x00" + text.encode())
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


def sender_lifespan(
    sender: CallbackSender, *, on_stop: Callable[[], None] | None = None
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A Starlette lifespan that runs ``sender`` while the app serves (``on_stop`` first when
    it stops)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await sender.start()
        try:
            yield
        finally:
            if on_stop is not None:
                on_stop()
            await sender.stop()

    return lifespan


class SimThread(UvicornThread):
    """Runs a simulator app on a loopback port (tests), with a client for its control API."""

    what = "simulator"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, self.url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()


def serve(app: Starlette, *, host: str, port: int) -> None:
    """``zapgate sim ...``: run one simulator in the foreground."""
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


Handler = Callable[[Request], Awaitable[Response]]
