"""Memory of ``zapgate serve`` with a large queue: RSS before and after N queued messages.

    .venv/bin/python bench/memory_queued.py [--messages 100000] [--connections 32]

Starts ``zapgate serve`` on a fresh SQLite file with ZAPGATE_RUN_WORKERS=0, so every accepted
message stays QUEUED, pushes N sends through POST /v1/messages/send with wrk (destination varied
per request), then reports the server's RSS (psutil; children included) when idle, at its peak
and after the load, plus the database's size on disk (file, -wal and -shm). The run time is N
divided by the send rate (bench/send_vs_echo.py measures that rate).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import benchlib as b

PATH = "/v1/messages/send"
BODY = {"destinationNumber": "__DEST__", "text": "Hello from the Zapgate memory benchmark"}


class RssSampler:
    """The server's RSS once a second, in a thread (peak and the last value)."""

    def __init__(self, server: b.Server) -> None:
        self.server = server
        self.peak = 0
        self.last = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.last = self.server.rss_bytes()
            self.peak = max(self.peak, self.last)
            self._stop.wait(1.0)


def main() -> int:
    args = _args()
    b.ensure_wrk()
    b.say(f"machine: {b.machine_line()}")
    with b.workspace("memory") as work:
        zg = b.start_zapgate(work, name="zapgate-queue", run_workers="0")
        try:
            return _measure(args, work, zg)
        finally:
            zg.server.stop()


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument(
        "--max-seconds",
        type=int,
        default=900,
        help="stop the load after this long even if fewer messages were queued",
    )
    return p.parse_args()


def _measure(args: argparse.Namespace, work: Path, zg: b.Zapgate) -> int:
    time.sleep(1.0)
    idle = zg.server.rss_bytes()
    db_idle = b.db_files_size(zg.db_path)
    b.say(f"idle after start: RSS {b.mib(idle)}, database {b.mib(db_idle)}")
    b.say(
        f"queueing {args.messages} messages (workers OFF) with wrk -t{args.threads} -c{args.connections} ..."
    )
    script = b.lua_script(
        path=PATH,
        body_template=BODY,
        headers={"content-type": "application/json", "x-api-key": zg.number_key},
        limit_per_thread=-(-args.messages // args.threads),
    )
    started = time.monotonic()
    with RssSampler(zg.server) as rss:
        result = b.run_wrk(
            "queue fill",
            zg.server.url + PATH,
            script,
            threads=args.threads,
            connections=args.connections,
            duration=f"{args.max_seconds}s",
            workdir=work,
            stop_when=_stopper(zg, args.messages, rss, started),
            server=zg.server,
        )
    elapsed = time.monotonic() - started
    queued = b.settled_count(zg.db_path, "SELECT count(*) FROM messages WHERE status = 'QUEUED'")
    time.sleep(1.0)
    after = zg.server.rss_bytes()
    db_after = b.db_files_size(zg.db_path)
    b.say(result.line())
    _report(args, idle, rss.peak, after, db_idle, db_after, queued, elapsed, result, zg)
    return 0 if result.valid and queued >= args.messages else 1


def _stopper(zg: b.Zapgate, target: int, rss: RssSampler, started: float) -> Callable[[], bool]:
    """Ends wrk once the database holds ``target`` messages; prints progress every 15 s."""
    state = {"next": 15.0}

    def done() -> bool:
        count = int(b.sqlite_scalar(zg.db_path, "SELECT count(*) FROM messages"))
        now = time.monotonic() - started
        if now >= state["next"]:
            state["next"] += 15.0
            b.say(f"  {now:5.0f} s: {count} queued ({count / now:.0f}/s), RSS {b.mib(rss.last)}")
        return count >= target

    return done


def _report(
    args: argparse.Namespace,
    idle: int,
    peak: int,
    after: int,
    db_idle: int,
    db_after: int,
    queued: int,
    elapsed: float,
    result: b.WrkResult,
    zg: b.Zapgate,
) -> None:
    per_msg = (after - idle) / queued if queued else 0
    b.say("\nsummary")
    b.say(
        f"  messages QUEUED in the database: {queued} (wanted {args.messages}) in "
        f"{elapsed:.0f} s ({queued / elapsed:.0f} accepted/s)"
    )
    b.say(
        f"  RSS: idle {b.mib(idle)} -> peak {b.mib(peak)} -> after {b.mib(after)} "
        f"({per_msg:+.0f} bytes per queued message)"
    )
    b.say(
        f"  database on disk: {b.mib(db_idle)} -> {b.mib(db_after)} "
        f"({(db_after - db_idle) / max(queued, 1):.0f} bytes per message, WAL included)"
    )
    b.say(f"  API total (GET /v1/messages?pageSize=1): {b.api_total(zg.server.url, zg.number_key)}")
    if not result.valid:
        b.say(f"  INVALID RUN: statuses {result.statuses}, errors {result.errors}")
    for line in zg.server.error_summary():
        b.say(f"  server log: {line}")
    b.say(f"  after: {b.load_line()}")


if __name__ == "__main__":
    sys.exit(main())
