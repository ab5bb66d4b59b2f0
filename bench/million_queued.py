"""A million queued (issue 10 point 5): dispatch rate, worker RSS, accept latency and the plans
of every periodic query with a huge QUEUED backlog, against the same with a small one.

    .venv/bin/python bench/million_queued.py [--backend postgres|sqlite] [--backlog N]
                                             [--baseline 10000] [--numbers 100] [--window 30]
                                             [--warmup 10] [--accept-rate 100] [--workers 2]
                                             [--worker-loops split|all] [--worker-nice N]
                                             [--auto-explain-ms 20] [--pg-log PATH]
                                             [--pg-dsn DSN] [--no-analyze] [--no-topup]

Two phases, the baseline backlog (10,000) first and then the big one (1,000,000 on PostgreSQL,
200,000 on SQLite), each on a fresh database (a SQLite file in a temporary folder, or a new
PostgreSQL database, dropped at the end; BENCH_KEEP=1 keeps both):

1. ``zapgate serve`` with its workers off (``ZAPGATE_RUN_WORKERS=0``) and the sandbox made fast
   (e2e_bulk.SANDBOX: 1,000 msg/s and 256 in flight per number, so the dispatcher, not pacing,
   is the limit); ``--numbers`` sandbox numbers (the demo's plus POST /v1/numbers).
2. One text message per number through POST /v1/messages/send: rows exactly as the API writes
   them (the message and its QUEUED ``message_events`` row; no labels, no Idempotency-Key, so no
   other companion rows). The first is frozen as the template (``zz_bench_template`` and
   ``zz_bench_template_event``, two one-row tables of the bench's own).
3. The backlog: the template cloned with one INSERT ... SELECT per chunk over generate_series
   (PostgreSQL) or a recursive CTE (SQLite), plus the same for its QUEUED event. Every column is
   the template's except: a unique id and correlation id in Zapgate's format (``msg_`` /
   ``corr_`` + a 26-character ULID of the row's own created_at; checked against the encoding of
   zapgate.domain.ids), the number (round-robin), a destination of its own (also in the stored
   request body), and created_at = updated_at = deliver_at = next_attempt_at, one millisecond
   apart, ending now. Then ANALYZE (``--no-analyze`` skips it: Zapgate itself never runs
   ANALYZE, which matters on SQLite, see 6).
4. The workers as ``serve`` runs them on this 2-core machine for SQLite (two ``zapgate worker``
   processes splitting the loops, dispatcher + inbox / webhooks + sweeper, nice 10, a shared
   wake folder) and as e2e_bulk.py deploys them for PostgreSQL (two ``zapgate worker``
   processes running every loop, nice 0).
5. ``--warmup`` seconds, then a ``--window`` of measurement. Throughout, the backlog is held
   steady: this process inserts clones as fast as messages leave QUEUED (arrivals = departures,
   minus the API sends below; every 0.25 s), so the baseline backlog does not simply drain.
   Measured:
   - dispatch rate: messages leaving QUEUED per second: their dispatcher / sweeper
     ``message_events`` row, counted by id range; on PostgreSQL a range is counted once every
     transaction that was open when its top id was read has ended (snapshot xmin / xmax), so
     ids committed out of order are not missed;
   - RSS of the worker processes (psutil, children included) every second: at start, at the
     window's start, peak, end;
   - accept latency p50 / p99: POST /v1/messages/send at ``--accept-rate`` per second, open loop
     (latency from the scheduled start), keep-alive connections (e2e_bulk's raw client);
   - worker CPU, the receipts the inbox had not applied yet when the workers stopped.
6. The workers stopped (all at once), the backlog is topped up to its size again and, on
   PostgreSQL, VACUUM ANALYZE (what autovacuum does sooner or later). Then every periodic query
   the workers run is captured as the driver receives it: the real functions
   (LeaseKeeper.refresh, Dispatcher._numbers, ._claim, ._write_outcomes, Inbox.tick,
   WebhookSender._claim, ._schedule_next_due, every Sweeper step, redaction with a PII mode)
   are called in this process on a container whose write transactions are all rolled back,
   with a SQLAlchemy ``before_cursor_execute`` hook recording each statement and its
   parameters. The claim runs on the number with the most QUEUED messages, leased to the
   capture, with a limit the baseline can fill too (so both phases claim the same batch).
   Each statement is then explained (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS), rolled back;
   SQLite: EXPLAIN QUERY PLAN) and timed (median of 3 runs, rolled back). Work: PostgreSQL's
   rows examined (actual rows + rows removed by filter or recheck) and shared blocks per table;
   SQLite's virtual-machine instructions (progress handler). On SQLite the statements are
   measured a second time without sqlite_stat1, as Zapgate runs them. A plan is flagged when
   it scans messages or message_events in full without a LIMIT above, and when its work per
   row (per value given, for a write) grew with the backlog from the baseline to the big one.
7. PostgreSQL, optionally: auto_explain loaded for the bench database only (``ALTER DATABASE
   ... SET session_preload_libraries``; the server itself is not touched), logging the plan of
   every statement slower than ``--auto-explain-ms`` during the window, read back from the
   server's log when this process can read it.

Exit 1 only when a run was invalid (a server died, sends failed, nothing was dispatched).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import itertools
import json
import os
import re
import secrets
import shlex
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib as b
import httpx
import orjson
import psutil
import sqlalchemy as sa
from e2e_bulk import SANDBOX, Connection, Worker

from zapgate import logging as zlog
from zapgate.container import Container, build_container
from zapgate.domain import ids
from zapgate.domain.lifecycle import Status
from zapgate.providers.base import ScheduledReceipt, SendResult
from zapgate.services import redaction, status_changes
from zapgate.settings import Settings
from zapgate.storage import tables as t
from zapgate.storage import webhook_queue
from zapgate.worker_process import loops_for
from zapgate.workers import sweeper as sweeper_module
from zapgate.workers.dispatcher import Dispatcher, _Outcome
from zapgate.workers.inbox import Inbox
from zapgate.workers.leases import LeaseKeeper
from zapgate.workers.sweeper import Sweeper
from zapgate.workers.webhook_sender import WebhookSender

APP = "million_queued"  # application_name of this process's own PostgreSQL connections
ALPHA = "0123456789abcdefghjkmnpqrstvwxyz"  # zapgate.domain.ids' Crockford alphabet
TEMPLATE = "zz_bench_template"
TEMPLATE_EVENT = "zz_bench_template_event"
SEED_DEST_BASE = 10_000_000  # +5511910000000...: the API-written seed messages
SEND_DEST_BASE = 20_000_000  # the accept-latency sends during the window
CLONE_DEST_BASE = 30_000_000  # the clones (fill and top-ups); all clear of the sandbox's magic
TEXT = "Hello from the Zapgate million-queued benchmark"
CHUNK = {"postgres": 100_000, "sqlite": 50_000}  # clones per transaction while filling
TOPUP_MAX = 20_000  # clones per top-up statement
POLL = 0.25  # seconds between counts (and top-ups)
TIMED_RUNS = 3
MAIN_TABLES = ("messages", "message_events")


def main() -> int:
    args = _args()
    for key in [k for k in os.environ if k.startswith("ZAPGATE_")]:
        del os.environ[key]
    zlog.configure("WARNING", json_logs=False)
    b.say("command: " + shlex.join([b.rel(sys.executable), b.rel(sys.argv[0]), *sys.argv[1:]]))
    b.say(f"machine: {b.machine_line()}")
    b.say(
        f"note: this process (load generator, top-ups), Zapgate"
        f"{' and PostgreSQL' if args.backend == 'postgres' else ''} share these "
        f"{os.cpu_count()} cores"
    )
    with b.workspace("million") as work:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(_bench(args, work))


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    p.add_argument(
        "--backlog",
        type=int,
        default=None,
        help="QUEUED messages of the big phase (default 1,000,000 on PostgreSQL, 200,000 on SQLite)",
    )
    p.add_argument("--baseline", type=int, default=10_000, help="QUEUED messages of the baseline")
    p.add_argument("--numbers", type=int, default=100)
    p.add_argument("--window", type=float, default=30.0, help="seconds measured")
    p.add_argument(
        "--warmup",
        type=float,
        default=10.0,
        help="seconds before the window (the workers' RSS settles in about 20 s)",
    )
    p.add_argument(
        "--accept-rate",
        type=float,
        default=100.0,
        help="sends per second through the API while the workers run",
    )
    p.add_argument("--workers", type=int, default=2, help="`zapgate worker` processes")
    p.add_argument(
        "--worker-loops",
        choices=("split", "all"),
        default=None,
        help="split: serve's split of the loops between two processes (default on "
        "SQLite); all: every process runs every loop (default on PostgreSQL)",
    )
    p.add_argument(
        "--worker-nice",
        type=int,
        default=None,
        help="nice of the worker processes (default: serve's 10 on SQLite, 0 on PostgreSQL)",
    )
    p.add_argument(
        "--no-topup", action="store_true", help="let the backlog drain instead of holding it steady"
    )
    p.add_argument("--no-analyze", action="store_true", help="no ANALYZE after the fill")
    p.add_argument(
        "--auto-explain-ms",
        type=float,
        default=20.0,
        help="PostgreSQL: log the plans of statements slower than this during the "
        "window with auto_explain (0: off)",
    )
    p.add_argument(
        "--pg-log",
        default=None,
        help="the PostgreSQL server's log file (default: pg_current_logfile(), else "
        "/var/log/postgresql/postgresql-<cluster>.log)",
    )
    p.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL to create the bench databases on",
    )
    args = p.parse_args()
    if args.backlog is None:
        args.backlog = 1_000_000 if args.backend == "postgres" else 200_000
    if args.worker_loops is None:
        args.worker_loops = "split" if args.backend == "sqlite" else "all"
    if args.worker_nice is None:
        args.worker_nice = 10 if args.backend == "sqlite" else 0
    if args.numbers < 1 or args.numbers > 9_999:
        p.error("--numbers: 1 to 9,999")
    if min(args.baseline, args.backlog) < args.numbers:
        p.error("--baseline and --backlog must be at least --numbers")
    if args.worker_loops == "split" and args.workers != 2:
        p.error("--worker-loops split needs --workers 2")
    return args


# -- the database ------------------------------------------------------------------------------


class BenchDb:
    """A fresh SQLite file or PostgreSQL database for one phase, and this process's own access to
    it (fill, counts, top-ups, plans): asyncpg on PostgreSQL; sqlite3 in a thread on SQLite,
    writing under the lock files Zapgate's processes take turns on (storage.database)."""

    def __init__(self, args: argparse.Namespace, work: Path, phase: str) -> None:
        self.backend = args.backend
        self.admin_dsn = args.pg_dsn
        self.name: str | None = None
        self.path: Path | None = None
        self.pid: int | None = None  # this process's PostgreSQL backend
        self._pg: Any = None
        self._sq: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        if self.backend == "sqlite":
            self.path = work / f"{phase}.db"
            self.url = f"sqlite+aiosqlite:///{self.path}"
            return
        self.name = f"zg_million_{os.getpid()}_{phase}"
        base = self.admin_dsn.rsplit("/", 1)[0]
        self.dsn = f"{base}/{self.name}"
        self.url = self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    @property
    def pg(self) -> bool:
        return self.backend == "postgres"

    async def create(self) -> None:
        if self.pg:
            await _pg_admin(self.admin_dsn, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            await _pg_admin(self.admin_dsn, f"CREATE DATABASE {self.name}")

    async def open(self) -> None:
        if self.pg:
            import asyncpg

            self._pg = await asyncpg.connect(self.dsn, server_settings={"application_name": APP})
            self.pid = int(await self._pg.fetchval("SELECT pg_backend_pid()"))
            return
        self._sq = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._sq.execute("PRAGMA busy_timeout=30000")

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
            self._pg = None
        if self._sq is not None:
            self._sq.close()
            self._sq = None

    async def drop(self) -> None:
        await self.close()
        if not self.pg:
            return
        if os.environ.get("BENCH_KEEP"):
            b.say(f"(kept PostgreSQL database {self.name})")
            return
        await _pg_admin(self.admin_dsn, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    async def scalar(self, sql: str) -> Any:
        if self.pg:
            return await self._pg.fetchval(sql)
        return await asyncio.to_thread(self._sq_scalar, sql)

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        if self.pg:
            return [tuple(r) for r in await self._pg.fetch(sql)]
        return await asyncio.to_thread(self._sq_fetch, sql)

    def _sq_fetch(self, sql: str) -> list[tuple[Any, ...]]:
        assert self._sq is not None
        with self._lock:
            return list(self._sq.execute(sql).fetchall())

    def _sq_scalar(self, sql: str) -> Any:
        assert self._sq is not None
        with self._lock:
            return self._sq.execute(sql).fetchone()[0]

    async def horizon(self) -> tuple[int, int, int]:
        """The largest message_events id visible now, and (PostgreSQL) the transactions that
        were running then (below xmax) and the oldest still running now (xmin): ids up to
        that maximum are all committed once xmin has passed that xmax. SQLite has one writer
        and writes its ids in commit order: countable at once."""
        if self.pg:
            row = await self._pg.fetchrow(
                "SELECT coalesce(max(id), 0), pg_snapshot_xmax(pg_current_snapshot())::text::bigint,"
                " pg_snapshot_xmin(pg_current_snapshot())::text::bigint FROM message_events"
            )
            return int(row[0]), int(row[1]), int(row[2])
        top = int(await self.scalar("SELECT coalesce(max(id), 0) FROM message_events"))
        return top, 0, 1

    async def write(self, statements: list[str]) -> None:
        """The statements in one transaction."""
        if self.pg:
            async with self._pg.transaction():
                for sql in statements:
                    await self._pg.execute(sql)
            return
        await asyncio.to_thread(self._sq_write, statements)

    def _sq_write(self, statements: list[str]) -> None:
        assert self._sq is not None and self.path is not None
        with self._lock, _sqlite_file_lock(self.path):
            self._sq.execute("BEGIN IMMEDIATE")
            try:
                for sql in statements:
                    self._sq.execute(sql)
            except BaseException:
                self._sq.execute("ROLLBACK")
                raise
            self._sq.execute("COMMIT")


async def _pg_admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, server_settings={"application_name": APP})
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def _sqlite_file_lock(path: Path) -> Any:
    """The write lock of storage.database.Database._file_lock, as a non-priority writer: pass
    the gate, then hold the lock (Zapgate's processes then wait for us, and we for them)."""
    lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    gate = os.open(f"{path}.lock-gate", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(gate, fcntl.LOCK_UN)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    finally:
        os.close(lock)
        os.close(gate)


# -- clones ------------------------------------------------------------------------------------


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ulid_sql(ms: str, counter: str, mid: int) -> str:
    """A 26-character id as zapgate.domain.ids.ulid writes it, for the millisecond ``ms`` (an
    SQL expression) with 80 "random" bits = ``mid`` (52 random bits, fixed per statement) then
    ``counter`` (28 bits, unique per row): value = ms << 82 | mid << 30 | counter << 2, five bits
    a character, most significant first."""

    def char(expr: str) -> str:
        return f"substr('{ALPHA}', CAST(({expr}) + 1 AS INTEGER), 1)"

    parts = [char(f"({ms} >> {43 - 5 * j}) & 31") for j in range(9)]
    parts.append(char(f"(({ms} & 7) << 2) | {mid >> 50}"))
    low = mid & ((1 << 50) - 1)
    parts.append(_lit("".join(ALPHA[(low >> (45 - 5 * i)) & 31] for i in range(10))))
    parts += [char(f"(({counter} << 2) >> {25 - 5 * i}) & 31") for i in range(6)]
    return "(" + " || ".join(parts) + ")"


def _py_ulid(ms: int, mid: int, counter: int) -> str:
    """The same id in Python, encoded the way zapgate.domain.ids.ulid encodes its value."""
    value = (ms << 82) | (mid << 30) | (counter << 2)
    return "".join(ids._PAIRS[(value >> shift) & 1023] for shift in range(120, -10, -10))


@dataclass
class Clones:
    """What the clone statements need: the numbers (all ids the same length) and the template's
    destination (replaced in the stored request body)."""

    backend: str
    number_ids: list[str]
    template_dest: str
    next_counter: int = 0

    def statements(self, count: int, last_ms: int) -> tuple[list[str], int, int, int]:
        """INSERTs for ``count`` clones created one millisecond apart up to ``last_ms``; also
        the first row's counter, millisecond and id ``mid`` (to check the id format)."""
        start = self.next_counter
        stop = start + count - 1
        self.next_counter += count
        if stop >= 1 << 28:
            raise SystemExit("too many clones for the 28-bit counter")
        base_ms = last_ms - count + 1
        pg = self.backend == "postgres"
        ms = f"(CAST({base_ms} AS BIGINT) + (g.c - {start}))"
        id_mid, corr_mid = secrets.randbits(52), secrets.randbits(52)
        message_id = f"'msg_' || {_ulid_sql(ms, 'g.c', id_mid)}"
        width = len(self.number_ids[0])
        joined = "".join(self.number_ids)
        dest = f"'+55119' || CAST({CLONE_DEST_BASE} + g.c AS TEXT)"
        request = (
            f"CAST(replace(CAST(tp.request AS TEXT), {_lit(self.template_dest)}, {dest}) AS JSON)"
            if pg
            else f"replace(tp.request, {_lit(self.template_dest)}, {dest})"
        )
        overrides = {
            "id": message_id,
            "correlation_id": f"'corr_' || {_ulid_sql(ms, 'g.c', corr_mid)}",
            "number_id": f"substr({_lit(joined)}, CAST((g.c % {len(self.number_ids)}) * {width}"
            f" + 1 AS INTEGER), {width})",
            "destination": dest,
            "request": request,
            "deliver_at": ms,
            "next_attempt_at": ms,
            "created_at": ms,
            "updated_at": ms,
        }
        if pg:
            prefix = ""
            source = f"generate_series(CAST({start} AS BIGINT), CAST({stop} AS BIGINT)) AS g(c)"
        else:
            prefix = (
                f"WITH RECURSIVE g(c) AS (SELECT {start} UNION ALL SELECT c + 1 FROM g WHERE c < {stop}) "
            )
            source = "g"
        columns = [c.name for c in t.messages.c]
        messages = (
            f"{prefix}INSERT INTO messages ({', '.join(_q(c) for c in columns)}) SELECT "
            + ", ".join(overrides.get(c, f"tp.{_q(c)}") for c in columns)
            + f" FROM {source} CROSS JOIN {TEMPLATE} AS tp"
        )
        event_overrides = {"message_id": message_id, "at": ms}
        event_columns = [c.name for c in t.message_events.c if c.name != "id"]
        events = (
            f"{prefix}INSERT INTO message_events ({', '.join(_q(c) for c in event_columns)})"
            " SELECT "
            + ", ".join(event_overrides.get(c, f"te.{_q(c)}") for c in event_columns)
            + f" FROM {source} CROSS JOIN {TEMPLATE_EVENT} AS te"
        )
        return [messages, events], start, base_ms, id_mid


def _q(name: str) -> str:
    return f'"{name}"'


# -- the phase's processes ---------------------------------------------------------------------


def _settings(db: BenchDb, wake_dir: str) -> dict[str, str]:
    return {"database_url": db.url, "allow_loopback_urls": "1", "wake_dir": wake_dir, **SANDBOX}


async def _start_serve(
    args: argparse.Namespace, work: Path, db: BenchDb, phase: str, wake_dir: str
) -> tuple[b.Server, dict[str, str]]:
    port = b.free_port()
    settings = {"run_workers": "0", **_settings(db, wake_dir)}
    serve = b.Server(
        f"serve-{phase}",
        [b.ZAPGATE, "serve", "--host", b.HOST, "--port", str(port)],
        env=b.clean_env(**settings),
        cwd=work,
        port=port,
    )
    await asyncio.to_thread(serve.start, 120)
    text = serve.output()
    found = {
        k: re.search(p, text, re.M)
        for k, p in (
            ("number_key", r"^Number key:\s+(\S+)"),
            ("tenant_key", r"^Tenant key:\s+(\S+)"),
            ("number_id", r"^Sandbox number:\s+(\S+)"),
        )
    }
    if not all(found.values()):
        serve.stop()
        raise RuntimeError("no demo banner in the serve output:\n" + text[-3000:])
    b.say(
        f"  zapgate serve: pid {serve.pid} on {serve.url}, workers off; "
        + " ".join(
            f"ZAPGATE_{k.upper()}={v}" for k, v in settings.items() if k not in ("database_url", "wake_dir")
        )
    )
    return serve, {k: m.group(1) for k, m in found.items() if m is not None}


async def _numbers_and_seeds(
    args: argparse.Namespace, serve: b.Server, demo: dict[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """The sandbox numbers (the demo's first) and one message per number through the API."""
    keys, number_ids, seeds = [demo["number_key"]], [demo["number_id"]], []
    async with httpx.AsyncClient(base_url=serve.url, timeout=60) as http:
        for i in range(1, args.numbers):
            r = await http.post(
                "/v1/numbers",
                headers={"x-api-key": demo["tenant_key"]},
                json={"name": f"million {i}", "number": f"+5511988{i:06d}", "provider": "sandbox"},
            )
            if r.status_code != 201:
                raise SystemExit(f"POST /v1/numbers answered {r.status_code}: {r.text[:300]}")
            body = r.json()
            keys.append(str(body["apiKey"]["key"]))
            number_ids.append(str(body["instance"]["id"]))
        for i, key in enumerate(keys):
            r = await http.post(
                "/v1/messages/send",
                headers={"x-api-key": key},
                json={"destinationNumber": _dest(SEED_DEST_BASE, i), "text": TEXT},
            )
            if r.status_code != 202:
                raise SystemExit(f"POST /v1/messages/send answered {r.status_code}: {r.text}")
            seeds.append(str(r.json()["id"]))
    if len({len(n) for n in number_ids}) != 1:
        raise SystemExit(f"number ids of different lengths: {number_ids[:3]}")
    return keys, number_ids, seeds


def _dest(base: int, i: int) -> str:
    return f"+55119{base + i:08d}"


async def _fill(
    args: argparse.Namespace, db: BenchDb, clones: Clones, seeds: list[str], backlog: int
) -> tuple[int, float]:
    """Clone the first seed until ``backlog`` messages are QUEUED; ANALYZE. Returns the QUEUED
    count and the seconds the fill took."""
    started = time.perf_counter()
    template = seeds[0]
    await db.write(
        [
            f"CREATE TABLE {TEMPLATE} AS SELECT * FROM messages WHERE id = {_lit(template)}",
            f"CREATE TABLE {TEMPLATE_EVENT} AS SELECT * FROM message_events WHERE message_id = "
            f"{_lit(template)} AND status = 'QUEUED' AND source = 'api'",
        ]
    )
    rows = (
        await db.scalar(f"SELECT count(*) FROM {TEMPLATE}"),
        await db.scalar(f"SELECT count(*) FROM {TEMPLATE_EVENT}"),
    )
    if rows != (1, 1):
        raise SystemExit(f"the template is not one message and one QUEUED event: {rows}")
    queued0 = int(await db.scalar("SELECT count(*) FROM messages WHERE status = 'QUEUED'"))
    want = max(0, backlog - queued0)
    now = int(time.time() * 1000)
    done, last_note = 0, time.perf_counter()
    first: tuple[int, int, int] | None = None
    while done < want:
        count = min(CHUNK[args.backend], want - done)
        # The oldest chunk first: created_at one millisecond apart, the last one 1 ms ago.
        statements, start, base_ms, mid = clones.statements(count, now - (want - done - count) - 1)
        first = first or (start, base_ms, mid)
        await db.write(statements)
        done += count
        if time.perf_counter() - last_note > 10:
            last_note = time.perf_counter()
            b.say(f"    {done:,} of {want:,} clones ({done / (last_note - started):,.0f}/s)")
    if first is not None:
        expected = "msg_" + _py_ulid(first[1], first[2], first[0])
        found = await db.scalar(f"SELECT count(*) FROM messages WHERE id = {_lit(expected)}")
        if found != 1:
            raise SystemExit(f"the clone id check failed: {expected} not found")
    fill_s = time.perf_counter() - started
    if not args.no_analyze and db.pg:
        await db.scalar("ANALYZE")
    elif not args.no_analyze:
        await db.write(["ANALYZE"])
    queued = int(await db.scalar("SELECT count(*) FROM messages WHERE status = 'QUEUED'"))
    b.say(
        f"  backlog: {queued:,} QUEUED ({queued0} through the API, {want:,} clones in "
        f"{fill_s:.1f} s{'' if args.no_analyze else '; ANALYZE done'}; "
        f"{time.perf_counter() - started - fill_s:.1f} s)"
    )
    return queued, fill_s


async def _restore(args: argparse.Namespace, db: BenchDb, clones: Clones, backlog: int) -> None:
    """After the window (workers stopped): the backlog back to its size for the plans, as it
    was at the start (the last seconds drained it a little), then VACUUM ANALYZE on PostgreSQL
    (what autovacuum does sooner or later: the plans then see the live rows, not the dead
    index entries the window's updates left) and ANALYZE on SQLite (--no-analyze: neither)."""
    queued = int(await db.scalar("SELECT count(*) FROM messages WHERE status = 'QUEUED'"))
    missing = max(0, backlog - queued)
    while missing > 0:
        count = min(CHUNK[args.backend], missing)
        statements, *_ = clones.statements(count, int(time.time() * 1000))
        await db.write(statements)
        missing -= count
    if not args.no_analyze and db.pg:
        await db.scalar("VACUUM ANALYZE")
    elif not args.no_analyze:
        await db.write(["ANALYZE"])
    done = "" if args.no_analyze else ", VACUUM ANALYZE" if db.pg else ", ANALYZE"
    b.say(
        f"  backlog {queued:,} -> {max(queued, backlog):,} QUEUED{done}; capturing the periodic queries ..."
    )


def _start_workers(
    args: argparse.Namespace, work: Path, db: BenchDb, phase: str, wake_dir: str
) -> list[Worker]:
    roles = loops_for(2) if args.worker_loops == "split" else [""] * args.workers
    workers = []
    for i, loops in enumerate(roles):
        extra = {"worker_loops": loops} if loops else {}
        worker = Worker(
            f"worker-{phase}-{i}",
            [b.ZAPGATE, "worker"],
            env=b.clean_env(**_settings(db, wake_dir), **extra),
            cwd=work,
            port=0,
        ).start()
        if args.worker_nice:
            psutil.Process(worker.pid).nice(args.worker_nice)
        workers.append(worker)
    b.say(
        "  workers: "
        + ", ".join(f"pid {w.pid} ({w.env.get('ZAPGATE_WORKER_LOOPS') or 'every loop'})" for w in workers)
        + f", nice {args.worker_nice}"
    )
    return workers


# -- the window --------------------------------------------------------------------------------


class Sender:
    """POST /v1/messages/send at a fixed rate (open loop) over keep-alive connections, round-robin
    over the numbers, each to a destination of its own."""

    def __init__(self, serve: b.Server, keys: list[str], rate: float) -> None:
        self.rate = rate
        self.heads = [
            f"POST /v1/messages/send HTTP/1.1\r\nhost: {b.HOST}:{serve.port}\r\n"
            f"x-api-key: {key}\r\ncontent-type: application/json\r\n"
            for key in keys
        ]
        self.pool: asyncio.LifoQueue[Connection] = asyncio.LifoQueue()
        for _ in range(16):
            self.pool.put_nowait(Connection(b.HOST, serve.port))
        self.accepted = 0
        self.results: list[tuple[float, float, int]] = []  # scheduled start (epoch), latency, status
        self.errors: Counter[str] = Counter()

    async def run(self, until: float) -> None:
        if self.rate <= 0:
            return
        interval, begin_perf, begin_wall = 1 / self.rate, time.perf_counter(), time.time()
        tasks: set[asyncio.Task[None]] = set()
        i = 0
        while begin_wall + i * interval < until:
            start = begin_perf + i * interval
            delay = start - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._one(i, start, begin_wall + i * interval))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if tasks:
            await asyncio.gather(*tasks)
        while not self.pool.empty():
            self.pool.get_nowait().close()

    async def _one(self, i: int, start: float, scheduled: float) -> None:
        body = orjson.dumps({"destinationNumber": _dest(SEND_DEST_BASE, i), "text": f"{TEXT} ({i})"})
        conn = await self.pool.get()
        try:
            status, content = await conn.post(self.heads[i % len(self.heads)], body)
        except Exception as exc:
            self.errors[type(exc).__name__] += 1
            status = 0
        finally:
            self.pool.put_nowait(conn)
        self.results.append((scheduled, time.perf_counter() - start, status))
        if status == 202:
            self.accepted += 1
        elif status:
            self.errors[f"HTTP {status}: {content[:80].decode(errors='replace')}"] += 1


@dataclass
class Sample:
    at: float  # epoch seconds of the max-id read
    max_id: int
    xmax: int  # PostgreSQL: transactions below this were running or done at that moment
    left: int | None = None  # messages that left QUEUED with an event id <= max_id (filled later)


class Monitor:
    """Counts messages leaving QUEUED and keeps the backlog steady with clones."""

    def __init__(self, db: BenchDb, clones: Clones, sender: Sender, topup: bool, backlog: int) -> None:
        self.db, self.clones, self.sender, self.topup = db, clones, sender, topup
        self.backlog = backlog
        self.backlog_seen: list[tuple[float, int]] = []  # estimated QUEUED before each top-up
        self.samples: list[Sample] = []
        self.counted_to = 0
        self.left = 0
        self.left_now = 0  # provisional: up to the latest id, open transactions aside
        self.topped = 0
        self.topup_s = 0.0

    async def start(self) -> None:
        self.counted_to, _xmax, _xmin = await self.db.horizon()
        self.samples.append(Sample(time.time(), self.counted_to, 0, 0))

    async def poll(self) -> None:
        top, xmax, xmin = await self.db.horizon()
        self.samples.append(Sample(time.time(), top, xmax))
        await self._count_settled(xmin)
        self.left_now = self.left + await self._departures(self.counted_to, top)
        self.backlog_seen.append(
            (time.time(), self.backlog + self.sender.accepted + self.topped - self.left_now)
        )
        if self.topup:
            need = min(TOPUP_MAX, self.left_now - self.sender.accepted - self.topped)
            if need > 0:
                started = time.perf_counter()
                statements, *_ = self.clones.statements(need, int(time.time() * 1000))
                await self.db.write(statements)
                self.topped += need
                self.topup_s += time.perf_counter() - started

    async def _count_settled(self, xmin: int) -> None:
        """Count up to every sample whose ids are all committed (in order)."""
        for sample in self.samples:
            if sample.left is not None:
                continue
            if sample.xmax > xmin:
                return
            if sample.max_id > self.counted_to:
                self.left += await self._departures(self.counted_to, sample.max_id)
                self.counted_to = sample.max_id
            sample.left = self.left

    async def _departures(self, after: int, upto: int) -> int:
        """Messages that left QUEUED (a dispatcher or sweeper timeline row) in that id range."""
        if upto <= after:
            return 0
        return int(
            await self.db.scalar(
                f"SELECT count(*) FROM message_events WHERE id > {after} AND id <= {upto} AND "
                f"source IN ('dispatcher', 'sweeper') AND status <> 'QUEUED' AND applied"
            )
        )

    async def finish(self) -> None:
        deadline = time.time() + 60
        while any(s.left is None for s in self.samples) and time.time() < deadline:
            _top, _xmax, xmin = await self.db.horizon()
            await self._count_settled(xmin)
            if any(s.left is None for s in self.samples):
                await asyncio.sleep(0.2)
        if any(s.left is None for s in self.samples):
            raise RuntimeError("transactions still open after 60 s: the counts are incomplete")

    def at(self, when: float) -> Sample:
        """The first counted sample at or after ``when`` (else the last)."""
        counted = [s for s in self.samples if s.left is not None]
        return next((s for s in counted if s.at >= when), counted[-1])


def _stop(procs: list[Worker]) -> float:
    """SIGINT to every worker at once, then wait for each; the seconds it took."""
    started = time.perf_counter()
    for proc in procs:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.proc.send_signal(signal.SIGINT)
    for proc in procs:
        proc.stop()  # waits (SIGKILL after 20 s)
    return time.perf_counter() - started


class RssSampler:
    """The workers' RSS (children included) once a second, in a thread."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.time(), sum(w.rss_bytes() for w in self.workers)))
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]


# -- auto_explain (PostgreSQL) -----------------------------------------------------------------


class AutoExplain:
    """auto_explain for the bench database only, read back from the server's log."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.ms = args.auto_explain_ms if args.backend == "postgres" else 0
        self.path: Path | None = Path(args.pg_log) if args.pg_log else None
        self.note = ""

    async def configure(self, db: BenchDb) -> None:
        if not self.ms:
            return
        if self.path is None:
            self.path = await _pg_log_path(db.admin_dsn)
        if self.path is None or not os.access(self.path, os.R_OK):
            self.note = (
                f"auto_explain: off (the server's log {self.path or '(unknown)'} cannot "
                f"be read here; --pg-log PATH)"
            )
            self.ms = 0
            return
        await _pg_admin(
            db.admin_dsn, f"ALTER DATABASE {db.name} SET session_preload_libraries = 'auto_explain'"
        )
        await _pg_admin(
            db.admin_dsn, f"ALTER DATABASE {db.name} SET auto_explain.log_min_duration = '{self.ms:g}ms'"
        )
        self.note = (
            f"auto_explain: plans of statements slower than {self.ms:g} ms on "
            f"{db.name} (session_preload_libraries of that database; EXPLAIN without "
            f"ANALYZE, so no overhead below the threshold), read from {self.path}"
        )

    def offset(self) -> int:
        return self.path.stat().st_size if self.ms and self.path is not None else 0

    def read(self, start: int, end: int, dbname: str, exclude: set[int]) -> list[str]:
        if not self.ms or self.path is None:
            return []
        with self.path.open("rb") as f:
            f.seek(start)
            text = f.read(max(0, end - start)).decode(errors="replace")
        entries: list[tuple[float, list[str]]] = []
        current: list[str] | None = None
        header = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] \S*@(\S+) LOG:  duration: ([\d.]+) ms  plan:")
        for line in text.splitlines():
            m = header.match(line)
            if m:
                current = None
                if m.group(2) == dbname and int(m.group(1)) not in exclude:
                    current = []
                    entries.append((float(m.group(3)), current))
            elif line.startswith("\t") and current is not None:
                current.append(line[1:])
            else:
                current = None
        groups: dict[str, list[tuple[float, list[str]]]] = {}
        for ms, lines in entries:
            query = " ".join(" ".join(lines[:1]).split()).removeprefix("Query Text: ")
            groups.setdefault(re.sub(r"\$\d+|\d+", "N", query)[:160], []).append((ms, lines))
        out = []
        for key, items in sorted(groups.items(), key=lambda kv: -sum(x[0] for x in kv[1])):
            durations = [ms for ms, _ in items]
            out.append(
                f"  {len(items)} x, median {b.percentile(durations, 50):.1f} ms, max "
                f"{max(durations):.1f} ms, total {sum(durations) / 1000:.2f} s: {key}"
            )
            slowest = max(items, key=lambda x: x[0])[1]
            out += ["      " + line for line in slowest[1:40]]
        return out


async def _pg_log_path(dsn: str) -> Path | None:
    import asyncpg

    conn = await asyncpg.connect(dsn, server_settings={"application_name": APP})
    try:
        current = await conn.fetchval("SELECT pg_current_logfile()")
        if current:
            data = await conn.fetchval("SHOW data_directory")
            return Path(current) if os.path.isabs(current) else Path(data) / current
        cluster = await conn.fetchval("SHOW cluster_name")
    finally:
        await conn.close()
    if cluster:
        return Path(f"/var/log/postgresql/postgresql-{cluster.replace('/', '-')}.log")
    return None


# -- periodic queries: capture and measure -----------------------------------------------------


@dataclass
class Statement:
    label: str
    sql: str
    params: Any
    plan: list[str] = field(default_factory=list)
    examined: dict[str, float] = field(default_factory=dict)  # PostgreSQL: rows per table
    blocks: dict[str, int] = field(default_factory=dict)  # PostgreSQL: shared blocks per table
    vm_steps: int | None = None  # SQLite: VM instructions (progress handler, 100 at a time)
    tables: set[str] = field(default_factory=set)  # SQLite: the tables its plan reads
    timed_ms: list[float] = field(default_factory=list)
    rows: int | None = None
    explain_ms: float | None = None
    shared_blocks: int | None = None
    flags: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.label, re.sub(r"\((?:\?, )*\?\)", "(?...)", self.sql)

    def batch(self) -> int:
        """What the statement's work may grow with: the rows it returns; for a write, also the
        values it is given (the ids of an IN list or array)."""
        values = sum(len(p) if isinstance(p, list | tuple) else 1 for p in (self.params or ()))
        write = self.sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        return max(self.rows or 0, values if write else 0, 1)

    def metrics(self) -> dict[str, tuple[float, set[str]]]:
        """Work measures, each with the tables it is spent on: PostgreSQL rows examined and
        shared blocks, on messages / message_events and on the other tables; SQLite VM
        steps (not attributable: the tables its plan reads)."""
        ms = b.percentile(self.timed_ms, 50) if self.timed_ms else 0.0
        if self.vm_steps is not None:
            return {"VM steps": (float(self.vm_steps), self.tables), "ms": (ms, self.tables)}
        out: dict[str, tuple[float, set[str]]] = {}
        for name, values in (("rows examined", self.examined), ("blocks", self.blocks)):
            for main in (True, False):
                part = {k: v for k, v in values.items() if (k in MAIN_TABLES) == main}
                if part:
                    key = f"{name} ({'messages/events' if main else 'other tables'})"
                    out[key] = (float(sum(part.values())), set(part))
        out["ms"] = (ms, set(self.examined) | set(self.blocks))
        return out

    def cost_text(self) -> str:
        if self.error:
            return f"failed: {self.error}"
        ms = f"{b.percentile(self.timed_ms, 50):.2f} ms" if self.timed_ms else "n/a"
        if self.vm_steps is not None:
            return f"{ms}, {self.vm_steps:,} VM steps, {self.rows} rows"
        rows = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(self.examined.items())) or "none"
        blocks = ", ".join(f"{k} {v:,}" for k, v in sorted(self.blocks.items()) if v) or "none"
        return f"{ms}; rows examined: {rows}; blocks: {blocks}; {self.rows} rows out"


def _periodic(
    container: Container, number_ids: list[str], label: list[str], claim_number: str, claim_limit: int
) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """Every periodic query of the workers, as the label and the real call that runs it
    (``label[0]`` is what the capture files statements under; empty: not captured)."""
    c = container
    keeper, dispatcher, inbox = LeaseKeeper(c), Dispatcher(c), Inbox(c)
    sender, sweeper = WebhookSender(c), Sweeper(c)
    now = c.clock.now_ms()
    state: dict[str, Any] = {}
    grace = int(c.settings.relay_only_delivered_grace_seconds * 1000)
    policies = [
        redaction.Policy("RELAY_ONLY", None, tuple(number_ids)),
        redaction.Policy("STORE_X_DAYS", 30, tuple(number_ids)),
    ]

    async def claim() -> None:
        name, label[0] = label[0], ""  # the number's row: Dispatcher._numbers, captured above
        numbers = await dispatcher._numbers(set(number_ids))
        label[0] = name
        number = next(n for n in numbers if n.id == claim_number)
        state["claimed"] = await dispatcher._claim(number, claim_limit, set())
        state["number"] = number

    async def outcomes() -> None:
        number = state["number"]
        if not state.get("claimed"):
            raise RuntimeError("Dispatcher._claim claimed nothing: no provider answers to record")
        batch = [
            _Outcome(
                m.id,
                status_changes.Change(Status.SENT, "dispatcher", provider_message_id=f"sbx_{m.id}"),
                number.id,
                number.provider,
                SendResult(
                    f"sbx_{m.id}", (ScheduledReceipt("DELIVERED", 0.05), ScheduledReceipt("READ", 0.1))
                ),
            )
            for m in state.get("claimed", [])[:100]
        ]
        if batch:
            async with c.db.write() as conn:
                await dispatcher._write_outcomes(conn, batch)

    async def redact(policy: redaction.Policy) -> None:
        async with c.db.write() as conn:
            await redaction.redact_messages(
                conn, [policy], now_ms=now, grace_ms=grace, limit=sweeper_module.BATCH
            )
        async with c.db.write() as conn:
            await redaction.redact_inbound(conn, [policy], now_ms=now, limit=sweeper_module.BATCH)

    async def webhook_backlog() -> None:
        async with c.db.read() as conn:
            await webhook_queue.backlog(conn, sweeper_module.GAUGE_CAP)

    return [
        ("LeaseKeeper.refresh (every number_lease_seconds / 3)", lambda: keeper.refresh(force=True)),
        ("Dispatcher._numbers (every dispatcher tick)", lambda: dispatcher._numbers(set(number_ids))),
        (
            f"Dispatcher._claim: message_store.held_contacts, .due, .claim (every tick, per number;"
            f" limit {claim_limit}, the same at both backlogs)",
            claim,
        ),
        (
            f"Dispatcher._write_outcomes: message_store.lock, status_changes.apply_many, provider_events "
            f"(each group commit of provider answers; {min(claim_limit, 100)} SENT)",
            outcomes,
        ),
        ("Inbox.tick (receipts, every wake-up or poll)", inbox.tick),
        ("WebhookSender._claim (every wake-up or poll)", lambda: sender._claim(now, 100)),
        ("WebhookSender._schedule_next_due (when idle)", lambda: sender._schedule_next_due(now)),
        ("webhook_queue.backlog (Sweeper._gauges)", webhook_backlog),
        ("Sweeper._expire (every sweep_interval_seconds)", lambda: sweeper._expire(now)),
        ("Sweeper._approve_sandbox_templates (every sweep)", lambda: sweeper._approve_sandbox_templates(now)),
        ("Sweeper._purge_idempotency (every sweep)", lambda: sweeper._purge_idempotency(now)),
        (
            "Sweeper._redact (every sweep; no PII mode set here: the policy lookup)",
            lambda: sweeper._redact(now),
        ),
        (
            "Sweeper._redact with every number RELAY_ONLY (redaction.redact_messages / redact_inbound)",
            lambda: redact(policies[0]),
        ),
        ("Sweeper._redact with every number STORE_X_DAYS 30", lambda: redact(policies[1])),
        ("Sweeper._purge_old (retention, every sweep)", lambda: sweeper._purge_old(now)),
        ("Sweeper._gauges (every sweep)", lambda: sweeper._gauges(now)),
        ("(closing the loops: not measured)", _closer(dispatcher, inbox, sender)),
    ]


def _closer(dispatcher: Dispatcher, inbox: Inbox, sender: WebhookSender) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        await inbox.close()
        await sender.close()
        await dispatcher._outcomes.close()

    return close


async def capture_statements(
    bench_db: BenchDb, number_ids: list[str], worker_id: str, claim_number: str, claim_limit: int
) -> list[Statement]:
    """Run every periodic query's real code once against the bench database (workers stopped),
    every write transaction rolled back, recording each statement as the driver gets it. The
    caller leases the number the claim is captured on to ``worker_id``, as a claim needs."""
    settings = Settings(
        _env_file=None,
        database_url=bench_db.url,  # type: ignore[call-arg]
        log_level="WARNING",
        log_json=False,
        demo=False,
        run_workers=False,
        wake_notify=False,
        **SANDBOX,
    )
    container = build_container(settings)
    container.worker_id = worker_id
    await container.start()
    db = container.db
    async with db.engine.connect() as conn:  # the dialect's first-connect queries, not ours
        await conn.execute(sa.text("SELECT 1"))

    @contextlib.asynccontextmanager
    async def rolled_back_write(*, priority: bool = False) -> AsyncIterator[Any]:
        engine = db._writer if db.is_sqlite else db.engine  # SQLite: BEGIN IMMEDIATE
        async with engine.connect() as conn:
            await conn.begin()
            try:
                yield conn
            finally:
                await conn.rollback()

    db.write = rolled_back_write  # type: ignore[method-assign]
    captured: list[Statement] = []
    label = [""]

    def hook(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
    ) -> None:
        first = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if first not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH") or not label[0]:
            return
        # executemany: one row's parameters; an "insertmanyvalues" batch (one multi-row INSERT)
        # comes flat, as it is executed.
        nested = bool(parameters) and isinstance(parameters[0], list | tuple | dict)
        params = parameters[0] if executemany and nested else parameters
        captured.append(Statement(label[0], statement, params))

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", hook)
    try:
        for name, call in _periodic(container, number_ids, label, claim_number, claim_limit):
            label[0] = "" if name.startswith("(") else name
            try:
                await call()
            except Exception as exc:
                captured.append(Statement(name, "", None, error=f"{type(exc).__name__}: {exc}"))
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", hook)
        await container.close()
    unique: dict[tuple[str, str], Statement] = {}
    for s in captured:
        unique.setdefault(s.key if s.sql else (s.label, s.error or ""), s)
    return list(unique.values())


async def measure_statements(db: BenchDb, statements: list[Statement], *, plans: bool) -> None:
    for s in statements:
        if s.error or not s.sql:
            continue
        try:
            if db.pg:
                await _measure_pg(db, s, plans=plans)
            else:
                await asyncio.to_thread(_measure_sqlite, db, s)
        except Exception as exc:
            s.error = f"{type(exc).__name__}: {str(exc)[:300]}"


async def _measure_pg(db: BenchDb, s: Statement, *, plans: bool) -> None:
    conn = db._pg
    params = list(s.params or ())

    async def rolled_back(call: Callable[[], Awaitable[Any]]) -> Any:
        tr = conn.transaction()
        await tr.start()
        try:
            return await call()
        finally:
            await tr.rollback()

    for _ in range(TIMED_RUNS):
        started = time.perf_counter()
        result = await rolled_back(lambda: conn.fetch(s.sql, *params))
        s.timed_ms.append((time.perf_counter() - started) * 1000)
        s.rows = len(result)
    raw = await rolled_back(
        lambda: conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + s.sql, *params)
    )
    tree = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    s.explain_ms = float(tree.get("Execution Time", 0.0))
    top = tree["Plan"]
    s.shared_blocks = int(top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0))
    _walk_pg(top, s, under_limit=False)
    if plans:
        rows = await rolled_back(lambda: conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + s.sql, *params))
        s.plan = [str(r[0]) for r in rows]


def _walk_pg(node: dict[str, Any], s: Statement, *, under_limit: bool) -> None:
    """Rows examined per table (actual rows + rows removed by filter or recheck, times loops)
    and the node's own shared blocks (its count minus its children's) per table: an index's
    blocks go to its table (the schema names indexes ix_<table>_... / pk_<table> / uq_...)."""
    kind = node.get("Node Type", "")
    relation = node.get("Relation Name") or _table_of_index(node.get("Index Name"))
    children = node.get("Plans", []) or []

    def blocks(n: dict[str, Any]) -> int:
        return int(n.get("Shared Hit Blocks", 0) + n.get("Shared Read Blocks", 0))

    own = blocks(node) - sum(blocks(c) for c in children)
    if relation:
        s.blocks[relation] = s.blocks.get(relation, 0) + max(0, own)
    if node.get("Relation Name") and kind != "ModifyTable":
        loops = float(node.get("Actual Loops", 1) or 0)
        seen = (
            float(node.get("Actual Rows", 0))
            + float(node.get("Rows Removed by Filter", 0))
            + float(node.get("Rows Removed by Index Recheck", 0))
        ) * loops
        s.examined[relation] = s.examined.get(relation, 0.0) + seen
        if kind == "Seq Scan" and relation in MAIN_TABLES and not under_limit:
            s.flags.append(f"Seq Scan on {relation} without a LIMIT above it")
    for child in children:
        _walk_pg(child, s, under_limit=under_limit or kind == "Limit")


def _table_of_index(index: str | None) -> str | None:
    if not index:
        return None
    name = re.sub(r"^(ix|pk|uq)_", "", index)
    tables = sorted(t.metadata.tables, key=len, reverse=True)
    return next((table for table in tables if name == table or name.startswith(table + "_")), None)


def _measure_sqlite(db: BenchDb, s: Statement) -> None:
    assert db.path is not None
    conn = sqlite3.connect(str(db.path), isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        params = tuple(s.params or ())
        plan = conn.execute("EXPLAIN QUERY PLAN " + s.sql, params).fetchall()
        depth: dict[int, int] = {}
        for node, parent, _unused, detail in plan:
            depth[node] = depth.get(parent, -1) + 1
            s.plan.append("  " * depth[node] + str(detail))
            named = re.match(r"(?:SCAN|SEARCH) (\w+)", str(detail))
            if named:
                s.tables.add(named.group(1))
            full = re.match(r"SCAN (\w+)", str(detail))
            if full and full.group(1) in MAIN_TABLES and " LIMIT " not in f" {s.sql.upper()} ":
                s.flags.append(f"{detail} without a LIMIT")
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        for _ in range(TIMED_RUNS):
            steps[0] = 0
            conn.execute("BEGIN")
            conn.set_progress_handler(count, 100)
            started = time.perf_counter()
            try:
                cursor = conn.execute(s.sql, params)
                s.rows = len(cursor.fetchall())
            finally:
                s.timed_ms.append((time.perf_counter() - started) * 1000)
                conn.set_progress_handler(None, 0)
                conn.execute("ROLLBACK")
            s.vm_steps = steps[0] * 100
    finally:
        conn.close()


# -- one phase ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    backlog_target: int
    queued_at_start: int = 0
    fill_s: float = 0.0
    window_s: float = 0.0
    left: int = 0
    rate: float = 0.0
    rates: list[float] = field(default_factory=list)  # per 5 s of the window
    rss_start: int = 0  # first sample after the workers started
    rss_window: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    send_errors: Counter[str] = field(default_factory=Counter)
    worker_cpu_s: float = 0.0
    backlog_range: tuple[int, int] = (0, 0)
    topped: int = 0
    topup_s: float = 0.0
    stop_s: float = 0.0
    receipts_waiting: int = 0  # provider events not applied yet when the workers stopped
    statements: list[Statement] = field(default_factory=list)
    statements_nostats: list[Statement] = field(default_factory=list)  # SQLite, no sqlite_stat1
    auto_explain: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def run_phase(
    args: argparse.Namespace, work: Path, name: str, backlog: int, explain: AutoExplain, *, plans: bool
) -> Phase:
    phase = Phase(name, backlog)
    b.say(f"\n== {name}: {backlog:,} QUEUED over {args.numbers} numbers ==")
    db = BenchDb(args, work, name)
    await db.create()
    procs: list[b.Server] = []
    try:
        await explain.configure(db)
        wake_dir = tempfile.mkdtemp(prefix=f"wake-{name}-", dir=work)
        serve, demo = await _start_serve(args, work, db, name, wake_dir)
        procs.append(serve)
        keys, number_ids, seeds = await _numbers_and_seeds(args, serve, demo)
        await db.open()
        seed_dest = _dest(SEED_DEST_BASE, 0)
        clones = Clones(args.backend, number_ids, seed_dest)
        phase.queued_at_start, phase.fill_s = await _fill(args, db, clones, seeds, backlog)
        workers = _start_workers(args, work, db, name, wake_dir)
        procs.extend(workers)
        await _window(args, phase, db, serve, workers, keys, clones, explain)
        for worker in workers:
            phase.errors += [f"{worker.name}: {line}" for line in worker.error_summary()]
        phase.errors += [f"{serve.name}: {line}" for line in serve.error_summary()]
        b.say(f"  workers stopped in {phase.stop_s:.1f} s")
        await _restore(args, db, clones, backlog)
        # The claim is captured on the number with the most QUEUED messages, leased to the
        # capturing "worker" (a committed row, as a worker's own lease is) until the
        # statements are measured; with a limit that the baseline's numbers can fill too, so
        # that both phases claim the same batch.
        me, lease_until = "w_bench_capture", int(time.time() * 1000) + 3_600_000
        claim_number = str(
            await db.scalar(
                "SELECT number_id FROM messages WHERE status = 'QUEUED' GROUP BY number_id "
                "ORDER BY count(*) DESC, number_id LIMIT 1"
            )
        )
        claim_limit = max(1, min(200, (args.baseline // args.numbers - 16) // 4))
        await db.write(
            [
                f"DELETE FROM number_leases WHERE number_id = {_lit(claim_number)}",
                f"INSERT INTO number_leases (number_id, owner, lease_until) VALUES "
                f"({_lit(claim_number)}, {_lit(me)}, {lease_until})",
            ]
        )
        phase.statements = await capture_statements(db, number_ids, me, claim_number, claim_limit)
        await measure_statements(db, phase.statements, plans=plans)
        if not db.pg and not args.no_analyze:
            # Zapgate never runs ANALYZE: a SQLite file in use has no sqlite_stat1, and its
            # planner may choose otherwise. The same statements again, without the statistics.
            phase.statements_nostats = [
                Statement(x.label, x.sql, x.params, error=x.error) for x in phase.statements
            ]
            stats = [
                r for (r,) in await db.fetch("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'")
            ]
            await db.write([f"DELETE FROM {name}" for name in stats])
            await measure_statements(db, phase.statements_nostats, plans=plans)
        await db.write([f"DELETE FROM number_leases WHERE owner = {_lit(me)}"])
    finally:
        for proc in reversed(procs):
            proc.stop()
        await db.drop()
    return phase


async def _window(
    args: argparse.Namespace,
    phase: Phase,
    db: BenchDb,
    serve: b.Server,
    workers: list[Worker],
    keys: list[str],
    clones: Clones,
    explain: AutoExplain,
) -> None:
    t0 = time.time()
    rss = RssSampler(workers)
    sender = Sender(serve, keys, args.accept_rate)
    monitor = Monitor(db, clones, sender, topup=not args.no_topup, backlog=phase.queued_at_start)
    await monitor.start()
    w_start, w_end = t0 + args.warmup, t0 + args.warmup + args.window
    send = asyncio.create_task(sender.run(w_end))
    cpu0: float | None = None
    log0 = explain.offset()
    next_note = t0 + 5
    try:
        now = t0
        while now < w_end:
            await asyncio.sleep(POLL)
            await monitor.poll()
            now = time.time()
            if cpu0 is None and now >= w_start:
                cpu0 = sum(w.cpu_seconds() for w in workers)
                log0 = explain.offset()
            counted = [s for s in monitor.samples if s.left is not None]
            if now >= next_note and now <= w_end:
                next_note += 5
                recent = [s for s in counted if s.at >= now - 6]
                rate = (
                    (recent[-1].left - recent[0].left) / max(recent[-1].at - recent[0].at, 1e-9)
                    if len(recent) > 1
                    else 0.0
                )  # type: ignore[operator]
                b.say(
                    f"    {now - t0:4.0f} s: {rate:7,.0f} left QUEUED/s, backlog ~"
                    f"{monitor.backlog_seen[-1][1]:,}, "
                    f"worker RSS {b.mib(rss.samples[-1][1]) if rss.samples else '?'}, "
                    f"{sender.accepted} accepted, {monitor.topped:,} topped up"
                )
            for w in workers:
                if w.proc is not None and w.proc.poll() is not None:
                    raise RuntimeError(f"{w.name} exited with {w.proc.returncode}")
        phase.worker_cpu_s = sum(w.cpu_seconds() for w in workers) - (cpu0 or 0.0)
        log1 = explain.offset()
        rss.stop()
        await send
        # Stopped at once, so that the backlog is still there for the plans.
        phase.stop_s = await asyncio.to_thread(_stop, workers)
        await monitor.finish()
    finally:
        rss.stop()
        if not send.done():
            send.cancel()
    a, z = monitor.at(w_start), monitor.at(w_end)
    phase.window_s = z.at - a.at
    phase.left = (z.left or 0) - (a.left or 0)
    phase.rate = phase.left / max(phase.window_s, 1e-9)
    marks = [monitor.at(w_start + k * 5) for k in range(int(args.window // 5) + 1)]
    phase.rates = [
        ((y.left or 0) - (x.left or 0)) / max(y.at - x.at, 1e-9)
        for x, y in itertools.pairwise(marks)
        if y.at > x.at
    ]
    phase.rss_start = rss.samples[0][1] if rss.samples else 0
    phase.rss_window = rss.between(w_start, w_end)
    window_sends = [r for r in sender.results if w_start <= r[0] <= w_end]
    phase.sent = len(window_sends)
    phase.latencies = [lat for _at, lat, status in window_sends if status == 202]
    phase.statuses = Counter(status for _at, _lat, status in window_sends)
    phase.send_errors = sender.errors
    seen = [n for at, n in monitor.backlog_seen if w_start <= at <= w_end]
    phase.backlog_range = (min(seen, default=0), max(seen, default=0))
    phase.receipts_waiting = int(
        await db.scalar("SELECT count(*) FROM provider_events WHERE processed_at IS NULL")
    )
    phase.topped, phase.topup_s = monitor.topped, monitor.topup_s
    if db.pg and db.name is not None:
        phase.auto_explain = explain.read(log0, log1, db.name, {db.pid or -1})
    if phase.left <= 0:
        phase.problems.append(f"{phase.name}: nothing left QUEUED in the window")
    bad = phase.sent - phase.statuses.get(202, 0)
    if bad:
        phase.problems.append(f"{phase.name}: {bad} sends not accepted ({dict(sender.errors)})")


# -- the report --------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.1f} ms"


def report(args: argparse.Namespace, base: Phase, big: Phase, explain: AutoExplain) -> int:
    ratio = big.rate / base.rate if base.rate else float("nan")
    verdict = "PASS" if ratio >= 0.9 else "FAIL"

    def rss_text(p: Phase) -> str:
        if not p.rss_window:
            return "n/a"
        return (
            f"{b.mib(p.rss_start)} -> {b.mib(p.rss_window[0])} -> peak "
            f"{b.mib(max(p.rss_window))} -> {b.mib(p.rss_window[-1])}"
        )

    def growth(p: Phase) -> int:
        return (p.rss_window[-1] - p.rss_window[0]) if p.rss_window else 0

    def p(x: Phase, q: float) -> float:
        return b.percentile(x.latencies, q)

    rows = [
        (
            "backlog (QUEUED at the start)",
            f"{base.queued_at_start:,}",
            f"{big.queued_at_start:,}",
            f"{big.queued_at_start / max(base.queued_at_start, 1):.0f}x",
        ),
        ("fill (clones, not measured)", f"{base.fill_s:.1f} s", f"{big.fill_s:.1f} s", ""),
        (
            "backlog during the window (estimated before each top-up, min - max)",
            f"{base.backlog_range[0]:,} - {base.backlog_range[1]:,}",
            f"{big.backlog_range[0]:,} - {big.backlog_range[1]:,}",
            "held by top-ups" if not args.no_topup else "draining (--no-topup)",
        ),
        (
            f"dispatch rate: left QUEUED / s over {args.window:g} s",
            f"**{base.rate:,.0f}/s** ({base.left:,} in {base.window_s:.1f} s)",
            f"**{big.rate:,.0f}/s** ({big.left:,} in {big.window_s:.1f} s)",
            f"**{ratio:.2f}** (>= 0.9: **{verdict}**)",
        ),
        (
            "dispatch rate per 5 s (min - max)",
            f"{min(base.rates, default=0):,.0f} - {max(base.rates, default=0):,.0f}",
            f"{min(big.rates, default=0):,.0f} - {max(big.rates, default=0):,.0f}",
            "",
        ),
        (
            "worker RSS: start -> window start -> peak -> end",
            rss_text(base),
            rss_text(big),
            f"end {(big.rss_window or [0])[-1] / max((base.rss_window or [1])[-1], 1):.2f}x",
        ),
        (
            "worker RSS growth over the window",
            f"{growth(base) / 2**20:+.1f} MiB",
            f"{growth(big) / 2**20:+.1f} MiB",
            "",
        ),
        (
            f"accept p50 / p99 ({args.accept_rate:g}/s open loop)",
            f"{_ms(p(base, 50))} / {_ms(p(base, 99))}",
            f"{_ms(p(big, 50))} / {_ms(p(big, 99))}",
            f"p99 {p(big, 99) / p(base, 99):.2f}x" if base.latencies and big.latencies else "",
        ),
        (
            "sends in the window (not 202)",
            f"{base.sent:,} ({base.sent - base.statuses[202]})",
            f"{big.sent:,} ({big.sent - big.statuses[202]})",
            "",
        ),
        (
            "worker CPU in the window",
            f"{base.worker_cpu_s:.1f} s ({base.worker_cpu_s / max(base.window_s, 1e-9):.0%} of a core)",
            f"{big.worker_cpu_s:.1f} s ({big.worker_cpu_s / max(big.window_s, 1e-9):.0%} of a core)",
            "",
        ),
        (
            "receipts not applied yet when the workers stopped (provider_events)",
            f"{base.receipts_waiting:,}",
            f"{big.receipts_waiting:,}",
            "the inbox's own backlog",
        ),
        (
            "top-ups by this process (clones, time writing)",
            f"{base.topped:,} in {base.topup_s:.1f} s",
            f"{big.topped:,} in {big.topup_s:.1f} s",
            "",
        ),
    ]
    b.say("\n| measure | baseline | big backlog | big / baseline |\n| --- | --- | --- | --- |")
    for row in rows:
        b.say("| " + " | ".join(row) + " |")

    unbounded, other = _query_table(base, big, base.statements, big.statements, "")
    found = [("", unbounded, other, base.statements)]
    if big.statements_nostats:
        title = (
            " on SQLite WITHOUT sqlite_stat1, as Zapgate runs it (it never runs ANALYZE; "
            "the table above had the statistics)"
        )
        nostats = _query_table(base, big, base.statements_nostats, big.statements_nostats, title)
        found.append((" (SQLite without sqlite_stat1)", *nostats, base.statements_nostats))
    _print_plans(big, big.statements, "")
    if big.statements_nostats:
        differ = [
            x
            for x, y in zip(big.statements_nostats, big.statements, strict=True)
            if x.plan != y.plan or x.flags
        ]
        _print_plans(
            big,
            differ,
            " WITHOUT sqlite_stat1 (as Zapgate runs it), where the plan "
            "differs from the one with the statistics or is flagged",
        )
    for phase in (base, big):
        if phase.auto_explain:
            b.say(
                f"\nauto_explain during the {phase.name} window (statements of serve and the "
                f"workers slower than {explain.ms:g} ms), by total time:"
            )
            for line in phase.auto_explain:
                b.say(line)
        elif explain.ms:
            b.say(
                f"\nauto_explain during the {phase.name} window: no statement slower than {explain.ms:g} ms"
            )
    if explain.note:
        b.say(explain.note)
    b.say("\nverdict:")
    b.say(
        f"  dispatch rate with {big.queued_at_start:,} queued / with {base.queued_at_start:,}: "
        f"{ratio:.2f} -> {verdict} (needs >= 0.9)"
    )
    b.say(
        f"  worker RSS over the window: baseline {growth(base) / 2**20:+.1f} MiB, big "
        f"{growth(big) / 2**20:+.1f} MiB"
    )
    if base.latencies and big.latencies:
        b.say(f"  accept p99: {_ms(p(base, 99))} -> {_ms(p(big, 99))}")
    for variant, grew, elsewhere, olds in found:
        before = {s.key: s for s in olds}
        for title, listed in (
            ("grows with the QUEUED backlog", grew),
            ("grows with something else than the QUEUED backlog", elsewhere),
        ):
            b.say(f"  periodic statements whose cost {title}{variant}: {len(listed)}")
            for s in listed:
                old = before.get(s.key)
                b.say(
                    f"    - {s.label}\n      {' '.join(s.sql.split())[:400]}\n"
                    f"      baseline: {old.cost_text() if old is not None else 'n/a'}\n"
                    f"      big:      {s.cost_text()}\n      " + "; ".join(s.flags)
                )
    for phase in (base, big):
        for line in phase.errors[:10]:
            b.say(f"  log ({phase.name}): {line}")
    b.say(f"after: {b.load_line()}")
    problems = base.problems + big.problems
    if problems:
        b.say("INVALID: " + "; ".join(problems))
        return 1
    return 0


def _query_table(
    base: Phase, big: Phase, olds: list[Statement], news: list[Statement], title: str
) -> tuple[list[Statement], list[Statement]]:
    """Each periodic statement at both backlogs; the ones that grew with the backlog, and the
    ones that grew with something else (another table's rows)."""
    factor = big.queued_at_start / max(base.queued_at_start, 1)
    before = {s.key: s for s in olds}
    grew: list[Statement] = []
    other: list[Statement] = []
    b.say(
        f"\nperiodic statements{title} (time: median of 3 runs, rolled back; cost: rows "
        "examined and blocks on PostgreSQL, VM steps on SQLite; growth per row out, or per "
        "value in for a write):"
    )
    b.say(
        "\n| function | statement | baseline | big backlog | growth | flag |\n"
        "| --- | --- | --- | --- | --- | --- |"
    )
    for s in news:
        old = before.get(s.key)
        growth = _growth(old, s, factor, big.queued_at_start) if old is not None else ""
        if any(
            (f.startswith("grew") and "not the QUEUED" not in f) or "without a LIMIT" in f for f in s.flags
        ):
            grew.append(s)
        elif s.flags:
            other.append(s)
        sql = " ".join(s.sql.split())[:90].replace("|", "\\|")
        b.say(
            f"| {s.label.split(' (')[0]} | `{sql}` | "
            f"{old.cost_text() if old is not None else 'n/a'} | {s.cost_text()} | {growth} | "
            f"{'; '.join(s.flags) or 'ok'} |"
        )
    return grew, other


def _growth(old: Statement, new: Statement, factor: float, backlog: int) -> str:
    """How each work measure grew from the baseline to the big backlog, per row the statement
    returned or (a write) per value it was given: a claim that finds 30 due messages at the
    baseline and 200 with the big backlog is still bounded by its batch. Flags a measure that
    grew by at least a quarter of the backlog's factor (and 2x) and is large against the
    backlog: rows examined >= 1/4 of it, blocks >= 1/100 of it, VM steps >= the backlog, or
    (the noisiest, used when nothing else flagged it) the median time >= 5 ms. On messages /
    message_events that is growing with the backlog; on another table, with that table (e.g.
    receipts not applied yet)."""
    threshold = max(2.0, factor / 4)
    floors = {"rows examined": 0.25 * backlog, "blocks": backlog / 100, "VM steps": backlog, "ms": 5.0}
    per_old, per_new = old.batch(), new.batch()
    before = old.metrics()
    parts = []
    for key, (value, tables) in new.metrics().items():
        was = before.get(key, (0.0, set()))[0]
        times = (value / per_new) / max(was / per_old, 1.0 / per_old)
        parts.append(
            f"{key.split(' (')[0]}{'' if '(' not in key else ' ' + key[key.index('(') :]} {times:.1f}x"
        )
        floor = next(v for k, v in floors.items() if key.startswith(k))
        if times >= threshold and value >= floor:
            on = ", ".join(sorted(tables)) or "?"
            main = bool(tables & set(MAIN_TABLES)) and "other tables" not in key
            if key == "ms" and any(f.startswith("grew") for f in new.flags):
                continue  # said already, by a steadier measure
            new.flags.append(
                f"grew {times:.1f}x per row for a {factor:.0f}x backlog ({key}: {on})"
                + ("" if main else " -- not the QUEUED backlog")
            )
    return ", ".join(parts)


def _print_plans(big: Phase, statements: list[Statement], title: str) -> None:
    b.say(f"\nplans with the big backlog ({big.queued_at_start:,} queued){title}:")
    label = None
    for s in statements:
        if s.label != label:
            label = s.label
            b.say(f"\n### {label}")
        if s.error and not s.sql:
            b.say(f"  capture failed: {s.error}")
            continue
        b.say(f"\n  SQL: {' '.join(s.sql.split())}")
        b.say(f"  parameters: {_short(s.params)}")
        b.say(
            f"  measured: {s.cost_text()}; {s.rows} rows returned"
            + (
                f"; EXPLAIN ANALYZE {s.explain_ms:.2f} ms, {s.shared_blocks:,} shared blocks"
                if s.explain_ms is not None
                else ""
            )
        )
        for line in s.plan:
            b.say(f"    {line}")
        for flag in s.flags:
            b.say(f"  **FLAG: {flag}**")


def _short(params: Any) -> str:
    text = repr(params)
    return text if len(text) <= 300 else text[:300] + " ..."


# -- main --------------------------------------------------------------------------------------


async def _bench(args: argparse.Namespace, work: Path) -> int:
    explain = AutoExplain(args)
    sandbox = ", ".join(f"{k}={v}" for k, v in SANDBOX.items())
    held = "draining (--no-topup)" if args.no_topup else "held steady by top-ups"
    b.say(
        f"setup: {args.backend}, {args.numbers} sandbox numbers ({sandbox}); workers: "
        f"{args.workers} x `zapgate worker` ({args.worker_loops} loops, nice "
        f"{args.worker_nice}); warm-up {args.warmup:g} s, window {args.window:g} s; accept "
        f"load {args.accept_rate:g}/s; backlog {held}"
    )
    base = await run_phase(args, work, "baseline", args.baseline, explain, plans=False)
    b.say(f"  baseline: {base.rate:,.0f} left QUEUED/s")
    big = await run_phase(args, work, "big", args.backlog, explain, plans=True)
    b.say(f"  big: {big.rate:,.0f} left QUEUED/s")
    return report(args, base, big, explain)


if __name__ == "__main__":
    sys.exit(main())
