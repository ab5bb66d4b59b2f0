"""The webhook sender alone: a backlog of N pending deliveries drained to one keep-alive receiver.

    .venv/bin/python bench/webhook_sender.py [--backend sqlite|postgres] [--pending 100000]
                                             [--messages-per-chain 3] [--endpoints 1]
                                             [--pg-dsn postgresql://postgres@127.0.0.1:5432/test]
                                             [--max-seconds 600] [--loop uvloop|asyncio]
                                             [--webhook-concurrency N]

No ``zapgate serve``: this process builds a container on a fresh database (a SQLite file in a
temporary folder, or ``CREATE DATABASE zgbench_<random>`` on PostgreSQL, dropped at the end),
migrates it with the project's own migrations, creates a tenant, a sandbox number and
``--endpoints`` webhook endpoints (events "*") through the services, and fills the outbox with
``services.events.emit`` -- the call the status lifecycle makes -- so the rows are whatever the
current code writes. Every fake message gets ``--messages-per-chain`` events (message.sent,
.delivered, .read; seq 1, 2, 3) that must arrive in that order.

The claim query (the sender's ``claim_query(now, limit)``, else its ``_due_query(now, limit)``,
else ``zapgate.storage.webhook_queue.claim_query(now, limit)``) is explained and timed at 1,000
pending and again at N pending, as the driver receives it. Then the real worker ``Runner`` runs
only the ``WebhookSender`` in this process until the receiver (this file with
``--serve-receiver``, a bare ASGI app under uvicorn + httptools in its own process) holds every
delivery. Exit 1 only when the run was invalid: lost deliveries, order violations, deliveries not
SUCCESS in the database, or the time-out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import secrets
import shlex
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib as b
import httpx
import orjson
import psutil
import sqlalchemy as sa

from zapgate import logging as zlog
from zapgate.clock import iso
from zapgate.container import Container, build_container
from zapgate.domain import ids, number_commands
from zapgate.domain.webhooks import NewEndpoint
from zapgate.services import events, numbers, tenants, webhooks
from zapgate.services.auth import Principal
from zapgate.settings import Settings
from zapgate.storage import migrate
from zapgate.storage import tables as t
from zapgate.workers.runner import Runner
from zapgate.workers.webhook_sender import WebhookSender

EVENTS = ("message.sent", "message.delivered", "message.read")
STATUSES = ("SENT", "DELIVERED", "READ")
FIRST_STAGE = 1_000  # the claim query is measured at this backlog, then at --pending
WAVE = 500  # messages per wave: their sent events, then their delivered, then their read
EMITS_PER_TRANSACTION = 2_000
CLAIM_LIMIT = 100  # the limit the claim query is explained with (the sender's BATCH)
TIMED_RUNS = 5
TARGET_PER_SECOND = 1_500  # the acceptance point
SENDER_NUMBER = "+5511987650000"


# --- the receiver (a subprocess: this file with --serve-receiver PORT) -----------------------

# arrival time, endpoint index (from the path /hook/<n>), event id, event, data.id, data.benchSeq
Record = tuple[float, int, str, str, str, int]
_records: list[Record] = []
_seen: set[tuple[int, str]] = set()
_dupes = 0
_OK = [(b"content-type", b"text/plain"), (b"content-length", b"2")]


async def _sink(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """POST /hook/<n> records and answers 200 "ok" at once; GET /count (O(1), for polling),
    GET /records, GET /healthz. A bare ASGI app: the receiver should cost as little as it can."""
    global _dupes
    if scope["type"] != "http":
        return
    path, status, out = scope["path"], 200, b"ok"
    if scope["method"] == "POST" and path.startswith("/hook"):
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        try:
            body = orjson.loads(b"".join(chunks))
            data = body.get("data") or {}
            ep = int(path.rpartition("/")[2] or 0) if path != "/hook" else 0
            key = (ep, str(body.get("id")))
            if key in _seen:
                _dupes += 1
            _seen.add(key)
            _records.append(
                (
                    time.time(),
                    ep,
                    key[1],
                    str(body.get("event")),
                    str(data.get("id")),
                    int(data.get("benchSeq") or 0),
                )
            )
        except (ValueError, AttributeError):
            status, out = 400, b"no"
    elif path == "/count":
        out = orjson.dumps({"total": len(_records), "distinct": len(_seen), "duplicates": _dupes})
    elif path == "/records":
        out = orjson.dumps(_records)
    elif path != "/healthz":
        status, out = 404, b"no"
    headers = _OK if out == b"ok" else [(b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": out})


def _serve_receiver(port: int) -> int:
    import uvicorn

    uvicorn.run(
        _sink, host=b.HOST, port=port, http="httptools", lifespan="off", access_log=False, log_level="warning"
    )
    return 0


class Receiver:
    def __init__(self, work: Path) -> None:
        port = b.free_port()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-receiver", str(port)]
        self.server = b.Server("receiver", cmd, env=b.clean_env(), cwd=work, port=port).start()

    def hook_url(self, endpoint: int) -> str:
        return f"{self.server.url}/hook/{endpoint}"

    def records(self) -> list[Record]:
        r = httpx.get(self.server.url + "/records", timeout=120)
        return [tuple(x) for x in orjson.loads(r.content)]  # type: ignore[misc]


# --- the database ---------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    url: str
    pg_admin: str | None = None  # the DSN the bench database was created from
    pg_name: str | None = None


async def _pg_admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _make_backend(args: argparse.Namespace, work: Path) -> Backend:
    if args.backend == "sqlite":
        return Backend("sqlite", f"sqlite+aiosqlite:///{work}/webhook-sender.db")
    name = "zgbench_" + secrets.token_hex(6)
    await _pg_admin(args.pg_dsn, f"CREATE DATABASE {name}")
    base = args.pg_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return Backend("postgres", f"{base}/{name}", args.pg_dsn, name)


async def _drop_backend(backend: Backend) -> None:
    if backend.pg_name is None or backend.pg_admin is None:
        return
    if os.environ.get("BENCH_KEEP"):
        b.say(f"(kept PostgreSQL database {backend.pg_name})")
        return
    await _pg_admin(backend.pg_admin, f"DROP DATABASE IF EXISTS {backend.pg_name} WITH (FORCE)")


async def _pg_backend_cpu(backend: Backend) -> dict[int, float] | None:
    """CPU seconds of the PostgreSQL backends serving the bench database (None: unreadable)."""
    if backend.pg_name is None or backend.pg_admin is None:
        return None
    import asyncpg

    conn = await asyncpg.connect(backend.pg_admin)
    try:
        pids = [
            r["pid"]
            for r in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
                backend.pg_name,
            )
        ]
    finally:
        await conn.close()
    out: dict[int, float] = {}
    for pid in pids:
        try:
            cpu = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            return None
        out[pid] = cpu.user + cpu.system
    return out


async def _scalar(container: Container, query: Any) -> Any:
    async with container.db.read() as conn:
        return (await conn.execute(query)).scalar()


async def _pending(container: Container) -> int:
    d = t.webhook_deliveries.c
    return int(await _scalar(container, sa.select(sa.func.count()).where(d.status == "PENDING")))


# --- set-up and the backlog, through the project's services ----------------------------------


@dataclass
class Setup:
    number_id: str
    endpoint_ids: list[str]  # index = the receiver path's <n>
    message_ids: list[str] = field(default_factory=list)


async def _set_up(container: Container, receiver: Receiver, endpoints: int) -> Setup:
    tenant = await tenants.create_tenant(container, name="Webhook bench", plan="PAID")
    add = number_commands.add_number(name="Webhook bench", number=SENDER_NUMBER, provider="sandbox")
    created = await numbers.create_number(container, workspace_id=tenant.tenant_id, add=add)
    number_id = created.number.id
    principal = Principal(workspace_id=tenant.tenant_id, key_id="bench", scope="tenant", number_id=None)
    endpoint_ids = []
    for i in range(endpoints):
        new = NewEndpoint(number_id=number_id, url=receiver.hook_url(i), name=f"bench-{i}", events=("*",))
        made = await webhooks.create_endpoint(container, principal=principal, new=new)
        endpoint_ids.append(made.endpoint.id)
    return Setup(number_id, endpoint_ids)


def _data(setup: Setup, message_id: str, n: int, seq: int, now_ms: int) -> dict[str, Any]:
    """``data`` shaped like a message status event (payloads.message_status_data), plus the
    chain position the receiver checks the order with."""
    return {
        "numberId": setup.number_id,
        "id": message_id,
        "internalMessageId": message_id,
        "messageId": f"wamid.bench{n:010d}",
        "correlationId": None,
        "fromMe": True,
        "from": SENDER_NUMBER,
        "to": f"+55119{20_000_000 + n:08d}",
        "createdAt": iso(now_ms),
        "status": STATUSES[min(seq, 3) - 1],
        "type": "text",
        "content": f"Webhook sender benchmark, message {n}",
        "benchSeq": seq,
    }


async def _fill(container: Container, setup: Setup, messages: int, chain: int) -> int:
    """Emit ``chain`` events for each of ``messages`` new fake messages, in waves (a wave's
    sent events, then its delivered, then its read: statuses come in that rhythm), in
    transactions of EMITS_PER_TRANSACTION. Returns the deliveries queued."""
    first = len(setup.message_ids)
    setup.message_ids.extend(ids.new_id("msg") for _ in range(messages))
    order = [
        (n, seq)
        for start in range(first, first + messages, WAVE)
        for seq in range(1, chain + 1)
        for n in range(start, min(start + WAVE, first + messages))
    ]
    queued = 0
    for i in range(0, len(order), EMITS_PER_TRANSACTION):
        cache: events.EndpointCache = {}
        async with container.db.write() as conn:
            for n, seq in order[i : i + EMITS_PER_TRANSACTION]:
                now = container.clock.now_ms()
                mid = setup.message_ids[n]
                queued += await events.emit(
                    conn,
                    number_id=setup.number_id,
                    event=EVENTS[min(seq, 3) - 1],
                    data=_data(setup, mid, n, seq, now),
                    order_key=mid,
                    seq=seq,
                    now_ms=now,
                    cache=cache,
                )
    return queued


# --- the claim query: plan and timing ---------------------------------------------------------


def _claim_queries(sender: WebhookSender, now: int) -> tuple[str, list[Any]] | None:
    """The claim's SELECT as the current code builds it: the sender's ``claim_query(now,
    limit)``, else its ``_due_query(now, limit)``, else ``zapgate.storage.webhook_queue
    .claim_query(now, limit)`` (where the query lives once the queue has its own module)."""
    found: list[tuple[str, Any]] = [
        (f"WebhookSender.{name}", getattr(sender, name, None)) for name in ("claim_query", "_due_query")
    ]
    with contextlib.suppress(ImportError):
        module = importlib.import_module("zapgate.storage.webhook_queue")
        found.append(("webhook_queue.claim_query", getattr(module, "claim_query", None)))
    for name, method in found:
        if callable(method):
            made = method(now, CLAIM_LIMIT)
            if isinstance(made, str):
                made = sa.text(made)
            return name, list(made) if isinstance(made, list | tuple) else [made]
    return None


@dataclass
class ClaimMeasure:
    pending: int
    sqlite: bool
    lines: list[str]
    explain_ms: float | None = None  # PostgreSQL's "Execution Time"
    timed_ms: list[float] = field(default_factory=list)
    rows: int | None = None

    def short(self) -> str:
        if not self.timed_ms:
            return self.lines[-1].strip() if self.lines else "n/a"
        parts = [
            f"median {b.percentile(self.timed_ms, 50):.2f} ms, min "
            f"{min(self.timed_ms):.2f} ms ({self.rows} rows)"
        ]
        if self.explain_ms is not None:
            parts.append(f"EXPLAIN ANALYZE {self.explain_ms:.2f} ms")
        return "; ".join(parts)


async def _measure_claim(container: Container, pending: int) -> ClaimMeasure:
    """Plan and timing of the claim query on the backlog as it stands; nothing stays locked
    (every execution is rolled back). A failure is reported, never fatal: the code measured
    is changing under this benchmark."""
    measure = ClaimMeasure(pending, container.db.is_sqlite, [])
    try:
        await _measure_claim_into(container, measure)
    except Exception as exc:
        measure.lines.append(f"claim query: measuring failed: {type(exc).__name__}: {exc}")
        measure.timed_ms.clear()
    return measure


async def _measure_claim_into(container: Container, measure: ClaimMeasure) -> None:
    sender = WebhookSender(container)
    db = container.db
    found = _claim_queries(sender, container.clock.now_ms())
    if found is None:
        measure.lines.append(
            "claim query: not found (no claim_query() or _due_query() on "
            "WebhookSender, no zapgate.storage.webhook_queue.claim_query())"
        )
        return
    name, queries = found
    measure.lines.append(
        f"claim query: {name}(now, {CLAIM_LIMIT})"
        + (f", {len(queries)} statements" if len(queries) > 1 else "")
    )
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE webhook_deliveries")
            await conn.commit()
    for query in queries:
        # Timed first; the statement and parameters the driver got are kept, so the plan is the
        # one of the statement as the sender sends it (bound parameters, not inlined values:
        # SQLite cannot use a partial index for "status = ?", it can for "status = 'PENDING'").
        sent: list[tuple[str, Any]] = []
        for _ in range(TIMED_RUNS):
            async with db.engine.connect() as conn:
                sa.event.listen(conn.sync_connection, "before_cursor_execute", _capture(sent))
                started = time.perf_counter()
                result = await conn.execute(query)
                rows = len(result.all()) if result.returns_rows else result.rowcount
                measure.timed_ms.append((time.perf_counter() - started) * 1000)
                measure.rows = rows
                await conn.rollback()
        statements = [x for x in sent if not x[0].lstrip().upper().startswith("BEGIN")]
        await _explain(db, measure, *statements[-1])


def _capture(into: list[tuple[str, Any]]) -> Callable[..., None]:
    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        into.append((statement, parameters))

    return listener


async def _explain(db: Any, measure: ClaimMeasure, sql: str, params: Any) -> None:
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    async with db.engine.connect() as conn:
        plan = (await conn.exec_driver_sql(prefix + sql, params)).all()
        await conn.rollback()  # EXPLAIN ANALYZE ran the FOR UPDATE: let go of the locks
    if db.is_sqlite:
        depth: dict[int, int] = {}
        for node, parent, _unused, detail in plan:
            depth[node] = depth.get(parent, -1) + 1
            measure.lines.append("  " + "  " * depth[node] + str(detail))
        return
    measure.lines.extend("  " + str(row[0]) for row in plan)
    for row in plan:
        if str(row[0]).startswith("Execution Time:"):
            measure.explain_ms = float(str(row[0]).split()[2])


def _print_claim(measure: ClaimMeasure) -> None:
    b.say(f"claim query at {measure.pending:,} pending:")
    for line in measure.lines:
        b.say(line)
    if measure.timed_ms:
        b.say(
            "  timed ("
            + ("the SELECT; SQLite has no FOR UPDATE" if measure.sqlite else "with FOR UPDATE, rolled back")
            + f", {TIMED_RUNS} runs): {measure.short()}"
        )


# --- the run ----------------------------------------------------------------------------------


@dataclass
class ClaimTimes:
    """Every claim the sender makes during the run: duration (s) and rows it returned. Timed
    around WebhookSender._claim, so on SQLite it includes waiting for the write lock."""

    calls: list[tuple[float, int]] = field(default_factory=list)


def _time_claims(sender: WebhookSender) -> ClaimTimes | None:
    inner = getattr(sender, "_claim", None)
    if inner is None:
        return None
    times = ClaimTimes()

    async def timed(*a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        jobs = await inner(*a, **kw)
        times.calls.append((time.perf_counter() - started, len(jobs) if hasattr(jobs, "__len__") else 0))
        return jobs

    sender._claim = timed  # type: ignore[method-assign]
    return times


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class RunResult:
    t0: float
    done_at: float | None  # when the receiver held every delivery (None: time-out)
    cpu_s: float
    receiver_cpu_s: float
    pg_cpu_s: float | None
    claims: ClaimTimes | None
    errors_logged: int


async def _run_sender(
    container: Container, receiver: Receiver, backend: Backend, expected: int, max_seconds: float
) -> RunResult:
    sender = WebhookSender(container)
    claims = _time_claims(sender)
    runner = Runner([sender], poll_interval=container.settings.worker_poll_interval)
    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    pg0 = await _pg_backend_cpu(backend)
    rcv0 = receiver.server.cpu_seconds()
    cpu0 = time.process_time()
    t0 = time.time()
    runner.start()
    done_at: float | None = None
    last_report, last_count = t0, 0
    async with httpx.AsyncClient(base_url=receiver.server.url, timeout=30) as http:
        try:
            while time.time() - t0 < max_seconds:
                await asyncio.sleep(0.5)
                count = (await http.get("/count")).json()["distinct"]
                now = time.time()
                if count >= expected:
                    done_at = now
                    break
                if now - last_report >= 10:
                    b.say(
                        f"  {now - t0:5.0f} s: {count:,} delivered "
                        f"({(count - last_count) / (now - last_report):,.0f}/s over the last "
                        f"{now - last_report:.0f} s)"
                    )
                    last_report, last_count = now, count
        finally:
            cpu = time.process_time() - cpu0
            rcv = receiver.server.cpu_seconds() - rcv0
            pg1 = await _pg_backend_cpu(backend)
            await runner.stop(grace=15)
            logging.getLogger().removeHandler(errors)
    pg = (
        sum(v - (pg0 or {}).get(pid, 0.0) for pid, v in pg1.items())
        if pg0 is not None and pg1 is not None
        else None
    )
    return RunResult(t0, done_at, cpu, rcv, pg, claims, errors.count)


# --- checks and the report --------------------------------------------------------------------


@dataclass
class Checks:
    received: int = 0
    distinct: int = 0
    duplicates: int = 0
    lost: int = 0
    unexpected: int = 0
    order_violations: int = 0
    chains: int = 0
    example: str = ""
    arrivals: list[float] = field(default_factory=list)  # first arrival of each, sorted
    statuses: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    attempts_failed: int = 0


async def _check(container: Container, setup: Setup, records: list[Record]) -> Checks:
    c = Checks(received=len(records))
    d, a = t.webhook_deliveries.c, t.webhook_attempts.c
    index = {eid: i for i, eid in enumerate(setup.endpoint_ids)}
    async with container.db.read() as conn:
        expected = {
            (index[r.endpoint_id], r.event_id)
            for r in (await conn.execute(sa.select(d.endpoint_id, d.event_id))).all()
        }
        c.statuses = {
            str(s): int(n)
            for s, n in (await conn.execute(sa.select(d.status, sa.func.count()).group_by(d.status))).all()
        }
        c.attempts = int(
            (await conn.execute(sa.select(sa.func.count()).select_from(t.webhook_attempts))).scalar() or 0
        )
        c.attempts_failed = int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        sa.or_(a.status_code.is_(None), a.status_code < 200, a.status_code >= 300)
                    )
                )
            ).scalar()
            or 0
        )
    first: dict[tuple[int, str], Record] = {}
    for r in records:  # in arrival order (the receiver appends as it answers)
        first.setdefault((r[1], r[2]), r)
    c.distinct = len(first)
    c.duplicates = c.received - c.distinct
    c.lost = len(expected - first.keys())
    c.unexpected = len(first.keys() - expected)
    chains: dict[tuple[int, str], list[int]] = {}
    for r in first.values():  # dicts keep insertion order: first arrivals, in order
        chains.setdefault((r[1], r[4]), []).append(r[5])
    c.chains = len(chains)
    for (ep, mid), seqs in chains.items():
        if seqs != sorted(seqs):
            c.order_violations += 1
            c.example = c.example or f"endpoint {ep}, message {mid}: seq arrival order {seqs}"
    c.arrivals = sorted(r[0] for r in first.values())
    return c


def _rates(arrivals: list[float], t0: float) -> tuple[float, float, list[float]]:
    """Overall (from the sender's start), middle 80 % (10th to 90th percentile arrival), and
    per tenth of the deliveries."""
    n = len(arrivals)
    if n < 10:
        return float("nan"), float("nan"), []
    overall = n / max(arrivals[-1] - t0, 1e-9)
    lo, hi = n // 10, n * 9 // 10 - 1
    middle = (hi - lo) / max(arrivals[hi] - arrivals[lo], 1e-9)
    tenths, start = [], t0
    for k in range(1, 11):
        end = arrivals[n * k // 10 - 1]
        tenths.append((n * k // 10 - n * (k - 1) // 10) / max(end - start, 1e-9))
        start = end
    return overall, middle, tenths


def _ms(seconds: float, n: int) -> str:
    return f"{seconds * 1000 / n:.3f} ms" if n else "n/a"


def _report(
    args: argparse.Namespace,
    backend: Backend,
    fill_s: float,
    messages: int,
    claims: list[ClaimMeasure],
    run: RunResult,
    c: Checks,
    expected: int,
) -> bool:
    n = c.distinct
    overall, middle, tenths = _rates(c.arrivals, run.t0)
    wall = (run.done_at or time.time()) - run.t0
    problems = []
    if run.done_at is None:
        problems.append(f"time-out after {args.max_seconds:g} s")
    if c.lost:
        problems.append(f"{c.lost} deliveries never arrived")
    if c.unexpected:
        problems.append(f"{c.unexpected} deliveries nobody queued")
    if c.order_violations:
        problems.append(f"{c.order_violations} chains out of order ({c.example})")
    not_success = sum(v for k, v in c.statuses.items() if k != "SUCCESS")
    if not_success:
        problems.append(f"{not_success} deliveries not SUCCESS in the database")
    rows = [
        ("backend", backend.name + ("" if backend.name == "sqlite" else f" ({backend.pg_name})")),
        (
            "backlog at the start",
            f"{expected:,} pending deliveries ({messages:,} messages x "
            f"{args.messages_per_chain} events x {args.endpoints} "
            f"endpoint{'s' if args.endpoints > 1 else ''})",
        ),
        ("fill (not measured)", f"{fill_s:.1f} s through services.events.emit"),
    ]
    rows += [(f"claim query at {m.pending:,} pending", m.short()) for m in claims]
    rows += [
        ("delivered", f"{n:,} of {expected:,}; {c.duplicates} duplicates; {c.lost} missing"),
        ("time to first delivery", f"{c.arrivals[0] - run.t0:.2f} s" if c.arrivals else "n/a"),
        ("time to last delivery", f"{c.arrivals[-1] - run.t0:.1f} s" if c.arrivals else "n/a"),
        (
            "deliveries/s overall",
            f"**{overall:,.0f}** (target {TARGET_PER_SECOND:,}: "
            f"{'met' if overall >= TARGET_PER_SECOND else 'not met'})",
        ),
        ("deliveries/s middle 80 %", f"{middle:,.0f}"),
        ("deliveries/s by tenth", " ".join(f"{r:,.0f}" for r in tenths) or "n/a"),
        (
            "bench process CPU (sender)",
            f"{run.cpu_s:.1f} s = {_ms(run.cpu_s, n)}/delivery, {run.cpu_s / max(wall, 1e-9):.0%} of a core",
        ),
        ("receiver CPU", f"{run.receiver_cpu_s:.1f} s = {_ms(run.receiver_cpu_s, n)}/delivery"),
    ]
    if backend.name == "postgres":
        rows.append(
            (
                "PostgreSQL backends CPU",
                "n/a" if run.pg_cpu_s is None else f"{run.pg_cpu_s:.1f} s = {_ms(run.pg_cpu_s, n)}/delivery",
            )
        )
    if run.claims is not None and run.claims.calls:
        calls = run.claims.calls
        durations = [s * 1000 for s, _ in calls]
        fifth = max(1, len(calls) // 5)
        rows.append(
            (
                "claims during the run",
                (
                    f"{len(calls):,} claims, {sum(k for _, k in calls) / len(calls):.1f} jobs each, "
                    f"{sum(1 for _, k in calls if k == 0):,} empty; p50 "
                    f"{b.percentile(durations, 50):.2f} ms p99 {b.percentile(durations, 99):.2f} ms; "
                    f"p50 first fifth {b.percentile(durations[:fifth], 50):.2f} ms, last fifth "
                    f"{b.percentile(durations[-fifth:], 50):.2f} ms; total {sum(durations) / 1000:.1f} s"
                ),
            )
        )
    else:
        rows.append(("claims during the run", "not timed (no WebhookSender._claim)"))
    rows += [
        ("order per message", f"{c.order_violations} violations in {c.chains:,} chains"),
        (
            "database",
            ", ".join(f"{k} {v:,}" for k, v in sorted(c.statuses.items()))
            + f"; attempts {c.attempts:,} ({c.attempts_failed} not 2xx)",
        ),
        ("errors logged by the sender", str(run.errors_logged)),
        ("valid", "yes" if not problems else "**INVALID**: " + "; ".join(problems)),
    ]
    b.say("\n| measure | value |\n| --- | --- |")
    for k, v in rows:
        b.say(f"| {k} | {v} |")
    return not problems


# --- main ------------------------------------------------------------------------------------


def _settings(url: str, concurrency: int | None) -> Settings:
    # Defaults as `serve` has them (webhook_concurrency, timeouts, poll interval), plus private
    # targets allowed for the loopback receiver; no .env, no ZAPGATE_* of the caller's.
    extra = {} if concurrency is None else {"webhook_concurrency": concurrency}
    return Settings(
        _env_file=None,
        database_url=url,
        allow_private_urls=True,  # type: ignore[call-arg]
        log_level="WARNING",
        log_json=False,
        demo=False,
        **extra,
    )


async def _bench(args: argparse.Namespace, work: Path) -> int:
    receiver = Receiver(work)
    backend = await _make_backend(args, work)
    container: Container | None = None
    try:
        settings = _settings(backend.url, args.webhook_concurrency)
        b.say(
            f"database: {backend.url}; webhook_concurrency {settings.webhook_concurrency}, "
            f"webhook_timeout_seconds {settings.webhook_timeout_seconds:g}, "
            f"worker_poll_interval {settings.worker_poll_interval:g}"
        )
        b.say(
            f"receiver: pid {receiver.server.pid} at {receiver.hook_url(0)} "
            "(uvicorn + httptools, bare ASGI, HTTP/1.1 keep-alive)"
        )
        container = build_container(settings)
        await migrate.upgrade(container.db)
        await container.start()
        if not container.db.is_sqlite:
            async with container.db.read() as conn:
                version = (await conn.execute(sa.text("SHOW server_version"))).scalar()
            b.say(f"PostgreSQL {version}")
        setup = await _set_up(container, receiver, args.endpoints)
        per_message = args.messages_per_chain * args.endpoints
        total_messages = max(1, args.pending // per_message)
        stages = [min(total_messages, max(1, FIRST_STAGE // per_message)), total_messages]
        claims: list[ClaimMeasure] = []
        fill_s, queued = 0.0, 0
        for target in dict.fromkeys(stages):  # one stage when --pending <= 1,000
            started = time.perf_counter()
            queued += await _fill(container, setup, target - len(setup.message_ids), args.messages_per_chain)
            fill_s += time.perf_counter() - started
            pending = await _pending(container)
            b.say(
                f"\nbacklog: {pending:,} pending deliveries ({len(setup.message_ids):,} messages"
                f" x {args.messages_per_chain} events x {args.endpoints} endpoint(s); "
                f"{queued:,} queued by emit; filled in {fill_s:.1f} s, not measured)"
            )
            claims.append(await _measure_claim(container, pending))
            _print_claim(claims[-1])
        expected = await _pending(container)
        if expected != queued or not expected:
            b.say(f"INVALID: emit queued {queued:,} deliveries but {expected:,} are pending")
            return 1
        b.say(f"\nload before the run: {b.load_line()}")
        b.say(
            f"running the webhook sender (Runner with WebhookSender only, "
            f"{args.loop} event loop) until the receiver holds {expected:,} deliveries ..."
        )
        run = await _run_sender(container, receiver, backend, expected, args.max_seconds)
        b.say(f"load after the run: {b.load_line()}")
        records = receiver.records()
        checks = await _check(container, setup, records)
        ok = _report(args, backend, fill_s, len(setup.message_ids), claims, run, checks, expected)
        return 0 if ok else 1
    finally:
        if container is not None:
            await container.close()
        receiver.server.stop()
        await _drop_backend(backend)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument(
        "--pending", type=int, default=100_000, help="deliveries in the backlog when the sender starts"
    )
    p.add_argument(
        "--messages-per-chain",
        type=int,
        default=3,
        help="deliveries per message that must arrive in order (sent, delivered, "
        "read; beyond 3 the event name repeats message.read)",
    )
    p.add_argument(
        "--endpoints",
        type=int,
        default=1,
        help="webhook endpoints on the number (all on the one receiver); each event "
        "is one delivery per endpoint",
    )
    p.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL to create the bench database on (--backend postgres)",
    )
    p.add_argument("--max-seconds", type=float, default=600.0)
    p.add_argument(
        "--webhook-concurrency",
        type=int,
        default=None,
        help="the setting ZAPGATE_WEBHOOK_CONCURRENCY (default: the app's, 64; one endpoint gets half of it)",
    )
    p.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the event loop of this process: uvloop as under `zapgate serve` "
        "and `zapgate worker`, or plain asyncio",
    )
    p.add_argument("--serve-receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.pending < 1 or args.messages_per_chain < 1 or args.endpoints < 1:
        p.error("--pending, --messages-per-chain and --endpoints must be at least 1")
    return args


def _run_loop(coro: Coroutine[Any, Any, int], loop: str) -> int:
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


def main() -> int:
    args = _args()
    if args.serve_receiver:
        return _serve_receiver(args.serve_receiver)
    for key in [k for k in os.environ if k.startswith("ZAPGATE_")]:
        del os.environ[key]
    zlog.configure("WARNING", json_logs=False)
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
    with b.workspace("webhook-sender") as work, contextlib.suppress(KeyboardInterrupt):
        return _run_loop(_bench(args, work), args.loop)
    return 130


if __name__ == "__main__":
    sys.exit(main())
