"""Shared helpers for the benchmarks: wrk, subprocess servers on loopback, the SQLite file.

Every server listens on 127.0.0.1 and every request goes there; nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
ZAPGATE = str(VENV_BIN / "zapgate")
HOST = "127.0.0.1"


def rel(path: str) -> str:
    """``path`` relative to the repository when it is inside it (for printed commands)."""
    try:
        return str(Path(path).absolute().relative_to(ROOT))
    except ValueError:
        return path


def say(*parts: object) -> None:
    print(*parts, flush=True)


def machine_line() -> str:
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"{mem:.0f} GiB, {platform.platform()}, Python {platform.python_version()}, "
        f"{load_line()}\n{code_line()}"
    )


def code_line() -> str:
    """Which code was measured: the commit, and whether src/ had uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [ln for ln in git("status", "--porcelain", "--", "src").splitlines() if ln]
    return f"code: commit {commit}" + (
        f" + uncommitted changes in {len(changed)} src/ files" if changed else " (src/ clean)"
    )


def load_line() -> str:
    """The load average: other work on this machine (2 cores) lowers every number here."""
    one, five, _ = os.getloadavg()
    busy = "  <-- machine busy: expect lower numbers" if one > 1.0 else ""
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min){busy}"


# -- wrk -----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk from Debian, installed on first use (the bench machine is root, with apt)."""
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        raise SystemExit("wrk is missing and apt-get is not available: install wrk first")
    say("wrk is missing: installing it with apt-get (Debian package 'wrk')")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, check=False, stdout=subprocess.DEVNULL, env=env).returncode:
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL, env=env)
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("installing wrk did not put it on PATH")
    return found


# The request bodies are built once per wrk thread (one per destination, cycled), so the Lua
# side costs the same for every server measured. ``response`` counts statuses per thread;
# ``done`` sums them and prints one JSON line that ``run_wrk`` parses. Destinations start at
# +5511920000001, clear of the sandbox's magic destinations (+55119000000xx).
_LUA = r"""
local path = %(path)s
local headers = %(headers)s
local body_fmt = %(body_fmt)s
local variants = %(variants)d
local limit = %(limit)d
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  statuses = {}
  seen = 0
  pos = 0
  for i = 1, variants do
    local dest = string.format("+55119%%08d", 20000000 + tid * variants + i)
    reqs[i] = wrk.format("POST", path, headers, string.format(body_fmt, dest))
  end
end

function request()
  pos = pos %% variants + 1
  return reqs[pos]
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
  seen = seen + 1
  if limit > 0 and seen >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do agg[k] = (agg[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(agg) do table.insert(parts, string.format('"%%d": %%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us": %%d, "requests": %%d, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"p50": %%d, "p90": %%d, "p99": %%d, "max": %%d, "mean": %%.1f}, ' ..
    '"statuses": {%%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, table.concat(parts, ", ")))
end
"""


def _lua_str(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def lua_script(
    *,
    path: str,
    headers: dict[str, str],
    body_template: dict[str, Any],
    limit_per_thread: int = 0,
    variants: int = 1000,
) -> str:
    """A wrk script POSTing ``body_template`` with ``destinationNumber`` varied per request."""
    body_fmt = json.dumps(body_template, separators=(",", ":")).replace("%", "%%")
    body_fmt = body_fmt.replace('"__DEST__"', '"%s"')
    lua_headers = "{" + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in headers.items()) + "}"
    return _LUA % {
        "path": _lua_str(path),
        "headers": lua_headers,
        "body_fmt": _lua_str(body_fmt),
        "variants": variants,
        "limit": limit_per_thread,
    }


@dataclass
class WrkResult:
    label: str
    duration_s: float
    requests: int
    statuses: dict[int, int]
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    command: str
    raw: str = field(repr=False)
    server_cpu_s: float | None = None  # the server's CPU time during the run, when measured

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    @property
    def valid(self) -> bool:
        return self.non_2xx == 0 and self.socket_errors == 0 and self.requests > 0

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s * 1000 / self.requests

    def line(self) -> str:
        flag = "" if self.valid else "   <-- INVALID: errors"
        cpu = self.cpu_ms_per_request
        cpu_text = f"  server CPU {cpu:.3f} ms/req" if cpu is not None else ""
        return (
            f"{self.label:<28} {self.rps:9.1f} req/s  p50 {self.p50_ms:7.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms  non-2xx {self.non_2xx}  "
            f"socket errors {self.socket_errors}  ({self.requests} requests){cpu_text}{flag}"
        )


def run_wrk(
    label: str,
    url: str,
    script: str,
    *,
    threads: int,
    connections: int,
    duration: str,
    timeout: str = "10s",
    workdir: Path,
    stop_when: Any = None,
    server: Server | None = None,
) -> WrkResult:
    """Run wrk; ``stop_when()`` (polled twice a second) may end it early with SIGINT. With
    ``server``, the result carries the CPU time that server used during the run."""
    cpu_before = server.cpu_seconds() if server is not None else 0.0
    lua = workdir / f"wrk-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.lua"
    lua.write_text(script)
    cmd = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}",
        f"--timeout={timeout}",
        "--latency",
        "-s",
        str(lua),
        url,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if stop_when is not None:
        while proc.poll() is None:
            if stop_when():
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.5)
    out, _ = proc.communicate()
    match = re.search(r"^WRKJSON (.*)$", out, re.M)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}):\n{out}")
    cpu = server.cpu_seconds() - cpu_before if server is not None else None
    data = json.loads(match.group(1))
    lat = data["latency_us"]
    return WrkResult(
        label=label,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        statuses={int(k): v for k, v in data["statuses"].items()},
        errors=data["errors"],
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        command=" ".join([*cmd[:-3], "<script>", url]),
        raw=out,
        server_cpu_s=cpu,
    )


# -- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """A server subprocess whose output is kept (in memory and in ``log``)."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        port: int,
        health_path: str = "/healthz",
    ) -> None:
        self.name, self.cmd, self.env, self.cwd = name, cmd, env, cwd
        self.port, self.health_path = port, health_path
        self.lines: list[str] = []
        self.log = cwd / f"{name}.log"
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> Server:
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n" + "".join(self.lines[-40:])
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + self.health_path, timeout=1).status_code < 500:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s")

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.log.open("w") as log:
            for line in self.proc.stdout:
                self.lines.append(line)
                log.write(line)
                log.flush()

    def output(self) -> str:
        return "".join(self.lines)

    def error_lines(self) -> list[str]:
        """Error records of the server's log, one short line each (message and exception)."""
        found = []
        for line in self.lines:
            if line.startswith("{") and re.search(r'"level": ?"(error|critical)"', line, re.I):
                with contextlib.suppress(ValueError):
                    rec = json.loads(line)
                    exc = str(rec.get("exc", "")).strip().splitlines()
                    found.append(f"{rec.get('logger')}: {rec.get('msg')}" + (f" ({exc[-1]})" if exc else ""))
                    continue
            if re.match(r"(ERROR|CRITICAL)\b", line):
                found.append(line.rstrip())
        return found

    def error_summary(self, limit: int = 5) -> list[str]:
        counts: dict[str, int] = {}
        for line in self.error_lines():
            counts[line] = counts.get(line, 0) + 1
        return [f"{n} x {line}" for line, n in list(counts.items())[:limit]]

    def rss_bytes(self) -> int:
        proc = psutil.Process(self.pid)
        return int(proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True)))

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far (children included)."""
        proc = psutil.Process(self.pid)
        times = [proc.cpu_times(), *(c.cpu_times() for c in proc.children(recursive=True))]
        return float(sum(t.user + t.system for t in times))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def clean_env(**zapgate: str) -> dict[str, str]:
    """The environment without any ZAPGATE_* of the caller's, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZAPGATE_")}
    env.update({f"ZAPGATE_{k.upper()}": v for k, v in zapgate.items()})
    return env


@dataclass
class Zapgate:
    server: Server
    db_path: Path
    number_key: str
    tenant_key: str


def start_zapgate(
    workdir: Path, *, name: str = "zapgate", port: int | None = None, processes: int = 1, **settings: str
) -> Zapgate:
    """``zapgate serve`` on a fresh SQLite file in ``workdir``; keys read off the demo banner.
    ``port`` is for callers that must name Zapgate's address before it starts."""
    db_path = workdir / f"{name}.db"
    port = port or free_port()
    env = clean_env(database_url=f"sqlite+aiosqlite:///{db_path}", **settings)
    server = Server(
        name,
        [ZAPGATE, "serve", "--host", HOST, "--port", str(port), "--workers", str(processes)],
        env=env,
        cwd=workdir,
        port=port,
    ).start()
    text = server.output()
    number_key = re.search(r"^Number key:\s+(\S+)", text, re.M)
    tenant_key = re.search(r"^Tenant key:\s+(\S+)", text, re.M)
    if not (number_key and tenant_key):
        server.stop()
        raise RuntimeError("no demo banner in the serve output:\n" + text[-3000:])
    say(f"{name}: pid {server.pid} on {server.url}, database {db_path}")
    return Zapgate(server, db_path, number_key.group(1), tenant_key.group(1))


def start_echo(workdir: Path, processes: int = 1) -> Server:
    port = free_port()
    cmd = [
        str(VENV_BIN / "uvicorn"),
        "echo_app:app",
        "--app-dir",
        str(BENCH),
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(processes),
    ]
    return Server("echo", cmd, env=clean_env(), cwd=workdir, port=port, health_path="/healthz").start()


@contextlib.contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A temporary folder for DBs, logs and wrk scripts (kept with BENCH_KEEP=1)."""
    path = Path(tempfile.mkdtemp(prefix=f"zapgate-bench-{prefix}-"))
    try:
        yield path
    finally:
        if os.environ.get("BENCH_KEEP"):
            say(f"(kept {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


# -- the database --------------------------------------------------------------------------------


def sqlite_scalar(db_path: Path, sql: str, *params: object) -> Any:
    """One value, read through a read-only connection (WAL: it does not block the server)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def sqlite_rows(db_path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def settled_count(
    db_path: Path, sql: str = "SELECT count(*) FROM messages", quiet_for: float = 1.0, timeout: float = 30.0
) -> int:
    """The count once it has stopped changing for ``quiet_for`` seconds (in-flight requests
    finish first)."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = int(sqlite_scalar(db_path, sql))
        if value != last:
            last, since = value, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            break
        time.sleep(0.2)
    return last


def db_files_size(db_path: Path) -> int:
    return sum(
        p.stat().st_size for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")) if p.exists()
    )


def api_total(base_url: str, key: str) -> int | None:
    """The message total as the API reports it (``GET /v1/messages?pageSize=1``)."""
    r = httpx.get(f"{base_url}/v1/messages", params={"pageSize": 1}, headers={"x-api-key": key}, timeout=30)
    if r.status_code != 200:
        return None
    body = r.json()
    for k in ("total", "totalCount", "count"):
        if isinstance(body.get(k), int):
            return int(body[k])
    pagination = body.get("pagination") or body.get("meta") or {}
    value = pagination.get("total") if isinstance(pagination, dict) else None
    return int(value) if isinstance(value, int) else None


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def spy(pid: int, out: Path, seconds: int) -> subprocess.Popen[bytes]:
    """Start ``py-spy record --gil`` (raw stacks, 100 Hz) on ``pid`` for ``seconds`` into
    ``out``. Summarise with ``bench/pyspy_summary.py``."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            exe,
            "record",
            "--gil",
            "--nonblocking",
            "-r",
            "100",
            "-f",
            "raw",
            "-o",
            str(out),
            "--pid",
            str(pid),
            "-d",
            str(seconds),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def profiled(server: Server, folder: Path | None, name: str, duration: str) -> Iterator[None]:
    """Record ``server``'s process (and its children, each in a file of its own) into
    ``folder/name[-pid].txt`` for the length of the block (``duration`` as wrk writes it, e.g.
    15s); nothing when ``folder`` is None."""
    if folder is None:
        yield
        return
    seconds = int(float(duration.rstrip("s")))
    pids = [server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))]
    outs = [folder / (f"{name}.txt" if i == 0 else f"{name}-{pid}.txt") for i, pid in enumerate(pids)]
    spies = [spy(pid, out, seconds) for pid, out in zip(pids, outs, strict=True)]
    try:
        yield
    finally:
        for proc, out in zip(spies, outs, strict=True):
            proc.wait(timeout=seconds + 30)
            say(f"    profile: {out} (bench/pyspy_summary.py {out})")
