"""Bulk end to end (issue 9): N messages, each with its 3 customer webhooks (message.sent,
.delivered, .read) to one loopback receiver, through the sandbox or the Meta adapter, on SQLite
(one ``zapgate serve`` at its defaults, workers on) or PostgreSQL (the production split:
``zapgate serve`` with ``ZAPGATE_RUN_WORKERS=0``, ``--api-processes`` HTTP processes, plus
``--pg-workers`` ``zapgate worker`` processes, two by default, sharing a wake folder with
``serve`` as processes on one machine can).

    .venv/bin/python bench/e2e_bulk.py [--backend sqlite|postgres] [--provider sandbox|meta]
                                       [--messages 10000] [--numbers 4] [--concurrency 32]
                                       [--rate R] [--kind template|text] [--client raw|httpx]
                                       [--timeout 900] [--pg-workers 2] [--api-processes 1]
                                       [--json FILE]

Everything runs on this machine, on loopback: the load generator (this process: keep-alive
connections, a minimal asyncio + httptools client by default), Zapgate, the Meta simulator
(``callbackConcurrency`` 16, ``batchStatuses``) and the webhook receiver (bench/webhook_sink.py
under uvicorn). ``--numbers`` numbers send round-robin, each message to its own destination; one
webhook endpoint per number (events "*") points at the receiver. Measured: accept rate and
latency (client side), msg/s from the first send to the last message.read webhook, accept ->
SENT, provider READ -> message.read webhook, webhooks/s, CPU per message of Zapgate (every
process), PostgreSQL, the simulator, the receiver and this process. Checks (exit 1 when one
fails): every message accepted and READ, and at the receiver exactly its message.sent,
.delivered and .read, in that order, no duplicates. ``--json FILE`` also writes the run's key
figures there (bench/scale_out.py reads them). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib as b
import httptools
import httpx
import orjson
import psutil

from zapgate.worker_process import loops_for

# Sandbox timings (seconds after the send) as in e2e_sandbox.py; pace and in-flight per number
# raised well above what 4 numbers need so the provider model is not what is measured.
SANDBOX = {
    "sandbox_send_latency": "0.2",
    "sandbox_delivered_after": "0.05",
    "sandbox_read_after": "0.1",
    "sandbox_pace_per_second": "1000",
    "sandbox_max_in_flight": "256",
    "sandbox_template_approval_seconds": "0.5",
}
META_APP_SECRET = "sim-app-secret"
META_TOKEN = "sim-meta-token"
META_SIM_MPS = 100_000  # the simulator's per-number throughput limit (default 80 msg/s)
PACE = 1000  # PATCH /v1/numbers/{id} pacePerSecond for Meta numbers: the API's maximum
GRAPH = "v23.0"
TEMPLATE_NAME = "bulk_campaign"
TEMPLATE: dict[str, Any] = {
    "name": TEMPLATE_NAME,
    "category": "UTILITY",
    "language": "pt_BR",
    "body": "Olá {{nome}}, seu pedido {{pedido}} saiu para entrega!",
    "examples": {"nome": "Ana", "pedido": "42"},
}
EXPECTED = ["message.sent", "message.delivered", "message.read"]
DEST_BASE = 50_000_000  # destinations +5511950000000..., clear of the sandbox's magic ones


def main() -> int:
    args = _args()
    b.say(f"command: {' '.join([b.rel(sys.executable), b.rel(sys.argv[0]), *sys.argv[1:]])}")
    b.say(f"machine: {b.machine_line()}")
    b.say(
        f"note: load generator, Zapgate, {'simulator, ' if args.provider == 'meta' else ''}"
        f"receiver{' and PostgreSQL' if args.backend == 'postgres' else ''} share these "
        f"{os.cpu_count()} cores; their CPU is printed apart"
    )
    with b.workspace("bulk") as work:
        db = Database(args, work)
        try:
            return Run(args, work, db).execute()
        finally:
            db.drop()


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--provider", choices=("sandbox", "meta"), default="sandbox")
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--numbers", type=int, default=4)
    p.add_argument(
        "--concurrency", type=int, default=32, help="concurrent sending clients (keep-alive connections)"
    )
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: start sends at this many per second (default: as fast as "
        "--concurrency clients get answers)",
    )
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="the sending client: raw (asyncio + httptools keep-alive connections, "
        "cheapest) or httpx (one AsyncClient, keep-alive pool)",
    )
    p.add_argument(
        "--kind",
        choices=("template", "text"),
        default="template",
        help="template (a bulk campaign; Meta: no 24 h window needed) or text (Meta: "
        "every destination writes in first)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds from the first send to wait for the last message.read webhook",
    )
    p.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL to create the bench database on (--backend postgres)",
    )
    p.add_argument(
        "--zapgate-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra Zapgate setting for every Zapgate process, e.g. "
        "worker_process=off (repeatable; the caller's ZAPGATE_* are ignored)",
    )
    p.add_argument(
        "--pg-workers", type=int, default=2, help="--backend postgres: how many `zapgate worker` processes"
    )
    p.add_argument(
        "--api-processes",
        type=int,
        default=1,
        help="--backend postgres: HTTP processes of `zapgate serve` (its --workers; "
        "ZAPGATE_RUN_WORKERS=0 still, so none of them runs a worker loop)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the run's key figures to FILE as JSON (rates, latencies, "
        "CPU per message per process kind, simulator sends, checks); with "
        "PostgreSQL it also samples pg_stat_activity's wait events twice a "
        "second during the run",
    )
    p.add_argument(
        "--pg-split-loops",
        action="store_true",
        help="--backend postgres: the worker processes split the loops as serve's "
        "two do (ZAPGATE_WORKER_LOOPS)",
    )
    p.add_argument(
        "--pg-worker-nice",
        type=int,
        default=0,
        help="--backend postgres: renice the worker processes by this much",
    )
    p.add_argument(
        "--no-wake-dir",
        action="store_true",
        help="--backend postgres: the processes share no wake folder (the workers "
        "poll, as on separate machines)",
    )
    p.add_argument(
        "--callback-concurrency",
        type=int,
        default=16,
        help="Meta simulator: callbacks in flight at once (callbackConcurrency)",
    )
    p.add_argument(
        "--status-delay-ms",
        type=int,
        default=20,
        help="Meta simulator: statusDelayMs (sent, delivered, read this far apart)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record every Zapgate process with py-spy (--gil, raw stacks) from the "
        "first send, one file per process in DIR",
    )
    p.add_argument("--profile-seconds", type=int, default=20)
    args = p.parse_args()
    if args.messages < 1 or args.numbers < 1 or args.concurrency < 1:
        p.error("--messages, --numbers and --concurrency must be at least 1")
    if args.numbers > 99:
        p.error("--numbers: at most 99")
    if args.api_processes < 1 or (args.api_processes > 1 and args.backend != "postgres"):
        p.error("--api-processes: at least 1, and more than 1 only with --backend postgres")
    return args


# -- the database ----------------------------------------------------------------------------


class Database:
    """A SQLite file in the work folder, or a fresh PostgreSQL database (dropped at the end;
    ``BENCH_KEEP=1`` keeps it)."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.backend = args.backend
        self.admin_dsn = args.pg_dsn
        self.name: str | None = None
        if self.backend == "sqlite":
            self.url = f"sqlite+aiosqlite:///{work}/zapgate.db"
            return
        self.name = f"zapgate_bench_{os.getpid()}"
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")
        base = self.admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        self.url = f"{base}/{self.name}"
        b.say(f"database: PostgreSQL {self.name} (created on {self.admin_dsn})")

    def _admin(self, sql: str) -> None:
        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(self.admin_dsn)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())

    async def backend_cpu(self) -> dict[int, float] | None:
        """CPU seconds of the server backends connected to the bench database, by pid."""
        if self.name is None:
            return None
        import asyncpg

        conn = await asyncpg.connect(self.admin_dsn)
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.name)
        finally:
            await conn.close()
        out: dict[int, float] = {}
        for pid in (int(r["pid"]) for r in rows):
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                out[pid] = times.user + times.system
        return out

    def drop(self) -> None:
        if self.name is None:
            return
        if os.environ.get("BENCH_KEEP"):
            b.say(f"(kept PostgreSQL database {self.name})")
            return
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        b.say(f"dropped PostgreSQL database {self.name}")


def postgres_cpu() -> dict[int, float] | None:
    """CPU seconds of every PostgreSQL server process on this machine (backends, WAL writer,
    checkpointer, autovacuum), by pid; None when they cannot be read. By pid, so that a
    backend of another database that exits during the run is left out of the difference
    rather than subtracted from it (on a machine shared with tests, the sum alone went
    negative)."""
    out: dict[int, float] = {}
    for proc in psutil.process_iter(["name"]):
        if not str(proc.info.get("name") or "").startswith("postgres"):
            continue
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            out[proc.pid] = times.user + times.system
    return out or None


def process_cpu(pid: int) -> tuple[float, float | None]:
    """CPU seconds of a process and of its descendants (None: it has none)."""
    proc = psutil.Process(pid)
    own = proc.cpu_times()
    kids = proc.children(recursive=True)
    total = 0.0
    for kid in kids:
        with contextlib.suppress(psutil.Error):
            times = kid.cpu_times()
            total += times.user + times.system
    return own.user + own.system, (total if kids else None)


def serve_runs_workers(proc: b.Server) -> bool:
    return proc.env.get("ZAPGATE_RUN_WORKERS", "1") != "0"


def self_cpu() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


# -- processes -------------------------------------------------------------------------------


class Worker(b.Server):
    """``zapgate worker``: no port to poll, so started is alive after a second."""

    def start(self, timeout: float = 60) -> Worker:
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=self.cwd,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        time.sleep(1.0)
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}:\n" + "".join(self.lines[-40:])
            )
        return self


class Connection:
    """One HTTP/1.1 keep-alive connection: asyncio streams and httptools (uvicorn's parser).
    About 0.1 ms of CPU a request here, against 1-3 ms for an httpx.AsyncClient with 32
    connections (its pool's bookkeeping grows with the connections): the load generator
    shares the 2 cores with what it measures. A request on a reused connection that the
    server closed before answering a single byte (an idle keep-alive close) is sent again on
    a new connection, once (counted in ``retries``); any other failure is the request's."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.retries = 0

    async def post(self, head: str, body: bytes) -> tuple[int, bytes]:
        request = f"{head}content-length: {len(body)}\r\n\r\n".encode() + body
        reused = self.writer is not None
        try:
            return await self._exchange(request)
        except _NothingBack:
            self.close()
            if not reused:
                raise ConnectionError("closed without an answer") from None
            self.retries += 1
            return await self._exchange(request)

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(request)
        response = _Response()
        parser = httptools.HttpResponseParser(response)
        got_any = False
        while not response.done:
            data = await self.reader.read(65536)
            if not data:
                self.close()
                if not got_any:
                    raise _NothingBack
                raise ConnectionError("connection closed mid-response")
            got_any = True
            parser.feed_data(data)
        if not parser.should_keep_alive():
            self.close()
        return parser.get_status_code(), b"".join(response.chunks)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _NothingBack(Exception):
    pass


class _Response:
    """httptools callbacks: the body chunks and the end of the message."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.done = False

    def on_body(self, data: bytes) -> None:
        self.chunks.append(data)

    def on_message_complete(self) -> None:
        self.done = True


@dataclass
class Sent:
    index: int
    number: int
    destination: str
    latency: float = 0.0  # seconds, client side (open loop: from the scheduled start)
    status: int = 0
    id: str | None = None
    error: str | None = None


@dataclass
class Numbers:
    keys: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    meta: list[dict[str, str]] = field(default_factory=list)  # sim numbers (Meta)


@dataclass
class Cpu:
    zapgate: dict[str, float] = field(default_factory=dict)  # per process
    sim: float = 0.0
    receiver: float = 0.0
    bench: float = 0.0
    postgres: float | None = None  # every PostgreSQL server process (a difference)
    bench_db: dict[int, float] | None = None  # the bench database's backends, by pid
    postgres_procs: dict[int, float] | None = None  # every PostgreSQL process, by pid

    def minus(self, before: Cpu) -> Cpu:
        def sub(after: dict[int, float] | None, earlier: dict[int, float] | None) -> dict[int, float] | None:
            """By pid: a process that started during the run counts from 0; one that ended
            during it is left out."""
            if after is None or earlier is None:
                return None
            return {pid: cpu - earlier.get(pid, 0.0) for pid, cpu in after.items()}

        every = sub(self.postgres_procs, before.postgres_procs)
        return Cpu(
            zapgate={k: v - before.zapgate.get(k, 0.0) for k, v in self.zapgate.items()},
            sim=self.sim - before.sim,
            receiver=self.receiver - before.receiver,
            bench=self.bench - before.bench,
            postgres=sum(every.values()) if every is not None else None,
            bench_db=sub(self.bench_db, before.bench_db),
        )


class Run:
    def __init__(self, args: argparse.Namespace, work: Path, db: Database) -> None:
        self.args, self.work, self.db = args, work, db
        self.procs: list[b.Server] = []
        self.zapgate: list[b.Server] = []
        self.sim: b.Server | None = None
        self.receiver: b.Server | None = None
        self.demo: dict[str, str] = {}
        self.reconnects = 0
        self.problems: list[str] = []  # found before the report (serve's child processes)
        self.serve_children: dict[str, list[int]] = {}

    # -- deployment ----------------------------------------------------------------------

    def execute(self) -> int:
        try:
            self._start()
            return asyncio.run(self._measure())
        finally:
            for proc in reversed(self.procs):
                proc.stop()

    def _start(self) -> None:
        args = self.args
        port = b.free_port()
        cmd = [
            str(b.VENV_BIN / "uvicorn"),
            "webhook_sink:app",
            "--app-dir",
            str(b.BENCH),
            "--host",
            b.HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.receiver = self._keep(
            b.Server("webhook-sink", cmd, env=b.clean_env(), cwd=self.work, port=port).start()
        )
        b.say(
            f"receiver: bench/webhook_sink.py under uvicorn, pid {self.receiver.pid}, "
            f"{self.receiver.url}/hook"
        )
        zg_port = b.free_port()
        zg_url = f"http://{b.HOST}:{zg_port}"
        settings: dict[str, str] = {"database_url": self.db.url, "allow_loopback_urls": "1"}
        if args.provider == "sandbox":
            settings.update(SANDBOX)
        else:
            self._start_sim(zg_url)
            assert self.sim is not None
            settings.update(meta_graph_url=self.sim.url, meta_app_secret=META_APP_SECRET, public_url=zg_url)
        for item in args.zapgate_setting:
            name, _, value = item.partition("=")
            settings[name.strip().lower().removeprefix("zapgate_")] = value
        if args.backend == "postgres" and not args.no_wake_dir:
            settings["wake_dir"] = tempfile.mkdtemp(prefix="wake-", dir=self.work)
        serve_settings = {"run_workers": "1" if args.backend == "sqlite" else "0", **settings}
        b.say("zapgate serve: " + " ".join(f"ZAPGATE_{k.upper()}={v}" for k, v in serve_settings.items()))
        processes = ["--workers", str(args.api_processes)] if args.api_processes > 1 else []
        serve = self._keep(
            b.Server(
                "zapgate-serve",
                [b.ZAPGATE, "serve", "--host", b.HOST, "--port", str(zg_port), *processes],
                env=b.clean_env(**serve_settings),
                cwd=self.work,
                port=zg_port,
            ).start(timeout=120)
        )
        self.zapgate.append(serve)
        self.demo = self._banner(serve.output())
        b.say(
            f"  pid {serve.pid} on {serve.url}"
            + ("" if serve_settings["run_workers"] == "1" else ", workers OFF")
            + (
                f", {args.api_processes} HTTP processes (serve --workers {args.api_processes})"
                if processes
                else ""
            )
        )
        count = args.pg_workers if args.backend == "postgres" else 0
        roles = loops_for(count) if args.pg_split_loops else [""] * count
        for i, loops in enumerate(roles, 1):
            extra = {"worker_loops": loops} if loops else {}
            worker = Worker(
                "zapgate-workers",
                [b.ZAPGATE, "worker"],
                env=b.clean_env(**settings, **extra),
                cwd=self.work,
                port=0,
            )
            worker.log = self.work / f"zapgate-worker-{i}.log"  # one file each (BENCH_KEEP)
            worker = self._keep(worker.start())
            if args.pg_worker_nice:
                psutil.Process(worker.pid).nice(args.pg_worker_nice)
            self.zapgate.append(worker)
            b.say(
                f"zapgate worker: pid {worker.pid}, same settings and database"
                + (f", loops {loops}" if loops else "")
                + (f", nice {args.pg_worker_nice}" if args.pg_worker_nice else "")
            )

    def _keep(self, server: b.Server) -> Any:
        self.procs.append(server)
        return server

    def _start_sim(self, zg_url: str) -> None:
        args = self.args
        port = b.free_port()
        cmd = [b.ZAPGATE, "sim", "meta", "--port", str(port), "--callback", zg_url + "/webhooks/meta"]
        self.sim = self._keep(
            b.Server(
                "sim-meta", cmd, env=b.clean_env(), cwd=self.work, port=port, health_path="/_sim/config"
            ).start()
        )
        config = {
            "statusDelayMs": args.status_delay_ms,
            "mps": META_SIM_MPS,
            "callbackConcurrency": args.callback_concurrency,
            "batchStatuses": True,
        }
        httpx.post(self.sim.url + "/_sim/config", json=config, timeout=10).raise_for_status()
        b.say(
            f"simulator: zapgate sim meta --port {port} --callback {zg_url}/webhooks/meta, "
            f"pid {self.sim.pid}; /_sim/config {config}"
        )

    @staticmethod
    def _banner(text: str) -> dict[str, str]:
        found = {
            k: re.search(pattern, text, re.M)
            for k, pattern in (
                ("number_key", r"^Number key:\s+(\S+)"),
                ("tenant_key", r"^Tenant key:\s+(\S+)"),
                ("message_id", r"/v1/messages/([A-Za-z0-9_]+)/events"),
            )
        }
        if not all(found.values()):
            raise RuntimeError("no demo banner in the serve output:\n" + text[-3000:])
        return {k: m.group(1) for k, m in found.items() if m is not None}

    # -- the run -------------------------------------------------------------------------

    async def _measure(self) -> int:
        args = self.args
        serve = self.zapgate[0]
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=serve.url, timeout=60, limits=limits) as http:
            await self._wait_demo(http)
            for proc in self.zapgate:
                kids = psutil.Process(proc.pid).children(recursive=True)
                if kids:
                    b.say(
                        f"{proc.name} runs child processes: "
                        + ", ".join(f"pid {k.pid} {' '.join(k.cmdline()[1:4])}" for k in kids)
                    )
                elif proc.name == "zapgate-serve" and serve_runs_workers(proc):
                    b.say(f"{proc.name} runs its workers in-process")
            if args.backend == "postgres":
                self._check_serve_children(serve)
            numbers = await self._setup(http)
            idle = await self._idle_cpu()
            b.say(f"idle CPU before the run (2 s): zapgate {idle:.0%} of a core")
            cpu0 = await self._cpu()
            spies = self._profile()
            load_before = os.getloadavg()
            waits = WaitSampler(self.db) if args.json and self.db.name else None
            if waits is not None:
                await waits.start()
            t0 = time.time()
            sent = await self._send(http, numbers)
            accept_end = time.time()
            bench_send_cpu = self_cpu() - cpu0.bench
            ok_ids = [s.id for s in sent if s.id]
            b.say(
                f"accepted {len(ok_ids)} of {args.messages} in {accept_end - t0:.1f} s "
                f"({len(ok_ids) / max(accept_end - t0, 1e-9):.0f}/s)"
            )
            finished = await self._wait_reads(len(ok_ids), t0)
            cpu1 = await self._cpu()
            if waits is not None:
                await waits.stop()
            for proc in spies:
                proc.wait()
            await self._settle(3 * len(ok_ids))
            records = await self._records()
            rows = await self._messages(http, numbers, set(ok_ids))
            sim_messages = await self._sim_messages()
            sim_stats = await self._sim_stats(t0)
        cpu = cpu1.minus(cpu0)
        report = Report(
            args,
            t0,
            accept_end,
            sent,
            records,
            rows,
            sim_messages,
            cpu,
            bench_send_cpu,
            finished,
            self.zapgate,
            self.reconnects,
            sim_stats,
            problems=list(self.problems),
        )
        code = report.print()
        if args.json is not None:
            figures = report.figures()
            figures.update(
                load_before=[round(x, 2) for x in load_before],
                serve_children=self.serve_children,
                pg_waits=waits.summary() if waits is not None else None,
            )
            args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
            b.say(f"figures written to {args.json}")
        return code

    def _check_serve_children(self, serve: b.Server) -> None:
        """PostgreSQL: ``serve`` runs with ZAPGATE_RUN_WORKERS=0, so its children must be
        exactly its --api-processes HTTP processes (uvicorn's, through multiprocessing spawn;
        none with 1) plus multiprocessing's resource tracker, and never a worker process."""
        kinds: dict[str, list[int]] = {}
        for kid in psutil.Process(serve.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                cmd = " ".join(kid.cmdline())
                kind = (
                    "http"
                    if "spawn_main" in cmd
                    else "resource-tracker"
                    if "resource_tracker" in cmd
                    else "worker"
                    if "worker" in cmd
                    else "other"
                )
                kinds.setdefault(kind, []).append(kid.pid)
        self.serve_children = kinds
        want = self.args.api_processes if self.args.api_processes > 1 else 0
        http, unexpected = kinds.get("http", []), kinds.get("worker", []) + kinds.get("other", [])
        if want:
            b.say(
                f"zapgate-serve children: {len(http)} HTTP processes (pids "
                f"{', '.join(map(str, http))})"
                + (
                    f", resource tracker {kinds['resource-tracker'][0]}"
                    if kinds.get("resource-tracker")
                    else ""
                )
                + (", no worker process" if not unexpected else "")
            )
        if len(http) != want or unexpected:
            self.problems.append(
                f"zapgate-serve children: {len(http)} HTTP processes (expected {want}), other {unexpected}"
            )
            b.say(f"UNEXPECTED: {self.problems[-1]}")

    def _profile(self) -> list[subprocess.Popen[bytes]]:
        """With --profile DIR: py-spy on every Zapgate process for --profile-seconds."""
        folder = self.args.profile
        if folder is None:
            return []
        spies = []
        for proc in self.zapgate:
            for pid in [proc.pid, *(k.pid for k in psutil.Process(proc.pid).children(recursive=True))]:
                out = folder / f"{proc.name}-{pid}.txt"
                b.say(f"profiling pid {pid} into {out} for {self.args.profile_seconds} s")
                spies.append(b.spy(pid, out, self.args.profile_seconds))
        return spies

    async def _wait_demo(self, http: httpx.AsyncClient) -> None:
        """Wait until the demo message ``serve`` sent on start is READ: the workers run (on
        PostgreSQL: the worker process) and its events are over before the webhooks exist."""
        deadline = time.monotonic() + 60
        while True:
            r = await http.get(
                f"/v1/messages/{self.demo['message_id']}", headers={"x-api-key": self.demo["number_key"]}
            )
            if r.status_code == 200 and r.json()["status"] == "READ":
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"the demo message was not READ within 60 s: {r.text}")
            await asyncio.sleep(0.2)

    async def _setup(self, http: httpx.AsyncClient) -> Numbers:
        args = self.args
        tenant = {"x-api-key": self.demo["tenant_key"]}
        numbers = Numbers()
        if args.provider == "sandbox":
            numbers.keys.append(self.demo["number_key"])
            for i in range(1, args.numbers):
                r = await http.post(
                    "/v1/numbers",
                    headers=tenant,
                    json={"name": f"bulk {i}", "number": f"+55119888{i:05d}", "provider": "sandbox"},
                )
                body = _expect(r, 201, "POST /v1/numbers")
                numbers.keys.append(str(body["apiKey"]["key"]))
        else:
            await self._connect_meta(http, numbers)
        if args.kind == "template":
            await self._templates(http, numbers)
        for key in numbers.keys:
            _expect(
                await http.post(
                    "/v1/webhooks",
                    headers={"x-api-key": key},
                    json={"url": self._receiver_url + "/hook", "events": "*"},
                ),
                201,
                "POST /v1/webhooks",
            )
        b.say(
            f"setup: {len(numbers.keys)} {args.provider} numbers, one webhook endpoint each "
            f"(events '*') -> {self._receiver_url}/hook; sending {args.kind} messages"
        )
        if args.provider == "meta" and args.kind == "text":
            await self._open_windows(numbers)
        return numbers

    @property
    def _receiver_url(self) -> str:
        assert self.receiver is not None
        return self.receiver.url

    async def _connect_meta(self, http: httpx.AsyncClient, numbers: Numbers) -> None:
        assert self.sim is not None
        tenant = {"x-api-key": self.demo["tenant_key"]}
        async with httpx.AsyncClient(base_url=self.sim.url, timeout=30) as simc:
            for i in range(1, self.args.numbers + 1):
                sim_number = {
                    "phoneNumberId": f"1000000000000{i:02d}",
                    "wabaId": f"2000000000000{i:02d}",
                    "accessToken": META_TOKEN,
                    "displayPhoneNumber": f"155500000{i:02d}",
                    "verifiedName": f"Bulk {i}",
                }
                _expect(await simc.post("/_sim/numbers", json=sim_number), 200, "/_sim/numbers")
                r = await http.post(
                    "/v1/numbers/meta",
                    headers=tenant,
                    json={
                        "name": f"Bulk Meta {i}",
                        "number": f"+155500000{i:02d}",
                        "phoneNumberId": sim_number["phoneNumberId"],
                        "wabaId": sim_number["wabaId"],
                        "accessToken": META_TOKEN,
                    },
                )
                body = _expect(r, 201, "POST /v1/numbers/meta")
                number_id = str(body["instance"]["id"])
                _expect(
                    await http.patch(
                        f"/v1/numbers/{number_id}", headers=tenant, json={"pacePerSecond": PACE}
                    ),
                    200,
                    "PATCH /v1/numbers/{id}",
                )
                numbers.keys.append(str(body["apiKey"]["key"]))
                numbers.ids.append(number_id)
                numbers.meta.append(sim_number)
        b.say(f"setup: {len(numbers.keys)} Meta numbers connected (one WABA each), pacePerSecond {PACE}")

    async def _templates(self, http: httpx.AsyncClient, numbers: Numbers) -> None:
        """``bulk_campaign`` on every number; Meta: approved at the simulator, whose status
        callback makes it sendable in Zapgate; sandbox: approved after 0.5 s."""
        for key in numbers.keys:
            _expect(
                await http.post("/v1/templates", headers={"x-api-key": key}, json=TEMPLATE),
                201,
                "POST /v1/templates",
            )
        if self.args.provider == "meta":
            assert self.sim is not None
            async with httpx.AsyncClient(base_url=self.sim.url, timeout=30) as simc:
                for sim_number in numbers.meta:
                    r = await simc.get(
                        f"/{GRAPH}/{sim_number['wabaId']}/message_templates",
                        params={"name": TEMPLATE_NAME},
                        headers={"Authorization": f"Bearer {META_TOKEN}"},
                    )
                    template_id = _expect(r, 200, "GET message_templates")["data"][0]["id"]
                    _expect(
                        await simc.post(f"/_sim/templates/{template_id}/status", json={"event": "APPROVED"}),
                        200,
                        "/_sim/templates/{id}/status",
                    )
        deadline = time.monotonic() + 60
        for key in numbers.keys:
            while True:
                r = await http.get(f"/v1/templates/{TEMPLATE_NAME}", headers={"x-api-key": key})
                if _expect(r, 200, "GET /v1/templates/{name}")["sendable"]:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"template not sendable within 60 s: {r.text}")
                await asyncio.sleep(0.1)
        b.say(f"setup: template {TEMPLATE_NAME} APPROVED and sendable on every number")

    async def _open_windows(self, numbers: Numbers) -> None:
        """Meta text: every destination writes in first (Zapgate enforces the 24 h window from
        the contact's last inbound message); done when the receiver has every
        message.received webhook."""
        assert self.sim is not None
        n, t0 = self.args.messages, time.time()
        sem = asyncio.Semaphore(16)

        async def one(simc: httpx.AsyncClient, i: int) -> None:
            pnid = numbers.meta[i % len(numbers.meta)]["phoneNumberId"]
            async with sem:
                r = await simc.post(
                    "/_sim/inbound",
                    json={
                        "phoneNumberId": pnid,
                        "from": _destination(i).lstrip("+"),
                        "type": "text",
                        "text": "oi",
                    },
                )
                r.raise_for_status()

        async with httpx.AsyncClient(base_url=self.sim.url, timeout=30) as simc:
            await asyncio.gather(*(one(simc, i) for i in range(n)))
        async with httpx.AsyncClient(base_url=self._receiver_url, timeout=30) as rc:
            deadline = time.time() + 300
            while (await rc.get("/summary")).json()["byEvent"].get("message.received", 0) < n:
                if time.time() > deadline:
                    raise SystemExit("inbound messages did not all reach the receiver in 300 s")
                await asyncio.sleep(0.5)
        b.say(f"setup: {n} inbound messages (24 h windows) applied in {time.time() - t0:.1f} s")

    async def _idle_cpu(self) -> float:
        before = sum(p.cpu_seconds() for p in self.zapgate)
        await asyncio.sleep(2)
        return (sum(p.cpu_seconds() for p in self.zapgate) - before) / 2

    async def _cpu(self) -> Cpu:
        zapgate: dict[str, float] = {}
        for proc in self.zapgate:
            own, kids = process_cpu(proc.pid)
            # Several `zapgate worker` processes: one line for all of them.
            zapgate[proc.name] = zapgate.get(proc.name, 0.0) + own
            if kids is not None:
                key = f"{proc.name} children"
                zapgate[key] = zapgate.get(key, 0.0) + kids
        return Cpu(
            zapgate=zapgate,
            sim=self.sim.cpu_seconds() if self.sim is not None else 0.0,
            receiver=self.receiver.cpu_seconds() if self.receiver is not None else 0.0,
            bench=self_cpu(),
            postgres_procs=postgres_cpu() if self.db.name is not None else None,
            bench_db=await self.db.backend_cpu(),
        )

    async def _send(self, http: httpx.AsyncClient, numbers: Numbers) -> list[Sent]:
        args = self.args
        n = args.messages
        sent = [Sent(i, i % len(numbers.keys), _destination(i)) for i in range(n)]
        template = args.kind == "template"
        serve = self.zapgate[0]
        pool: asyncio.LifoQueue[Connection] = asyncio.LifoQueue()
        for _ in range(args.concurrency):
            pool.put_nowait(Connection(b.HOST, serve.port))
        heads = [
            f"POST /v1/messages/send HTTP/1.1\r\nhost: {b.HOST}:{serve.port}\r\n"
            f"x-api-key: {key}\r\ncontent-type: application/json\r\n"
            for key in numbers.keys
        ]
        headers = [{"x-api-key": key, "content-type": "application/json"} for key in numbers.keys]

        async def one(item: Sent, start: float) -> None:
            body = orjson.dumps(
                {
                    "destinationNumber": item.destination,
                    "templateId": TEMPLATE_NAME,
                    "variables": {"nome": "Ana", "pedido": str(item.index)},
                }
                if template
                else {"destinationNumber": item.destination, "text": f"bulk message {item.index}"}
            )
            try:
                if args.client == "raw":
                    conn = await pool.get()
                    try:
                        status, content = await conn.post(heads[item.number], body)
                    finally:
                        pool.put_nowait(conn)
                else:
                    r = await http.post("/v1/messages/send", headers=headers[item.number], content=body)
                    status, content = r.status_code, r.content
            except (OSError, httpx.HTTPError, httptools.HttpParserError) as exc:
                item.error = repr(exc)
                item.latency = time.perf_counter() - start
                return
            item.latency = time.perf_counter() - start
            item.status = status
            if status == 202:
                item.id = str(orjson.loads(content)["id"])
            else:
                item.error = content[:200].decode(errors="replace")

        mode = (
            f"open loop at {args.rate:g}/s (at most {args.concurrency} connections)"
            if args.rate
            else f"closed loop, {args.concurrency} clients"
        )
        b.say(f"sending {n} messages, {mode}, {args.client} keep-alive client ...")
        if args.rate:
            interval, begin = 1 / args.rate, time.perf_counter()
            tasks = []
            for item in sent:
                start = begin + item.index * interval
                delay = start - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(item, start)))
            await asyncio.gather(*tasks)
        else:
            queue = iter(sent)

            async def client() -> None:
                for item in queue:
                    await one(item, time.perf_counter())

            await asyncio.gather(*(client() for _ in range(args.concurrency)))
        self.reconnects = 0
        while not pool.empty():
            conn = pool.get_nowait()
            self.reconnects += conn.retries
            conn.close()
        return sent

    async def _wait_reads(self, n: int, t0: float) -> bool:
        """Until the receiver holds a message.read webhook for every accepted message."""
        deadline = t0 + self.args.timeout
        next_note = time.time() + 10
        async with httpx.AsyncClient(base_url=self._receiver_url, timeout=60) as rc:
            while True:
                summary = (await rc.get("/summary")).json()
                if summary["readMessages"] >= n:
                    return True
                if time.time() >= next_note:
                    next_note += 10
                    b.say(f"  {time.time() - t0:5.0f} s: webhooks {summary['byEvent']}")
                if time.time() > deadline:
                    b.say(f"TIMED OUT after {self.args.timeout:.0f} s: webhooks {summary['byEvent']}")
                    return False
                await asyncio.sleep(0.5)

    async def _settle(self, expected: int) -> None:
        """Let late webhooks (duplicates) arrive: until the count has not moved for 1.5 s."""
        async with httpx.AsyncClient(base_url=self._receiver_url, timeout=60) as rc:
            last, since, deadline = -1, time.monotonic(), time.monotonic() + 15
            while time.monotonic() < deadline:
                total = int((await rc.get("/summary")).json()["total"])
                if total != last:
                    last, since = total, time.monotonic()
                elif time.monotonic() - since >= 1.5 and total >= expected:
                    return
                await asyncio.sleep(0.25)

    async def _records(self) -> list[tuple[float, str, str, str]]:
        async with httpx.AsyncClient(base_url=self._receiver_url, timeout=120) as rc:
            r = await rc.get("/records")
        return [(float(a), str(e_id), str(ev), str(d)) for a, e_id, ev, d in orjson.loads(r.content)]

    async def _messages(
        self, http: httpx.AsyncClient, numbers: Numbers, ids: set[str]
    ) -> dict[str, dict[str, Any]]:
        """Our messages as the API shows them (``GET /v1/messages``, 100 a page, per number)."""
        out: dict[str, dict[str, Any]] = {}
        for key in numbers.keys:
            page = 1
            while True:
                r = await http.get(
                    "/v1/messages", headers={"x-api-key": key}, params={"pageSize": 100, "page": page}
                )
                body = _expect(r, 200, "GET /v1/messages")
                out.update({m["id"]: m for m in body["messages"] if m["id"] in ids})
                if page >= int(body["totalPages"]):
                    break
                page += 1
        return out

    async def _sim_stats(self, t0: float) -> SimStats | None:
        if self.sim is None:
            return None
        stats = SimStats()
        async with httpx.AsyncClient(base_url=self.sim.url, timeout=120) as simc:
            callbacks = orjson.loads((await simc.get("/_sim/callbacks")).content)
            requests = orjson.loads((await simc.get("/_sim/requests")).content)
        for cb in callbacks:
            if (cb.get("postedAt") or 0) < t0:
                continue
            stats.posts += 1
            stats.statuses += sum(
                len(change["value"].get("statuses") or [])
                for entry in cb["json"].get("entry") or []
                for change in entry.get("changes") or []
            )
            stats.not_2xx += not 200 <= int(cb.get("status") or 0) < 300
            stats.retried += int(cb.get("attempt") or 1) > 1
        recipients: Counter[str] = Counter()
        for req in requests:
            if req["at"] < t0 or req["path"].startswith("/_sim"):
                continue
            body = req.get("json") if isinstance(req.get("json"), dict) else {}
            if (
                req["path"].endswith("/messages")
                and req["method"] == "POST"
                and body.get("status") != "read"
                and "to" in body
            ):
                recipients[str(body["to"])] += 1
            else:
                label = (
                    "mark-read"
                    if body.get("status") == "read"
                    else f"{req['method']} {re.sub(r'[0-9]{6,}', '*', req['path'])}"
                )
                stats.other[label] += 1
        stats.sends, stats.destinations = sum(recipients.values()), len(recipients)
        return stats

    async def _sim_messages(self) -> list[dict[str, Any]]:
        if self.sim is None:
            return []
        async with httpx.AsyncClient(base_url=self.sim.url, timeout=120) as simc:
            r = await simc.get("/_sim/messages")
        r.raise_for_status()
        result: list[dict[str, Any]] = orjson.loads(r.content)
        return result


class WaitSampler:
    """``--json`` on PostgreSQL: what the bench database's backends wait on, sampled from
    pg_stat_activity twice a second from the first send to the last message.read webhook
    (one query on its own connection to the admin database). Many backends waiting on
    ``Lock`` at once, sample after sample, is a lock convoy."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.samples = 0
        self.active = 0  # backends active (running a statement), summed over the samples
        self.lock = 0  # of those, waiting on a heavyweight lock (wait_event_type Lock)
        self.lock_max = 0
        self.events: Counter[str] = Counter()  # wait_event_type:wait_event of active ones
        self.lock_queries: Counter[str] = Counter()  # what the lock waiters were running
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task

    async def _run(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.db.admin_dsn)
        try:
            while not self._stop.is_set():
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event, left(query, 4000) AS query "
                    "FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                    self.db.name,
                )
                active = [r for r in rows if r["state"] == "active"]
                lock = sum(1 for r in active if r["wait_event_type"] == "Lock")
                self.samples += 1
                self.active += len(active)
                self.lock += lock
                self.lock_max = max(self.lock_max, lock)
                self.events.update(
                    f"{r['wait_event_type']}:{r['wait_event']}" for r in active if r["wait_event_type"]
                )
                self.lock_queries.update(
                    f"{r['wait_event']}: {_short(str(r['query']))}"
                    for r in active
                    if r["wait_event_type"] == "Lock"
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 0.5)
        finally:
            await conn.close()

    def summary(self) -> dict[str, Any]:
        k = max(self.samples, 1)
        return {
            "samples": self.samples,
            "active_mean": round(self.active / k, 2),
            "lock_wait_mean": round(self.lock / k, 2),
            "lock_wait_max": self.lock_max,
            "wait_events": dict(self.events.most_common(12)),
            "lock_wait_queries": dict(self.lock_queries.most_common(8)),
        }


def _short(sql: str) -> str:
    """A statement on one line, its middle (the column list) left out when long."""
    text = " ".join(sql.split())
    return text if len(text) <= 220 else f"{text[:70]} ... {text[-140:]}"


@dataclass
class SimStats:
    """What the Meta simulator saw from the first send on."""

    posts: int = 0  # status (and other) webhooks posted to Zapgate
    statuses: int = 0  # statuses in them
    not_2xx: int = 0  # posts whose last attempt did not get a 2xx
    retried: int = 0  # posts that needed more than one attempt
    sends: int = 0  # message sends received (not mark-read)
    destinations: int = 0  # distinct recipients of those
    other: Counter[str] = field(default_factory=Counter)  # other Graph calls


def _destination(i: int) -> str:
    return f"+55119{DEST_BASE + i:08d}"


def _expect(r: httpx.Response, status: int, what: str) -> Any:
    if r.status_code != status:
        raise SystemExit(f"{what} answered {r.status_code} (expected {status}): {r.text[:500]}")
    return r.json()


def _ts(text: str | None) -> float | None:
    return dt.datetime.fromisoformat(text).timestamp() if text else None


# -- the report ------------------------------------------------------------------------------


@dataclass
class Report:
    args: argparse.Namespace
    t0: float
    accept_end: float
    sent: list[Sent]
    records: list[tuple[float, str, str, str]]
    rows: dict[str, dict[str, Any]]  # message id -> the API's message
    sim_messages: list[dict[str, Any]]
    cpu: Cpu
    bench_send_cpu: float
    finished: bool
    zapgate: list[b.Server]
    reconnects: int
    sim: SimStats | None
    problems: list[str] = field(default_factory=list)
    _figures: dict[str, Any] = field(default_factory=dict)

    def print(self) -> int:
        args = self.args
        ids = {s.id for s in self.sent if s.id}
        n = len(ids)
        accepted_lat = [s.latency for s in self.sent if s.id]
        rejected = Counter(f"{s.status} {s.error or ''}"[:80] for s in self.sent if not s.id)
        per_message, other = self._by_message(ids)
        read_at = {
            m: next(at for at, _e, ev, _d in evs if ev == "message.read")
            for m, evs in per_message.items()
            if any(ev == "message.read" for _a, _e, ev, _d in evs)
        }
        last_read = max(read_at.values(), default=None)
        span = (last_read - self.t0) if last_read is not None else None
        hooks = [r for r in self.records if r[3] in ids]
        first_hook = min((r[0] for r in hooks), default=self.t0)
        last_hook = max((r[0] for r in hooks), default=self.t0)
        created = {m: _ts(row["createdAt"]) for m, row in self.rows.items()}
        to_sent = [
            s - c
            for m, row in self.rows.items()
            if (s := _ts(row["sentAt"])) is not None and (c := created[m]) is not None
        ]
        to_webhook = [read_at[m] - c for m, c in created.items() if m in read_at and c is not None]
        read_lag, read_lag_source = self._read_lag(read_at)
        statuses = Counter(str(row["status"]) for row in self.rows.values())
        checks = self._checks(ids, per_message)
        accept_s = max(self.accept_end - self.t0, 1e-9)
        wall = (last_read or time.time()) - self.t0
        mode = f"open loop {args.rate:g}/s" if args.rate else f"closed loop x{args.concurrency}"
        table: list[tuple[str, str]] = [
            (
                "setup",
                f"{args.backend}, {args.provider}, {args.kind}, {args.numbers} numbers, "
                f"{mode} ({args.client} client), 3 webhooks per message to one receiver",
            ),
            (
                "accepted",
                f"{n} of {args.messages} in {accept_s:.1f} s: **{n / accept_s:.0f}/s**"
                + (f"; rejected {dict(rejected)}" if rejected else "")
                + (
                    f"; {self.reconnects} sends repeated after an idle keep-alive close"
                    if self.reconnects
                    else ""
                ),
            ),
            (
                "accept latency p50 / p99 (client)",
                f"{_ms(b.percentile(accepted_lat, 50))} / {_ms(b.percentile(accepted_lat, 99))}"
                + (" (from the scheduled start)" if args.rate else ""),
            ),
            (
                "end to end (first send -> last message.read webhook)",
                f"{span:.1f} s: **{n / span:.0f} msg/s**" if span else "not reached",
            ),
            (
                "accept -> SENT p50 / p99 (API createdAt, sentAt)",
                f"{_ms(b.percentile(to_sent, 50))} / {_ms(b.percentile(to_sent, 99))}",
            ),
            (
                "accept -> message.read webhook p50 / p99",
                f"{_ms(b.percentile(to_webhook, 50))} / {_ms(b.percentile(to_webhook, 99))}",
            ),
            (
                f"provider READ -> message.read webhook p50 / p99 ({read_lag_source})",
                f"{_ms(b.percentile(read_lag, 50))} / {_ms(b.percentile(read_lag, 99))}",
            ),
            (
                "webhooks",
                f"{len(hooks)} for our messages ({len(hooks) / max(n, 1):.2f} per "
                f"message); {len(hooks) / max(last_hook - self.t0, 1e-9):.0f}/s from "
                f"the first send, {len(hooks) / max(last_hook - first_hook, 1e-9):.0f}/s "
                f"first to last; other events {dict(other) or 0}",
            ),
            (
                "messages by status (API)",
                ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
                + (f"; {n - len(self.rows)} not found" if n > len(self.rows) else ""),
            ),
            (
                "Zapgate CPU (" + " + ".join(self.cpu.zapgate) + ")",
                self._cpu_text(sum(self.cpu.zapgate.values()), n, wall)
                + (
                    ""
                    if len(self.cpu.zapgate) < 2
                    else " ("
                    + ", ".join(
                        f"{k.removeprefix('zapgate-')} {self._cpu_text(v, n, wall, short=True)}"
                        for k, v in self.cpu.zapgate.items()
                    )
                    + ")"
                ),
            ),
        ]
        if args.backend == "postgres":
            db = self.cpu.bench_db
            table += [
                (
                    "PostgreSQL CPU: the bench database's backends",
                    self._cpu_text(sum(db.values()) if db is not None else None, n, wall)
                    + (f" ({len(db)} connections)" if db is not None else ""),
                ),
                (
                    "PostgreSQL CPU: every server process (other databases' too)",
                    self._cpu_text(self.cpu.postgres, n, wall),
                ),
            ]
        if self.sim is not None:
            sim = self.sim
            table += [
                ("simulator CPU", self._cpu_text(self.cpu.sim, n, wall)),
                (
                    "simulator webhooks to Zapgate",
                    f"{sim.posts} POSTs with {sim.statuses} statuses "
                    f"({sim.statuses / max(sim.posts, 1):.1f} a POST, batchStatuses); "
                    f"retried {sim.retried}, not 2xx in the end {sim.not_2xx}",
                ),
                (
                    "simulator: sends received",
                    f"{sim.sends} to {sim.destinations} recipients; other calls {dict(sim.other) or 0}",
                ),
            ]
        table += [
            ("receiver CPU", self._cpu_text(self.cpu.receiver, n, wall)),
            (
                "load generator CPU (this process)",
                self._cpu_text(self.cpu.bench, n, wall) + f"; while sending {self.bench_send_cpu:.1f} s "
                f"= {self.bench_send_cpu * 1000 / max(n, 1):.2f} ms/msg",
            ),
        ]
        table += [(f"check: {k}", v) for k, v in checks]
        b.say("\n| measure | value |\n| --- | --- |")
        for k, v in table:
            b.say(f"| {k} | {v} |")
        for proc in self.zapgate:
            for line in proc.error_summary():
                b.say(f"{proc.name} log: {line}")
        if not self.finished:
            self.problems.append("timed out")
        if n != args.messages:
            self.problems.append(f"{args.messages - n} sends not accepted")
        b.say(f"after: {b.load_line()}")
        self._figures = self._key_figures(
            n, accept_s, accepted_lat, span, to_sent, to_webhook, read_lag, hooks, statuses, wall
        )
        if self.problems:
            b.say("INVALID: " + "; ".join(self.problems))
            return 1
        b.say("valid: every check passed")
        return 0

    def figures(self) -> dict[str, Any]:
        """The run's key figures (``--json``), after ``print``."""
        return {**self._figures, "valid": not self.problems, "problems": list(self.problems)}

    def _key_figures(
        self,
        n: int,
        accept_s: float,
        accepted_lat: list[float],
        span: float | None,
        to_sent: list[float],
        to_webhook: list[float],
        read_lag: list[float],
        hooks: list[Any],
        statuses: Counter[str],
        wall: float,
    ) -> dict[str, Any]:
        args, cpu = self.args, self.cpu

        def ms(values: list[float], p: float) -> float | None:
            value = b.percentile(values, p)
            return None if value != value else round(value * 1000, 2)

        def per_msg(seconds: float | None) -> float | None:
            return None if seconds is None else round(seconds * 1000 / max(n, 1), 4)

        serve = sum(v for k, v in cpu.zapgate.items() if k.startswith("zapgate-serve"))
        workers = sum(v for k, v in cpu.zapgate.items() if k.startswith("zapgate-workers"))
        sim = self.sim
        return {
            "setup": {
                "backend": args.backend,
                "provider": args.provider,
                "kind": args.kind,
                "messages": args.messages,
                "numbers": args.numbers,
                "concurrency": args.concurrency,
                "rate": args.rate,
                "client": args.client,
                "pg_workers": args.pg_workers if args.backend == "postgres" else 0,
                "api_processes": args.api_processes,
                "zapgate_settings": args.zapgate_setting,
                "command": " ".join([b.rel(sys.executable), b.rel(sys.argv[0]), *sys.argv[1:]]),
                "code": b.code_line(),
                "cores": os.cpu_count(),
            },
            "accepted": n,
            "accept_seconds": round(accept_s, 3),
            "accept_per_s": round(n / accept_s, 1),
            "accept_p50_ms": ms(accepted_lat, 50),
            "accept_p99_ms": ms(accepted_lat, 99),
            "end_to_end_seconds": round(span, 3) if span else None,
            "end_to_end_msg_per_s": round(n / span, 1) if span else None,
            "accept_to_sent_p50_ms": ms(to_sent, 50),
            "accept_to_sent_p99_ms": ms(to_sent, 99),
            "accept_to_read_webhook_p50_ms": ms(to_webhook, 50),
            "accept_to_read_webhook_p99_ms": ms(to_webhook, 99),
            "provider_read_to_webhook_p50_ms": ms(read_lag, 50),
            "provider_read_to_webhook_p99_ms": ms(read_lag, 99),
            "webhooks": len(hooks),
            "statuses": dict(statuses),
            "wall_seconds": round(wall, 3),
            "cpu_ms_per_msg": {
                "zapgate": per_msg(sum(cpu.zapgate.values())),
                "zapgate_serve": per_msg(serve),  # serve and its children (HTTP processes)
                "zapgate_workers": per_msg(workers),  # the `zapgate worker` processes
                "zapgate_by_process": {k: per_msg(v) for k, v in cpu.zapgate.items()},
                "postgres_backends": per_msg(
                    sum(cpu.bench_db.values()) if cpu.bench_db is not None else None
                ),
                "postgres_all": per_msg(cpu.postgres),
                "simulator": per_msg(cpu.sim) if sim is not None else None,
                "receiver": per_msg(cpu.receiver),
                "load_generator": per_msg(cpu.bench),
                "load_generator_while_sending": per_msg(self.bench_send_cpu),
            },
            "cpu_share_of_a_core": {
                "zapgate": round(sum(cpu.zapgate.values()) / max(wall, 1e-9), 3),
                "postgres_all": (
                    round(cpu.postgres / max(wall, 1e-9), 3) if cpu.postgres is not None else None
                ),
            },
            "postgres_connections": len(cpu.bench_db) if cpu.bench_db is not None else None,
            "simulator": None
            if sim is None
            else {
                "sends": sim.sends,
                "distinct_recipients": sim.destinations,
                "messages": n,
                "duplicate_sends": sim.sends - sim.destinations,
                "webhook_posts": sim.posts,
                "statuses": sim.statuses,
                "posts_retried": sim.retried,
                "posts_not_2xx": sim.not_2xx,
                "other_calls": dict(sim.other),
            },
            "reconnects": self.reconnects,
            "finished": self.finished,
            "log_errors": {
                proc.name: proc.error_summary(limit=20) for proc in self.zapgate if proc.error_lines()
            },
            "load_after": [round(x, 2) for x in os.getloadavg()],
        }

    def _by_message(self, ids: set[str]) -> tuple[dict[str, list[tuple[float, str, str, str]]], Counter[str]]:
        per: dict[str, list[tuple[float, str, str, str]]] = {}
        other: Counter[str] = Counter()
        for record in self.records:  # arrival order
            if record[3] in ids:
                per.setdefault(record[3], []).append(record)
            elif record[2] not in ("None", ""):
                other[record[2]] += 1
        return per, other

    def _read_lag(self, read_at: dict[str, float]) -> tuple[list[float], str]:
        """Provider READ -> the message.read webhook's arrival. Meta: when the simulator first
        posted the callback carrying the read status; sandbox: the message's readAt."""
        if self.args.provider == "meta":
            posted = {}
            for message in self.sim_messages:
                for status in message.get("statuses") or []:
                    if status.get("status") == "read" and status.get("postedAt"):
                        posted[message["id"]] = float(status["postedAt"])
            lag = [
                read_at[m] - posted[row["externalMessageId"]]
                for m, row in self.rows.items()
                if m in read_at and row.get("externalMessageId") in posted
            ]
            return lag, "simulator posted the read status"
        lag = [
            read_at[m] - r
            for m, row in self.rows.items()
            if m in read_at and (r := _ts(row["readAt"])) is not None
        ]
        return lag, "sandbox readAt"

    def _checks(
        self, ids: set[str], per_message: dict[str, list[tuple[float, str, str, str]]]
    ) -> list[tuple[str, str]]:
        not_read = sum(1 for m in ids if (self.rows.get(m) or {}).get("status") != "READ")
        missing = dup_ids = repeated = out_of_order = unexpected = 0
        for m in ids:
            evs = per_message.get(m, [])
            seen_ids: set[str] = set()
            names: list[str] = []
            for _at, event_id, event, _d in evs:
                if event_id in seen_ids:
                    dup_ids += 1
                    continue
                seen_ids.add(event_id)
                names.append(event)
            if any(e not in EXPECTED for e in names):
                unexpected += 1
            counts = Counter(names)
            repeated += sum(c - 1 for c in counts.values() if c > 1)
            if any(counts[e] == 0 for e in EXPECTED):
                missing += 1
            elif [e for e in names if e in EXPECTED] != EXPECTED and not any(counts[e] > 1 for e in EXPECTED):
                out_of_order += 1
        results = [
            ("every message READ (API)", not_read, f"{len(ids) - not_read} of {len(ids)}"),
            ("messages missing a webhook", missing, str(missing)),
            ("duplicate deliveries (same event id again)", dup_ids, str(dup_ids)),
            ("repeated events (same event, new id)", repeated, str(repeated)),
            (
                "order sent < delivered < read at the receiver",
                out_of_order,
                f"{out_of_order} messages out of order",
            ),
            ("messages with other events (e.g. message.failed)", unexpected, str(unexpected)),
        ]
        if self.sim is not None:
            sim = self.sim
            bad_sends = abs(sim.sends - len(ids)) + abs(sim.destinations - len(ids))
            results += [
                (
                    "one send per message at the simulator",
                    bad_sends,
                    f"{sim.sends} sends, {sim.destinations} recipients, {len(ids)} messages",
                ),
                ("simulator webhooks acknowledged", sim.not_2xx, f"{sim.not_2xx} of {sim.posts} not 2xx"),
            ]
        out = []
        for name, bad, text in results:
            out.append((name, ("ok: " if not bad else "**FAILED**: ") + text))
            if bad:
                self.problems.append(f"{name}: {text}")
        return out

    @staticmethod
    def _cpu_text(cpu: float | None, n: int, wall: float, *, short: bool = False) -> str:
        if cpu is None:
            return "n/a"
        if short:
            return f"{cpu * 1000 / max(n, 1):.2f} ms/msg, {cpu / max(wall, 1e-9):.0%}"
        return f"{cpu:.1f} s = **{cpu * 1000 / max(n, 1):.2f} ms/msg**, {cpu / max(wall, 1e-9):.0%} of a core"


def _ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.0f} ms"  # NaN: no values


if __name__ == "__main__":
    with contextlib.suppress(ImportError):
        import uvloop  # the load generator's own cost: the cheaper loop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    sys.exit(main())
