"""Public test helpers: a loopback webhook receiver, a thread that serves an ASGI app on a loopback
port, and an in-thread Zapgate server."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import uvicorn

from zapgate.clock import Clock
from zapgate.settings import Settings


def free_port() -> int:
    """A loopback port that was free a moment ago. Another bind may take it before its user
    does: to hold a port until a server listens on it, use ``reserve_port`` instead."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reserve_port() -> socket.socket:
    """A socket bound to a free loopback port and kept open, so no other bind or outgoing
    connection takes that port; hand it to ``UvicornThread(sock=…)``/``ServerThread(sock=…)``,
    which listen on it. Its port: ``sock.getsockname()[1]``."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A loopback HTTP server that records every POST and answers with ``respond(...)``.

    ``respond`` returns ``(status, headers, body)``; by default 200. Thread-safe.
    """

    respond: Callable[[ReceivedWebhook], tuple[int, dict[str, str], bytes]] | None = None
    received: list[ReceivedWebhook] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Without it every response waits for Nagle + delayed ACK (~40 ms a webhook).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: nothing was delivered
                    return
                item = ReceivedWebhook(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                )
                with receiver._lock:
                    receiver.received.append(item)
                status, headers, out = receiver.respond(item) if receiver.respond else (200, {}, b"ok")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *_args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget what was received so far."""
        with self._lock:
            self.received.clear()

    def snapshot(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self.received)

    def wait_for(
        self, predicate: Callable[[list[ReceivedWebhook]], bool], timeout: float = 10.0
    ) -> list[ReceivedWebhook]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            items = self.snapshot()
            if predicate(items):
                return items
            time.sleep(0.02)
        raise TimeoutError(f"condition not met; received {len(self.snapshot())} webhooks")


async def _serve(server: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
    """Serve until stopped, then close what the shutdown abandoned while this loop still runs.

    A database connection that a cancelled worker left half-open (cancelled mid-connect, say)
    is closed by a callback of this loop or by the garbage collector. Once the loop is gone
    neither happens in time, and the socket's ResourceWarning would surface later, against
    whichever test is running then. So: let pending callbacks run, collect garbage quietly (the
    sockets it finds are closed by their finalizers), and let what that scheduled run too."""
    await server.serve(sockets)
    for _ in range(3):
        await asyncio.sleep(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)


class UvicornThread:
    """Runs an ASGI app under uvicorn in a background thread on a loopback port. Also a context
    manager: ``with UvicornThread(app) as running:`` starts it and stops it.

    Without ``port`` it binds a free port at construction and holds it until it listens, so the
    port is known (for callback URLs, say) before the start and nothing else can take it."""

    what = "server"  # names it in the start-up error
    start_timeout = 20.0
    stop_timeout = 10.0

    def __init__(
        self, app: Any = None, port: int | None = None, *, sock: socket.socket | None = None
    ) -> None:
        self.app = app
        if port is None:
            sock = sock if sock is not None else reserve_port()
            port = int(sock.getsockname()[1])
        self._sock = sock
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", access_log=False
        )
        server = self._server = uvicorn.Server(config)
        held = self._sock
        if held is not None and (held.fileno() == -1 or held.getsockname()[1] != self.port):
            held.close()  # closed by an earlier stop, or the port was changed after construction
            held = self._sock = None
        sockets = [held] if held is not None else None
        self._thread = threading.Thread(target=self._run, args=(server, sockets), daemon=True)
        self._thread.start()
        deadline = time.time() + self.start_timeout
        while not server.started:
            if not self._thread.is_alive():
                # uvicorn exits (SystemExit) when it cannot bind, and returns when the app's
                # startup fails, having logged the cause on "uvicorn.error".
                cause = repr(self._failure) if self._failure else "the app's startup failed (see the log)"
                raise RuntimeError(f"{self.what} did not start on port {self.port}: {cause}")
            if time.time() > deadline:
                raise RuntimeError(f"{self.what} did not start on port {self.port} in {self.start_timeout} s")
            time.sleep(0.01)
        return self

    def _run(self, server: uvicorn.Server, sockets: list[socket.socket] | None) -> None:
        try:
            asyncio.run(_serve(server, sockets))
        except BaseException as exc:  # a thread's exception would otherwise only be printed
            self._failure = exc
            raise

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self.stop_timeout)
        self._release()

    def _release(self) -> None:
        if self._sock is not None:  # uvicorn closed it if it listened; if not, this does
            self._sock.close()

    def __del__(self) -> None:  # constructed, never started: give the held port back quietly
        self._release()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerThread(UvicornThread):
    """Runs ``create_app(settings)`` under uvicorn in a background thread on a loopback port;
    with ``clock`` (a ``zapgate.clock.FakeClock``, say), its container reads that clock."""

    what = "zapgate test server"
    start_timeout = stop_timeout = 30.0

    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, sock: socket.socket | None = None
    ) -> None:
        super().__init__(sock=sock)
        self.settings = settings
        self.clock = clock

    def start(self) -> Self:
        from zapgate.container import build_container
        from zapgate.web.app import create_app

        self.app = create_app(self.settings, container=build_container(self.settings, clock=self.clock))
        return super().start()

    @property
    def container(self) -> Any:
        return self.app.state.container
