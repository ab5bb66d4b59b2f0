"""POST /v1/messages/send against a bare Starlette echo endpoint, with the same wrk load.

    .venv/bin/python bench/send_vs_echo.py [--threads 1] [--connections 32] [--duration 15s]

Runs, in order and with the same wrk settings: (i) bench/echo_app.py under uvicorn (one process,
no access log), (ii) ``zapgate serve`` with workers ON on a fresh SQLite file (the realistic
case: the dispatcher and receipt workers run beside the API and share the database), and
(iii) unless ``--skip-api-only``, the same with ZAPGATE_RUN_WORKERS=0 (the API alone). Each
gets a short warm-up first. Afterwards it checks that the database holds a message for every
202 that wrk saw. Prints requests/s, the ratio to the echo, latency p50/p99 and non-2xx counts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import benchlib as b

BODY = {"destinationNumber": "__DEST__", "text": "Hello from the Zapgate benchmark"}
PATH = "/v1/messages/send"


def main() -> int:
    args = _args()
    b.ensure_wrk()
    b.say(f"machine: {b.machine_line()}")
    b.say(
        f"wrk: -t{args.threads} -c{args.connections} -d{args.duration} (warm-up "
        f"{args.warmup}), POST {PATH} with a text body, destination varied per request\n"
    )
    results: list[b.WrkResult] = []
    problems: list[str] = []
    with b.workspace("send-vs-echo") as work:
        results.append(_echo(args, work))
        runs = [("zapgate send, workers ON", "1")]
        if not args.skip_api_only:
            runs.append(("zapgate send, workers OFF", "0"))
        for label, workers in runs:
            result, issues = _zapgate(args, work, label, workers)
            results.append(result)
            problems += issues
    _report(results, problems)
    b.say(f"  after: {b.load_line()}")
    return 1 if problems or not all(r.valid for r in results) else 0


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", default="15s")
    p.add_argument("--warmup", default="3s")
    p.add_argument(
        "--worker-process",
        choices=("auto", "on", "off"),
        default="auto",
        help="ZAPGATE_WORKER_PROCESS of the workers-ON server (auto: the workers in "
        "their own process on a multi-core machine)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="HTTP server processes, the same for the echo (uvicorn --workers N) and "
        "Zapgate (serve --workers N)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record each Zapgate run with py-spy (--gil, raw) into DIR",
    )
    p.add_argument(
        "--skip-api-only", action="store_true", help="skip the second Zapgate run with ZAPGATE_RUN_WORKERS=0"
    )
    return p.parse_args()


def _wrk(
    args: argparse.Namespace, label: str, server: b.Server, key: str, work: Path, duration: str
) -> b.WrkResult:
    script = b.lua_script(
        path=PATH, body_template=BODY, headers={"content-type": "application/json", "x-api-key": key}
    )
    return b.run_wrk(
        label,
        server.url + PATH,
        script,
        threads=args.threads,
        connections=args.connections,
        duration=duration,
        workdir=work,
        server=server,
    )


def _echo(args: argparse.Namespace, work: Path) -> b.WrkResult:
    echo = b.start_echo(work, args.processes)
    try:
        _wrk(args, "echo warm-up", echo, "ps_echo", work, args.warmup)
        result = _wrk(args, "starlette echo", echo, "ps_echo", work, args.duration)
    finally:
        echo.stop()
    b.say(result.line())
    return result


def _zapgate(args: argparse.Namespace, work: Path, label: str, workers: str) -> tuple[b.WrkResult, list[str]]:
    name = "zapgate-workers-" + ("on" if workers == "1" else "off")
    zg = b.start_zapgate(
        work, name=name, run_workers=workers, processes=args.processes, worker_process=args.worker_process
    )
    try:
        before = b.settled_count(zg.db_path)  # the demo's own message
        warm = _wrk(args, label + " warm-up", zg.server, zg.number_key, work, args.warmup)
        with b.profiled(zg.server, args.profile, name, args.duration):
            result = _wrk(args, label, zg.server, zg.number_key, work, args.duration)
        b.say(result.line())
        issues = _durability(zg, [warm, result], args.connections, before)
        for line in zg.server.error_summary():
            b.say(f"    server log: {line}")
    finally:
        zg.server.stop()
    return result, issues


def _durability(zg: b.Zapgate, runs: list[b.WrkResult], connections: int, before: int) -> list[str]:
    """Every 202 must be a row. Requests still in flight when wrk stopped were never counted by
    wrk but may have been stored, so the database may hold up to one per connection more."""
    accepted = sum(r.statuses.get(202, 0) for r in runs)
    stored = b.settled_count(zg.db_path) - before
    via_api = b.api_total(zg.server.url, zg.number_key) - before
    extra = stored - accepted
    verdict = (
        "OK"
        if 0 <= extra <= connections * len(runs)
        else "LOST MESSAGES"
        if extra < 0
        else "UNEXPECTED EXTRA ROWS"
    )
    b.say(
        f"    durability: wrk saw {accepted} x 202 (warm-up included); database holds "
        f"{stored} messages (API total: {via_api}); difference {extra:+d} "
        f"(0..{connections * len(runs)} expected: in flight when wrk stopped) -> {verdict}"
    )
    return [] if verdict == "OK" else [f"durability: {verdict} ({accepted} x 202, {stored} rows)"]


def _report(results: list[b.WrkResult], problems: list[str]) -> None:
    echo = results[0]
    b.say("\nsummary")
    for r in results:
        b.say(f"  {r.line()}")
    for r in results[1:]:
        cpu, echo_cpu = r.cpu_ms_per_request, echo.cpu_ms_per_request
        cpu_ratio = f"; server CPU per request {cpu / echo_cpu:.0f}x echo's" if cpu and echo_cpu else ""
        b.say(f"  {r.label}: {r.rps / echo.rps:.1%} of echo's requests/s{cpu_ratio}")
    b.say(f"  wrk: {echo.command}")
    for r in results:
        if not r.valid:
            b.say(f"  INVALID RUN {r.label}: statuses {r.statuses}, errors {r.errors}")
    for p in problems:
        b.say(f"  PROBLEM: {p}")


if __name__ == "__main__":
    sys.exit(main())
