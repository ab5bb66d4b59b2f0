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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


async def _serve(server: uvicorn.Server) -> None:
    """Serve until stopped, then close what the shutdown abandoned while this loop still runs.

    A database connection that a cancelled worker left half-open (cancelled mid-connect, say)
    is closed by a callback of this loop or by the garbage collector. Once the loop is gone
    neither happens in time, and the socket's ResourceWarning would surface later, against
    whichever test is running then. So: let pending callbacks run, collect garbage quietly (the
    sockets it finds are closed by their finalizers), and let what that scheduled run too."""
    await server.serve()
    for _ in range(3):
        await asyncio.sleep(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)


class UvicornThread:
    """Runs an ASGI app under uvicorn in a background thread on a loopback port. Also a context
    manager: ``with UvicornThread(app) as running:`` starts it and stops it."""

    what = "server"  # names it in the start-up error
    start_timeout = 20.0
    stop_timeout = 10.0

    def __init__(self, app: Any = None, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", access_log=False
        )
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(_serve(server)), daemon=True)
        self._thread.start()
        deadline = time.time() + self.start_timeout
        while not server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self.what} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=self.stop_timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerThread(UvicornThread):
    """Runs ``create_app(settings)`` under uvicorn in a background thread on a loopback port;
    with ``clock`` (a ``zapgate.clock.FakeClock``, say), its container reads that clock."""

    what = "zapgate test server"
    start_timeout = stop_timeout = 30.0

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        super().__init__()
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
