"""Pacing that holds (issue 10 point 6): K Meta numbers at P msg/s each, all at once, each with
a full queue, for D seconds; what each number's sends look like at the Meta simulator.

    .venv/bin/python bench/pacing.py [--numbers 50] [--pace 80] [--seconds 60]
                                     [--backend postgres|sqlite] [--workers 2]
                                     [--sim-mps MPS] [--sim-latency-ms 0] [--statuses]
                                     [--per-number] [--trace FILE]

How: the Meta simulator (``zapgate sim meta``, per-number ``mps`` well above P so that it never
throttles: a number sending faster than its pace shows as such instead of being cut off),
``zapgate serve`` (API only, ``ZAPGATE_RUN_WORKERS=0``) and ``--workers`` ``zapgate worker``
processes (two by default, splitting the loops as ``serve``'s own do) on one fresh database.
Setup: K Meta numbers (``POST /v1/numbers/meta``, ``PATCH /v1/numbers/{id}`` pacePerSecond P),
each with an approved template. Then the workers stop, every number's queue is filled through
the API (``P * (D + 1)`` messages and 5 % more, each to its own recipient, so no pair limit
applies), and new workers start: every number has its full queue from its first send on, so the
pace, not the accept rate, is what limits it. After D seconds the workers stop.

Measured per number from its first send t0, at the simulator (the arrival of each accepted
send: ``GET /_sim/messages``, ``at``) and in Zapgate (when each message was claimed, i.e. took
its token: ``messages.last_attempt_at``, ms):

* the first second apart (the bucket it starts with, plus one second of pace);
* the rate from t0 + 1 s (later if the number had not spent its first bucket by then) to
  t0 + D, counted from a send to a send (the dispatcher sends in batches), and its deviation
  from P (target: within 5 %; over a short window one batch more or less moves it);
* the most sends in any sliding 1 s window after the first second (steady state: about P; a
  bucket allows up to bucket + P after a stall, the tokens saved during it);
* the bucket depth the sends need: the largest ``sends(window) - P * length(window)`` over every
  window, first second included. A token bucket of depth B never lets through more than
  ``B + P * length`` in any window, so this must stay within the bucket (Zapgate's TokenBucket:
  burst = the pace, at least 1): exactly at the claims, and give or take
  ``--jitter-allowance`` seconds of pace at the simulator, for sends bunched up on the way.

Printed: per-number summary (min / median / max rate, worst deviation, worst burst), the
aggregate rate, messages retried (a 130429 or anything else), CPU of Zapgate (API, workers),
PostgreSQL, the simulator and this process, and a verdict (exit 1 when a number missed). On 2
cores the default 50 x 80 = 4,000 sends/s is beyond the machine: the bench reports what each
number reached; ``--numbers``, ``--pace`` and ``--seconds`` pick a load it can carry (5 x 80,
50 x 8). ``--sim-latency-ms`` makes every send take that long, as the real Graph API does. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib as b
import httpx
import orjson
import psutil

# The bulk bench's database (a SQLite file or a fresh PostgreSQL database), `zapgate worker`
# process and raw keep-alive client.
from e2e_bulk import Connection, Database, Worker

from zapgate.worker_process import loops_for

META_APP_SECRET = "sim-app-secret"
META_TOKEN = "sim-meta-token"
GRAPH = "v23.0"
TEMPLATE_NAME = "pacing_campaign"
TEMPLATE: dict[str, Any] = {
    "name": TEMPLATE_NAME,
    "category": "UTILITY",
    "language": "pt_BR",
    "body": "Olá {{nome}}, seu pedido {{pedido}} saiu para entrega!",
    "examples": {"nome": "Ana", "pedido": "42"},
}
DEST_BASE = 30_000_000  # recipients +5511930000000..., clear of the sandbox's magic ones
TOLERANCE = 0.05  # the target: each number within 5 % of its pace
CLAIM_SLACK = 1.0  # claim times: whole milliseconds, read just before the claim's query


def main() -> int:
    args = _args()
    b.say(f"command: {' '.join([b.rel(sys.executable), b.rel(sys.argv[0]), *sys.argv[1:]])}")
    b.say(f"machine: {b.machine_line()}")
    b.say(
        f"note: Zapgate, the simulator{', PostgreSQL' if args.backend == 'postgres' else ''} "
        f"and this process share these {os.cpu_count()} cores; their CPU is printed apart"
    )
    with b.workspace("pacing") as work:
        db = Database(args, work)
        try:
            return Run(args, work, db).execute()
        finally:
            db.drop()


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--numbers", type=int, default=50, help="Meta numbers sending at once")
    p.add_argument(
        "--pace",
        type=float,
        default=80.0,
        help="pacePerSecond of every number (PATCH /v1/numbers/{id}; at most 1000)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="how long the numbers send (the measured window: the first second excluded)",
    )
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL to create the bench database on (--backend postgres)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="`zapgate worker` processes (2: the loops split as serve's own two "
        "do, the dispatcher in one; otherwise each runs every loop)",
    )
    p.add_argument(
        "--sim-mps",
        type=float,
        default=None,
        help="the simulator's per-number throughput limit (default 10 x --pace)",
    )
    p.add_argument(
        "--sim-latency-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="the simulator answers every send this much later (a slow fault), as "
        "the real Graph API takes a few hundred ms: a number's sends in "
        "flight (32 for Meta) then bound its rate",
    )
    p.add_argument(
        "--statuses",
        action="store_true",
        help="keep the simulator's status callbacks (sent, delivered, read) going "
        "to Zapgate during the run (default: off, so the run measures the "
        "dispatcher, not the webhooks in)",
    )
    p.add_argument(
        "--jitter-allowance",
        type=float,
        default=0.02,
        metavar="SECONDS",
        help="bunching on the way to the simulator forgiven in the burst check: "
        "this many seconds of pace (at least one message)",
    )
    p.add_argument("--concurrency", type=int, default=32, help="keep-alive connections filling the queues")
    p.add_argument(
        "--trace",
        type=Path,
        default=None,
        metavar="FILE",
        help="write every send's time at the simulator and every claim's time in "
        "Zapgate to FILE (CSV: number,source,at)",
    )
    p.add_argument(
        "--per-number", action="store_true", help="one line per number (always when --numbers <= 10)"
    )
    args = p.parse_args()
    if args.numbers < 1 or args.numbers > 9999:
        p.error("--numbers: 1 to 9999")
    if not 0 < args.pace <= 1000:
        p.error("--pace: above 0, at most 1000 (the API's limit)")
    if args.seconds < 3:
        p.error("--seconds: at least 3")
    if args.sim_mps is None:
        args.sim_mps = max(10 * args.pace, 100.0)
    return args


@dataclass
class MetaNumber:
    index: int
    id: str = ""
    key: str = ""
    pnid: str = ""
    waba: str = ""
    template: str = ""  # its id at the simulator
    queued: int = 0

    def destination(self, j: int, per_number: int) -> str:
        return f"+55119{DEST_BASE + self.index * per_number + j:08d}"


@dataclass
class Cpu:
    """CPU seconds so far; PostgreSQL's by server process (every one / the bench database's
    backends)."""

    serve: float = 0.0
    workers: float = 0.0
    sim: float = 0.0
    bench: float = 0.0
    postgres: dict[int, float] | None = None
    bench_db: dict[int, float] | None = None


@dataclass
class CpuUsed:
    serve: float
    workers: float
    sim: float
    bench: float
    postgres: float | None
    bench_db: float | None

    @classmethod
    def between(cls, before: Cpu, after: Cpu) -> CpuUsed:
        return cls(
            after.serve - before.serve,
            after.workers - before.workers,
            after.sim - before.sim,
            after.bench - before.bench,
            _cpu_delta(after.postgres, before.postgres),
            _cpu_delta(after.bench_db, before.bench_db),
        )


class Run:
    def __init__(self, args: argparse.Namespace, work: Path, db: Database) -> None:
        self.args, self.work, self.db = args, work, db
        self.procs: list[b.Server] = []
        self.workers: list[Worker] = []  # running now
        self.every_worker: list[Worker] = []  # for their logs
        self.started_workers = 0
        self.serve: b.Server | None = None
        self.sim: b.Server | None = None
        self.settings: dict[str, str] = {}
        self.numbers: list[MetaNumber] = []
        self.per_number = math.ceil(args.pace * (args.seconds + 1) * (1 + TOLERANCE)) + 10

    def execute(self) -> int:
        try:
            self._start()
            return asyncio.run(self._run())
        finally:
            for proc in reversed(self.procs):
                proc.stop()

    # -- processes -------------------------------------------------------------------------

    def _start(self) -> None:
        zg_port = b.free_port()
        zg_url = f"http://{b.HOST}:{zg_port}"
        sim_port = b.free_port()
        self.sim = self._keep(
            b.Server(
                "sim-meta",
                [b.ZAPGATE, "sim", "meta", "--port", str(sim_port), "--callback", zg_url + "/webhooks/meta"],
                env=b.clean_env(),
                cwd=self.work,
                port=sim_port,
                health_path="/_sim/config",
            ).start()
        )
        config = {"statusDelayMs": 20, "callbackConcurrency": 16, "batchStatuses": True}
        httpx.post(self.sim.url + "/_sim/config", json=config, timeout=10).raise_for_status()
        b.say(f"simulator: zapgate sim meta --port {sim_port}, pid {self.sim.pid}")
        self.settings = {
            "database_url": self.db.url,
            "allow_loopback_urls": "1",
            "meta_graph_url": self.sim.url,
            "meta_app_secret": META_APP_SECRET,
            "public_url": zg_url,
            "wake_dir": tempfile.mkdtemp(prefix="wake-", dir=self.work),
        }
        serve_settings = {**self.settings, "run_workers": "0"}
        b.say("zapgate serve: " + " ".join(f"ZAPGATE_{k.upper()}={v}" for k, v in serve_settings.items()))
        self.serve = self._keep(
            b.Server(
                "zapgate-serve",
                [b.ZAPGATE, "serve", "--host", b.HOST, "--port", str(zg_port)],
                env=b.clean_env(**serve_settings),
                cwd=self.work,
                port=zg_port,
            ).start(timeout=120)
        )
        b.say(f"  pid {self.serve.pid} on {self.serve.url}, workers OFF (API only)")
        self._start_workers()

    def _start_workers(self) -> None:
        roles = loops_for(self.args.workers)
        for loops in roles:
            extra = {"worker_loops": loops} if loops else {}
            self.started_workers += 1
            worker = Worker(
                f"zapgate-worker-{self.started_workers}",
                [b.ZAPGATE, "worker"],
                env=b.clean_env(**self.settings, **extra),
                cwd=self.work,
                port=0,
            ).start()
            self._keep(worker)
            self.workers.append(worker)
            self.every_worker.append(worker)
            b.say(f"zapgate worker: pid {worker.pid}" + (f", loops {loops}" if loops else ", every loop"))

    def _stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
            self.procs.remove(worker)
        self.workers = []

    def _keep(self, server: Any) -> Any:
        self.procs.append(server)
        return server

    async def _cpu(self) -> Cpu:
        assert self.serve is not None and self.sim is not None
        postgres = self.db.name is not None
        return Cpu(
            serve=process_cpu(self.serve.pid),
            workers=sum(process_cpu(w.pid) for w in self.workers),
            sim=process_cpu(self.sim.pid),
            bench=_own_cpu(),
            postgres=postgres_cpu() if postgres else None,
            bench_db=await self.db.backend_cpu() if postgres else None,
        )

    # -- the run ---------------------------------------------------------------------------

    async def _run(self) -> int:
        args = self.args
        assert self.serve is not None and self.sim is not None
        demo = _banner(self.serve.output())
        async with (
            httpx.AsyncClient(base_url=self.serve.url, timeout=60) as http,
            httpx.AsyncClient(base_url=self.sim.url, timeout=600) as simc,
        ):
            await self._setup(http, simc, demo["tenant_key"])
            self._stop_workers()
            b.say("workers stopped: filling the queues")
            await self._quiet_sim(simc)
            fill_s = await self._fill()
            queued = sum(n.queued for n in self.numbers)
            b.say(
                f"queued {queued} messages ({self.per_number} a number) in {fill_s:.1f} s "
                f"({queued / max(fill_s, 1e-9):.0f}/s accepted)"
            )
            started = time.time()
            self._start_workers()
            first = await self._first_send(simc, started)
            cpu0 = await self._cpu()
            b.say(
                f"first send {first - started:.2f} s after the workers were started; "
                f"running {args.seconds:g} s"
            )
            await self._progress(first)
            stop_at = time.time()
            cpu1 = await self._cpu()
            self._stop_workers()
            sends = orjson.loads((await simc.get("/_sim/messages")).content)
        cpu = CpuUsed.between(cpu0, cpu1)
        retried, claims = await self._database()
        if args.trace is not None:
            _trace(args.trace, self.numbers, sends, claims)
        report = Report(
            args,
            self.numbers,
            sends,
            claims,
            first,
            stop_at,
            cpu,
            retried,
            fill_s,
            errors=[
                f"{proc.name} {proc.pid}: {line}"
                for proc in (self.serve, *self.every_worker)
                for line in proc.error_summary()
            ],
        )
        return report.print()

    async def _setup(self, http: httpx.AsyncClient, simc: httpx.AsyncClient, tenant_key: str) -> None:
        args = self.args
        tenant = {"x-api-key": tenant_key}
        for i in range(args.numbers):
            number = MetaNumber(index=i, pnid=f"1{i + 1:014d}", waba=f"2{i + 1:014d}")
            display = f"1555{i + 1:07d}"
            _expect(
                await simc.post(
                    "/_sim/numbers",
                    json={
                        "phoneNumberId": number.pnid,
                        "wabaId": number.waba,
                        "accessToken": META_TOKEN,
                        "displayPhoneNumber": display,
                        "verifiedName": f"Pacing {i + 1}",
                    },
                ),
                200,
                "/_sim/numbers",
            )
            body = _expect(
                await http.post(
                    "/v1/numbers/meta",
                    headers=tenant,
                    json={
                        "name": f"Pacing {i + 1}",
                        "number": f"+{display}",
                        "phoneNumberId": number.pnid,
                        "wabaId": number.waba,
                        "accessToken": META_TOKEN,
                    },
                ),
                201,
                "POST /v1/numbers/meta",
            )
            number.id, number.key = str(body["instance"]["id"]), str(body["apiKey"]["key"])
            patched = _expect(
                await http.patch(
                    f"/v1/numbers/{number.id}", headers=tenant, json={"pacePerSecond": args.pace}
                ),
                200,
                "PATCH /v1/numbers/{id}",
            )
            if float(patched["pacePerSecond"]) != args.pace:
                raise SystemExit(f"pacePerSecond came back as {patched['pacePerSecond']}")
            _expect(
                await http.post("/v1/templates", headers={"x-api-key": number.key}, json=TEMPLATE),
                201,
                "POST /v1/templates",
            )
            r = await simc.get(
                f"/{GRAPH}/{number.waba}/message_templates",
                params={"name": TEMPLATE_NAME},
                headers={"Authorization": f"Bearer {META_TOKEN}"},
            )
            number.template = _expect(r, 200, "GET message_templates")["data"][0]["id"]
            await self._approve(simc, number)
            self.numbers.append(number)
        for number in self.numbers:
            await self._sendable(http, simc, number)
        b.say(
            f"setup: {args.numbers} Meta numbers (one WABA each), pacePerSecond {args.pace:g}, "
            f"template {TEMPLATE_NAME} approved and sendable on each"
        )

    @staticmethod
    async def _approve(simc: httpx.AsyncClient, number: MetaNumber) -> None:
        _expect(
            await simc.post(f"/_sim/templates/{number.template}/status", json={"event": "APPROVED"}),
            200,
            "/_sim/templates/status",
        )

    async def _sendable(self, http: httpx.AsyncClient, simc: httpx.AsyncClient, number: MetaNumber) -> None:
        """Until Zapgate has the template's approval (the simulator's status webhook, applied
        by the inbox worker); approved again once after 30 s."""
        start = time.monotonic()
        again = True
        while True:
            r = await http.get(f"/v1/templates/{TEMPLATE_NAME}", headers={"x-api-key": number.key})
            body = _expect(r, 200, "GET /v1/templates/{name}")
            if body["sendable"]:
                return
            waited = time.monotonic() - start
            if waited > 30 and again:
                b.say(
                    f"  number {number.index + 1}: template not sendable after 30 s "
                    f"({r.text[:200]}): approving again"
                )
                await self._approve(simc, number)
                again = False
            if waited > 90:
                callbacks = (await simc.get("/_sim/callbacks")).json()
                failed = [c for c in callbacks if not 200 <= int(c.get("status") or 0) < 300]
                raise SystemExit(
                    f"number {number.index + 1}: template not sendable within 90 s: "
                    f"{r.text[:300]}; simulator callbacks not answered 2xx: "
                    f"{len(failed)} of {len(callbacks)} "
                    f"{[(c.get('status'), c.get('error')) for c in failed[:3]]}"
                )
            await asyncio.sleep(0.1)

    async def _quiet_sim(self, simc: httpx.AsyncClient) -> None:
        """The simulator's limit well above the pace; without --statuses no status callbacks
        (only ``sent`` is recorded, none is posted)."""
        config: dict[str, Any] = {"mps": self.args.sim_mps}
        if not self.args.statuses:
            config.update(skipDelivered=True, dropRead=True)
            _expect(await simc.post("/_sim/callback", json={"url": None}), 200, "/_sim/callback")
        _expect(await simc.post("/_sim/config", json=config), 200, "/_sim/config")
        latency = self.args.sim_latency_ms
        if latency > 0:
            _expect(
                await simc.post(
                    "/_sim/faults",
                    json={"kind": "slow", "delayMs": int(latency), "path": "/messages", "times": 10**9},
                ),
                200,
                "/_sim/faults",
            )
        b.say(
            f"simulator: /_sim/config {config}"
            + ("" if self.args.statuses else "; status callbacks off")
            + (f"; every send answered {latency:g} ms late" if latency > 0 else "")
        )

    async def _fill(self) -> float:
        """Every number's queue, through ``POST /v1/messages/send`` (the numbers interleaved)."""
        assert self.serve is not None
        serve = self.serve
        heads = {
            n.index: f"POST /v1/messages/send HTTP/1.1\r\nhost: {b.HOST}:{serve.port}\r\n"
            f"x-api-key: {n.key}\r\ncontent-type: application/json\r\n"
            for n in self.numbers
        }
        jobs = ((n, j) for j in range(self.per_number) for n in self.numbers)
        failures: Counter[str] = Counter()
        t0 = time.time()

        async def client() -> None:
            conn = Connection(b.HOST, serve.port)
            try:
                for number, j in jobs:
                    body = orjson.dumps(
                        {
                            "destinationNumber": number.destination(j, self.per_number),
                            "templateId": TEMPLATE_NAME,
                            "variables": {"nome": "Ana", "pedido": str(j)},
                        }
                    )
                    status, content = await conn.post(heads[number.index], body)
                    if status == 202:
                        number.queued += 1
                    else:
                        failures[f"{status} {content[:120].decode(errors='replace')}"] += 1
            finally:
                conn.close()

        await asyncio.gather(*(client() for _ in range(self.args.concurrency)))
        if failures:
            raise SystemExit(f"sends not accepted: {dict(failures)}")
        return time.time() - t0

    async def _first_send(self, simc: httpx.AsyncClient, started: float) -> float:
        """When the first number's first message reached the simulator."""
        probe = self.numbers[0].destination(0, self.per_number).lstrip("+")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = (await simc.get("/_sim/messages", params={"to": probe})).json()
            if found:
                return float(found[0]["at"])
            await asyncio.sleep(0.05)
        raise SystemExit(f"no send reached the simulator within 120 s of {started:.0f}")

    async def _progress(self, first: float) -> None:
        """Wait until D seconds (and a second for the numbers that started later) after the
        first send, with a line every 10 s."""
        end = first + self.args.seconds + 1.0
        next_note = first + 10
        while (now := time.time()) < end:
            if now >= next_note:
                b.say(f"  {now - first:5.0f} s")
                next_note += 10
            await asyncio.sleep(min(0.5, end - now))

    async def _database(self) -> tuple[dict[str, Any], dict[str, list[float]]]:
        """From the database: messages tried more than once (a 130429 from the simulator,
        say), and when each message was claimed (``last_attempt_at``: the dispatcher took its
        token then), by number id."""
        queries = [
            "SELECT count(*) FILTER (WHERE attempts > 1), "
            "count(*) FILTER (WHERE error_message IS NOT NULL) FROM messages",
            "SELECT error_message, count(*) FROM messages WHERE error_message IS NOT NULL "
            "GROUP BY error_message ORDER BY 2 DESC LIMIT 3",
            "SELECT number_id, last_attempt_at FROM messages WHERE attempts = 1 "
            "AND last_attempt_at IS NOT NULL",
        ]
        if self.db.name is None:
            path = Path(self.db.url.split("///", 1)[1])
            counts, top, claimed = (b.sqlite_rows(path, sql) for sql in queries)
        else:
            import asyncpg

            conn = await asyncpg.connect(self.db.url.replace("postgresql+asyncpg://", "postgresql://", 1))
            try:
                counts, top, claimed = [[tuple(r) for r in await conn.fetch(sql)] for sql in queries]
            finally:
                await conn.close()
        more, with_error = counts[0]
        claims: dict[str, list[float]] = defaultdict(list)
        for number_id, at_ms in claimed:
            claims[str(number_id)].append(int(at_ms) / 1000)
        return (
            {
                "retried": int(more or 0),
                "with_error": int(with_error or 0),
                "errors": [f"{n} x {m}" for m, n in top],
            },
            claims,
        )


def _trace(
    path: Path, numbers: list[MetaNumber], sends: list[dict[str, Any]], claims: dict[str, list[float]]
) -> None:
    """``number,source,unix_seconds`` for every send at the simulator (``sim``) and every claim
    in Zapgate (``claim``)."""
    by_pnid = {n.pnid: n.index + 1 for n in numbers}
    by_id = {n.id: n.index + 1 for n in numbers}
    with path.open("w") as out:
        out.write("number,source,at\n")
        for send in sends:
            if str(send["phoneNumberId"]) in by_pnid:
                out.write(f"{by_pnid[str(send['phoneNumberId'])]},sim,{send['at']:.6f}\n")
        for number_id, times in claims.items():
            if number_id in by_id:
                out.writelines(f"{by_id[number_id]},claim,{at:.3f}\n" for at in times)
    b.say(f"trace: {path}")


def _expect(r: httpx.Response, status: int, what: str) -> Any:
    if r.status_code != status:
        raise SystemExit(f"{what} answered {r.status_code} (expected {status}): {r.text[:500]}")
    return r.json()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants."""
    proc = psutil.Process(pid)
    total = 0.0
    for each in (proc, *proc.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def _own_cpu() -> float:
    """This process alone (the servers it started are its children)."""
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def postgres_cpu() -> dict[int, float] | None:
    """CPU seconds of every PostgreSQL server process, by pid (a backend that exits during
    the run drops out of the difference instead of making it negative)."""
    out: dict[int, float] = {}
    for proc in psutil.process_iter(["name"]):
        if str(proc.info.get("name") or "").startswith("postgres"):
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                out[proc.pid] = times.user + times.system
    return out or None


def _cpu_delta(after: dict[int, float] | None, before: dict[int, float] | None) -> float | None:
    if after is None or before is None:
        return None
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _banner(text: str) -> dict[str, str]:
    found = re.search(r"^Tenant key:\s+(\S+)", text, re.M)
    if not found:
        raise RuntimeError("no demo banner in the serve output:\n" + text[-3000:])
    return {"tenant_key": found.group(1)}


# -- analysis --------------------------------------------------------------------------------


def needed_depth(times: list[float], rate: float) -> float:
    """The smallest token-bucket depth at ``rate`` that lets these sends through: the largest
    ``sends(t_i..t_j) - rate * (t_j - t_i)`` over every window (O(n))."""
    worst, best_start = 0.0, float("-inf")
    for count, at in enumerate(times):
        best_start = max(best_start, rate * at - count)
        worst = max(worst, count + 1 - rate * at + best_start)
    return worst


def spent(times: list[float], pace: float, bucket: float) -> float:
    """When the rate window starts: one second after the first send, or later if the number
    had not spent the bucket it started with by then (the first send by which it has sent
    its bucket plus the pace since its first send, give or take one message). A number that
    never gets there is slower than its pace anyway: its window starts at one second."""
    t0 = times[0]
    for count, at in enumerate(times, start=1):
        if at >= t0 + 1 and count >= bucket + pace * (at - t0) - 1:
            return at
        if at > t0 + 10:
            break
    return t0 + 1


def max_in_window(times: list[float], width: float) -> int:
    """Most sends in any window ``[t, t + width)`` (``times`` sorted)."""
    best, j = 0, 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] < start + width:
            j += 1
        best = max(best, j - i)
    return best


@dataclass
class NumberResult:
    index: int
    sends: int
    first: float
    first_second: int
    settled: float  # seconds from t0 to the rate window: the bucket it started with spent
    window: float  # seconds measured
    in_window: int  # sends counted: from the window's first send to the one after its end
    rate: float
    deviation: float  # (rate - pace) / pace
    upto_end: int  # sends from the first to the end of the window
    max_1s: int  # after the first second
    depth: float  # at the simulator
    claim_depth: float  # at the claims in Zapgate (last_attempt_at, ms)

    @classmethod
    def of(
        cls,
        index: int,
        times: list[float],
        claims: list[float],
        *,
        pace: float,
        bucket: float,
        seconds: float,
        stop: float,
    ) -> NumberResult:
        t0 = times[0]
        start, end = spent(times, pace, bucket), min(t0 + seconds, stop)
        # From the first send in the window to the first one after it: the dispatcher sends
        # in batches (a claim each), and a batch then counts once whatever the window's edges.
        i = min(bisect.bisect_left(times, start), len(times) - 1)
        j = min(bisect.bisect_left(times, end), len(times) - 1)
        window = times[j] - times[i] if j > i else 0.0
        rate = (j - i) / window if window > 0 else 0.0
        return cls(
            index,
            len(times),
            t0,
            bisect.bisect_left(times, t0 + 1),
            times[i] - t0,
            window,
            j - i,
            rate,
            (rate - pace) / pace,
            bisect.bisect_left(times, end),
            max_in_window(times[bisect.bisect_left(times, t0 + 1) :], 1.0),
            needed_depth(times, pace),
            needed_depth(sorted(claims), pace),
        )


@dataclass
class Report:
    args: argparse.Namespace
    numbers: list[MetaNumber]
    sends: list[dict[str, Any]]
    claims: dict[str, list[float]]  # number id -> claim times
    first: float
    stop: float
    cpu: CpuUsed
    retried: dict[str, Any]
    fill_s: float
    errors: list[str] = field(default_factory=list)

    def print(self) -> int:
        args = self.args
        pace = args.pace
        bucket = max(1.0, pace)  # TokenBucket's default burst: the pace, at least 1
        allowance = max(1.0, pace * args.jitter_allowance)
        by_pnid: dict[str, list[float]] = defaultdict(list)
        for send in self.sends:
            by_pnid[str(send["phoneNumberId"])].append(float(send["at"]))
        results: list[NumberResult] = []
        silent = []
        for number in self.numbers:
            times = sorted(by_pnid.get(number.pnid, []))
            if not times:
                silent.append(number.index + 1)
                continue
            results.append(
                NumberResult.of(
                    number.index + 1,
                    times,
                    self.claims.get(number.id, []),
                    pace=pace,
                    bucket=bucket,
                    seconds=args.seconds,
                    stop=self.stop,
                )
            )
        if not results:
            b.say("INVALID: no number sent anything")
            return 1
        rates = [r.rate for r in results]
        worst_dev = max(results, key=lambda r: abs(r.deviation))
        worst_1s = max(results, key=lambda r: r.max_1s)
        worst_depth = max(results, key=lambda r: r.depth)
        worst_claim = max(results, key=lambda r: r.claim_depth)
        missed_rate = [r for r in results if abs(r.deviation) > TOLERANCE]
        # Claim times are whole milliseconds, read just before the claim's query.
        over_in_zapgate = [r for r in results if r.claim_depth > bucket + CLAIM_SLACK]
        over_at_sim = [r for r in results if r.depth > bucket + allowance]
        # A queue emptied before its window ended: that number was not limited by its pace.
        drained = [r for r in results if r.upto_end >= self.numbers[r.index - 1].queued]
        # Aggregate: every send inside the window all numbers share.
        common_start = max(r.first + r.settled for r in results)
        common_end = min(min(r.first + args.seconds for r in results), self.stop)
        common = max(common_end - common_start, 1e-9)
        in_common = sum(1 for s in self.sends if common_start <= float(s["at"]) < common_end)
        total = len(self.sends)
        span = max(float(s["at"]) for s in self.sends) - min(float(s["at"]) for s in self.sends)
        wall = max(self.stop - self.first, 1e-9)  # what the CPU figures cover
        in_run = sum(1 for s in self.sends if self.first <= float(s["at"]) < self.stop)
        target = pace * args.numbers
        table: list[tuple[str, str]] = [
            (
                "setup",
                f"{args.numbers} Meta numbers x {pace:g} msg/s = {target:g} sends/s "
                f"wanted, {args.seconds:g} s, {args.backend}, {args.workers} worker "
                f"process(es), simulator mps {args.sim_mps:g}, status callbacks "
                f"{'on' if args.statuses else 'off'}, simulator latency "
                f"{args.sim_latency_ms:g} ms",
            ),
            (
                "queued before the first send",
                f"{sum(n.queued for n in self.numbers)} "
                f"({self.per_number_text()}), accepted in {self.fill_s:.1f} s",
            ),
            (
                "numbers that sent",
                f"{len(results)} of {args.numbers}" + (f"; silent: {silent[:10]}" if silent else ""),
            ),
            (
                "first second per number (bucket + 1 s of pace)",
                f"min {min(r.first_second for r in results)} / max "
                f"{max(r.first_second for r in results)} (bucket {bucket:g} + pace {pace:g})",
            ),
            (
                f"rate per number from its first bucket spent (t0 + 1 s or later) to t0 + {args.seconds:g} s",
                f"min **{min(rates):.2f}** / median {statistics.median(rates):.2f} / max "
                f"{max(rates):.2f} msg/s (pace {pace:g}); windows "
                f"{min(r.window for r in results):.1f}-{max(r.window for r in results):.1f} s, "
                f"starting t0 + {min(r.settled for r in results):.2f}-"
                f"{max(r.settled for r in results):.2f} s",
            ),
            (
                "worst deviation from the pace",
                f"**{worst_dev.deviation:+.1%}** (number {worst_dev.index}); within "
                f"{TOLERANCE:.0%}: {len(results) - len(missed_rate)} of {len(results)}",
            ),
            (
                "most sends in any 1 s window after the first second",
                f"**{worst_1s.max_1s}** (number {worst_1s.index}); bucket {bucket:g}: steady about "
                f"the pace, a bucket allows up to bucket + pace = {bucket + pace:g} after a stall",
            ),
            (
                "bucket depth the claims need in Zapgate (worst; last_attempt_at)",
                f"**{worst_claim.claim_depth:.1f}** (number {worst_claim.index}); bucket "
                f"{bucket:g}; above: {len(over_in_zapgate)}",
            ),
            (
                "bucket depth the sends need at the simulator (worst)",
                f"**{worst_depth.depth:.1f}** (number {worst_depth.index}); bucket {bucket:g}, "
                f"+ {allowance:.1f} forgiven for network bunching; above: {len(over_at_sim)}",
            ),
            (
                "aggregate",
                f"{in_common / common:.0f} sends/s over the {common:.1f} s every number "
                f"was in its window ({in_common / common / target:.0%} of "
                f"{target:g}); {total} sends in {span:.1f} s overall",
            ),
            (
                "retried messages (database)",
                f"{self.retried['retried']} tried more than once, {self.retried['with_error']} "
                f"with an error"
                + (f": {'; '.join(self.retried['errors'])}" if self.retried["errors"] else ""),
            ),
            (
                "CPU: zapgate worker(s)",
                _cpu_text(self.cpu.workers, wall)
                + f", {self.cpu.workers * 1000 / max(in_run, 1):.2f} ms a send",
            ),
            ("CPU: zapgate serve (API, idle here)", _cpu_text(self.cpu.serve, wall)),
        ]
        if args.backend == "postgres":
            table += [
                (
                    "CPU: PostgreSQL (bench database's backends / every server process)",
                    f"{_cpu_text(self.cpu.bench_db, wall)} / {_cpu_text(self.cpu.postgres, wall)}",
                )
            ]
        table += [
            ("CPU: simulator", _cpu_text(self.cpu.sim, wall)),
            ("CPU: this process", _cpu_text(self.cpu.bench, wall)),
        ]
        b.say("\n| measure | value |\n| --- | --- |")
        for k, v in table:
            b.say(f"| {k} | {v} |")
        if args.per_number or args.numbers <= 10:
            b.say(
                "\n| number | sends | first second | rate msg/s | deviation | max 1 s | "
                "depth: claims / sim |\n| --- | --- | --- | --- | --- | --- | --- |"
            )
            for r in results:
                b.say(
                    f"| {r.index} | {r.sends} | {r.first_second} | {r.rate:.2f} | "
                    f"{r.deviation:+.1%} | {r.max_1s} | {r.claim_depth:.1f} / {r.depth:.1f} |"
                )
        for line in self.errors:
            b.say(f"zapgate log: {line}")
        b.say(f"after: {b.load_line()}")
        problems = []
        if silent:
            problems.append(f"{len(silent)} numbers sent nothing")
        if missed_rate:
            slow = sum(1 for r in missed_rate if r.deviation < 0)
            problems.append(
                f"{len(missed_rate)} of {len(results)} numbers off their pace by "
                f"more than {TOLERANCE:.0%} ({slow} below, "
                f"{len(missed_rate) - slow} above)"
            )
        if over_in_zapgate:
            problems.append(f"{len(over_in_zapgate)} numbers claimed above their bucket in Zapgate")
        if over_at_sim:
            problems.append(
                f"{len(over_at_sim)} numbers arrived at the simulator above their "
                f"bucket + {allowance:.1f}"
                + ("" if over_in_zapgate else " (claimed within it: bunched on the way, e.g. a busy machine)")
            )
        if drained:
            problems.append(
                f"{len(drained)} numbers ran out of queued messages (the window is not pace-limited)"
            )
        if problems:
            b.say("verdict: MISSED: " + "; ".join(problems))
            if missed_rate and all(r.deviation < 0 for r in missed_rate):
                b.say(
                    f"  (every miss is below the pace: either the machine did not carry "
                    f"{target:g} sends/s (see the CPU lines; try fewer numbers or a lower "
                    "pace), or a number's sends in flight (32 for Meta, claimed again once "
                    "half are answered) over the simulator's latency bound its rate)"
                )
            return 1
        b.say(
            f"verdict: HELD: every number within {TOLERANCE:.0%} of {pace:g} msg/s, none "
            f"above its bucket of {bucket:g}"
        )
        return 0

    def per_number_text(self) -> str:
        counts = {n.queued for n in self.numbers}
        return f"{counts.pop()} a number" if len(counts) == 1 else "per number: varies"


def _cpu_text(cpu: float | None, wall: float) -> str:
    if cpu is None:
        return "n/a"
    return f"{cpu:.1f} s = **{cpu / wall:.0%}** of a core"


if __name__ == "__main__":
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    sys.exit(main())
