"""The API's error contract as a check, and a client that applies it to every call, for the
property-based API tests (``tests/integration/test_api_properties.py``).

The contract: no response is a 5xx, and every response with status >= 400 is a JSON object with a
non-empty string ``error`` and a non-empty string ``code``. A broken promise is reported with a
reproducer (method, path, headers, body) and the tail of the server's traceback, caught from the
server's error log (the test server runs in this process).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import threading
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import requests

from tests.helpers import DEST

JSON = Any
TRACEBACK_FRAMES = 5
BODY_PREVIEW = 3000


# -- the contract ------------------------------------------------------------------------------


def contract_problem(status: int, content_type: str, content: bytes) -> str | None:
    """Why a response breaks the error contract, or None when it keeps it."""
    if status < 400:
        return None
    if status >= 500 and status != 501:  # 501 NOT_SUPPORTED: a feature Zapgate leaves out
        return f"server error {status}"
    if not content_type.lower().startswith("application/json"):
        return f"error body is {content_type or 'untyped'}, not application/json"
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return "error body is not JSON"
    if not isinstance(body, dict):
        return f"error body is a JSON {type(body).__name__}, not an object"
    missing = [k for k in ("error", "code") if not isinstance(body.get(k), str) or not body[k]]
    if missing:
        return f"error body lacks a non-empty string {' and '.join(missing)}"
    return None


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as much as a reproducer needs."""

    method: str
    path: str
    auth: str  # which credential was sent, e.g. "number key", "no key"
    status: int
    content_type: str
    content: bytes
    body: JSON = None
    raw_body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)

    def problem(self) -> str | None:
        return contract_problem(self.status, self.content_type, self.content)

    def summary(self) -> str:
        body = "" if self.body is None else " " + _clip(json.dumps(self.body))
        return f"{self.method} {self.path}{body} -> {self.status}"

    def describe(self, server_errors: list[Logged], *, after: str | None = None) -> str:
        lines = [
            f"{self.method} {self.path}" + (f"  query={self.query!r}" if self.query else ""),
            f"  auth: {self.auth}",
        ]
        if after:
            lines.append(f"  after: {after}")
        if self.headers:
            lines.append(f"  headers: {dict(self.headers)!r}")
        if self.raw_body is not None:
            lines.append(f"  raw body: {_clip(repr(self.raw_body))}")
        elif self.body is not None:
            lines.append(f"  json body: {_clip(json.dumps(self.body))}")
        lines.append(
            f"  -> {self.status} {self.content_type}: {_clip(self.content.decode('utf-8', 'replace'))}"
        )
        for logged in server_errors:
            lines.append("  server log:\n    " + logged.text.replace("\n", "\n    "))
        return "\n".join(lines)


def _clip(text: str, limit: int = BODY_PREVIEW) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


@dataclass(frozen=True)
class Logged:
    """One error the server logged: where it was raised, and the tail of its traceback."""

    logger: str
    signature: str
    text: str


class ServerErrors(logging.Handler):
    """Collects ERROR records (with the tail of their traceback) from every thread; the test
    server runs in this process, so its unhandled-error logs land here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self._lock = threading.Lock()
        self._items: list[Logged] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        signature = text
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            frames = _telling_frames(exc)
            text += "\n" + "".join(traceback.format_list(frames)).rstrip()
            text += "\n" + _clip("".join(traceback.format_exception_only(exc)).rstrip(), 600)
            ours = [f for f in frames if "/zapgate/" in f.filename] or frames
            signature = f"{type(exc).__name__} at {Path(ours[-1].filename).name}:{ours[-1].lineno}"
        with self._lock:
            self._items.append(Logged(record.name, signature, text))

    def drain(self) -> list[Logged]:
        with self._lock:
            items, self._items = self._items, []
        return items

    @contextlib.contextmanager
    def installed(self) -> Iterator[ServerErrors]:
        root = logging.getLogger()
        root.addHandler(self)
        try:
            yield self
        finally:
            root.removeHandler(self)


def _telling_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The last frames of our own code and the last frames overall, in order."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [i for i, f in enumerate(frames) if "/zapgate/" in f.filename]
    keep = sorted(set(ours[-TRACEBACK_FRAMES:]) | set(range(len(frames))[-2:]))
    return [frames[i] for i in keep]


class ContractBroken(AssertionError):
    """A broken contract; one subclass per cause (see :func:`broken`)."""


_BROKEN: dict[str, type[ContractBroken]] = {}
_IDS = re.compile(r"/(?:tpl|wh|wn|msg|dlv|key)_[0-9a-z]+")


def broken(exchange: Exchange, problem: str, logged: list[Logged]) -> type[ContractBroken]:
    """The exception class for one cause: the server's exception and where it was raised, or
    the problem and the route. Hypothesis tells failures apart by exception type, so each
    distinct cause found in one run is reported on its own."""
    # Our own log first: uvicorn logs the same exception again, after the response.
    ours = [item for item in logged if item.logger.startswith("zapgate")] or logged
    cause = (
        ours[0].signature
        if ours
        else f"{problem.split(':')[0]} on {exchange.method} {_IDS.sub('/{id}', exchange.path)}"
    )
    if cause not in _BROKEN:
        _BROKEN[cause] = type(f"ContractBroken[{cause}]", (ContractBroken,), {})
    return _BROKEN[cause]


# -- a client that checks every answer ---------------------------------------------------------


@dataclass(repr=False)
class Gateway:
    """The running server and a client that checks the error contract on every call."""

    url: str
    http: httpx.Client
    session: requests.Session  # for schemathesis cases
    tenant_key: str
    errors: ServerErrors
    sims: dict[str, Any] = field(default_factory=dict)  # its provider simulators, by kind
    counter: Iterator[int] = field(default_factory=itertools.count)
    # The last accepted write, named in a failing read's reproducer (it made what is read).
    last_write: str | None = None

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def unique_phone(self) -> str:
        return f"+55219{next(self.counter):08d}"

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None,
        body: Any = None,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect: int | None = None,
    ) -> httpx.Response:
        """One request; fails the test with a reproducer when the answer breaks the contract
        (or, with ``expect``, has another status)."""
        # Latin-1, as HTTP carries header bytes (httpx would encode str values as ASCII).
        sent: dict[str, str | bytes] = {k: v.encode("latin-1") for k, v in (headers or {}).items()}
        if key is not None:
            sent["x-api-key"] = key
        content = raw
        if body is not None and raw is None:
            content = json.dumps(body, ensure_ascii=False).encode()
            sent.setdefault("content-type", "application/json")
        self.errors.drain()
        response = self.http.request(method, path, headers=sent, content=content, params=params)
        if response.status_code >= 500:
            self.reconnect()
        self.check(
            Exchange(
                method=method,
                path=path,
                auth=self.describe_key(key),
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                content=response.content,
                body=body,
                raw_body=raw,
                headers=headers or {},
                query=params or {},
            ),
            expect=expect,
        )
        return response

    def check(self, exchange: Exchange, *, expect: int | None = None) -> None:
        problem = exchange.problem()
        if problem is None and expect is not None and exchange.status != expect:
            problem = f"expected {expect}, got {exchange.status}"
        if problem is not None:
            after = self.last_write if exchange.method == "GET" else None
            logged = self.errors.drain()
            raise broken(exchange, problem, logged)(f"{problem}\n{exchange.describe(logged, after=after)}")
        if exchange.method != "GET" and exchange.status < 300:
            self.last_write = exchange.summary()

    def reconnect(self) -> None:
        """After a 5xx: uvicorn closes the connection of a request whose app raised, and a
        pooled connection closing under the next request would be a second, false failure."""
        self.http.close()
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self.session.close()

    def ok(self, method: str, path: str, key: str, body: Any = None) -> dict[str, Any]:
        """A setup call that must succeed."""
        response = self.call(method, path, key=key, body=body)
        assert response.status_code < 300, (method, path, response.text)
        result: dict[str, Any] = response.json()
        return result

    def describe_key(self, key: str | None) -> str:
        if key is None:
            return "no key"
        return "tenant key" if key == self.tenant_key else f"key {key[:7]}…"

    def new_number(self) -> Number:
        body = self.ok(
            "POST",
            "/v1/numbers",
            self.tenant_key,
            {"name": "Fuzz", "number": self.unique_phone(), "provider": "sandbox"},
        )
        return Number(self, body["instance"]["id"], body["apiKey"]["key"])


@dataclass(repr=False)
class Number:
    """A sandbox number of a test's own (so what one test breaks stays in that test)."""

    gateway: Gateway
    id: str
    key: str
    # Things of the number for path parameters to point at (made on first use by the test).
    things: dict[str, str] = field(default_factory=dict)

    def message(self) -> str:
        sent = self.gateway.ok(
            "POST", "/v1/messages/send", self.key, {"destinationNumber": DEST, "text": "x"}
        )
        return str(sent["id"])
