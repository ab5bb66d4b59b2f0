"""Scale-out (issue 10): end-to-end msg/s and CPU per message for M = 1, 2, 3 worker processes.

M ``zapgate worker`` processes and N API processes on one PostgreSQL, each M a fresh
bench/e2e_bulk.py run (Meta path through the simulator by default).

    .venv/bin/python bench/scale_out.py [--workers 1,2,3] [--messages 10000] [--numbers 20]
                                        [--api-processes 1] [--provider meta]
                                        [--fall-tolerance 0.10] [--quiet-load 0.5]
                                        [--quiet-max-wait 600] [--log-dir DIR]
                                        [any other e2e_bulk.py option, passed through]

For each M, one after the other: wait for a quiet machine (the 1-minute load average below
``--quiet-load``, printed with ``uptime``), then ``bench/e2e_bulk.py --backend postgres
--provider meta --numbers K --messages N --api-processes N_API --pg-workers M --json FILE`` as
a subprocess (a fresh database, fresh processes; its output is shown as it runs), then read its
figures. Printed at the end: a markdown table per M (end-to-end msg/s, its ratio to M = 1,
Zapgate and PostgreSQL CPU per message, accept p99, duplicate sends at the simulator, lock waits
sampled, valid) and a verdict. On 2 cores the curve flattens once the CPU is full; it must never
fall. Exit 1 when a run is invalid or when some M's msg/s is below (1 - tolerance) x the best of
the smaller M's. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib as b
import orjson

E2E = b.BENCH / "e2e_bulk.py"
# Options scale_out.py sets itself for every run; passing them through would contradict it.
OWNED = ("--pg-workers", "--json", "--backend")


def main() -> int:
    args, extra = _args()
    b.say(f"command: {' '.join([b.rel(sys.executable), b.rel(sys.argv[0]), *sys.argv[1:]])}")
    b.say(f"machine: {b.machine_line()}")
    b.say(
        f"runs: M = {', '.join(map(str, args.workers))} `zapgate worker` processes, each a "
        f"fresh bench/e2e_bulk.py (fresh database and processes) on PostgreSQL, "
        f"{args.api_processes} API process(es), {args.provider}, {args.numbers} numbers, "
        f"{args.messages} messages" + (f"; passed through: {' '.join(extra)}" if extra else "")
    )
    runs: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="zapgate-bench-scale-") as tmp:
        for i, m in enumerate(args.workers):
            _wait_quiet(args, first=i == 0)
            runs.append(_run(args, extra, m, Path(tmp)))
    return _report(args, runs)


def _args() -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        allow_abbrev=False,
        epilog="Any other option goes to every bench/e2e_bulk.py run as it is (e.g. "
        "--concurrency 64, --rate 400, --zapgate-setting NAME=VALUE).",
    )
    p.add_argument(
        "--workers", default="1,2,3", help="the M values: `zapgate worker` processes per run, comma-separated"
    )
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--numbers", type=int, default=20)
    p.add_argument("--provider", choices=("sandbox", "meta"), default="meta")
    p.add_argument(
        "--api-processes", type=int, default=1, help="HTTP processes of `zapgate serve` in every run"
    )
    p.add_argument(
        "--fall-tolerance",
        type=float,
        default=0.10,
        help="a run falls when its msg/s is below (1 - this) x the best msg/s of "
        "the runs with fewer workers (default 0.10: 10 %%)",
    )
    p.add_argument(
        "--quiet-load",
        type=float,
        default=0.5,
        help="before each run, wait until the 1-minute load average is below this",
    )
    p.add_argument(
        "--quiet-max-wait",
        type=float,
        default=600.0,
        help="seconds to wait for --quiet-load at most; then run anyway, flagged",
    )
    p.add_argument(
        "--log-dir", type=Path, default=None, help="also keep each run's output and JSON figures in DIR"
    )
    args, extra = p.parse_known_args()
    try:
        args.workers = [int(x) for x in args.workers.split(",") if x.strip()]
    except ValueError:
        p.error("--workers: comma-separated integers, e.g. 1,2,3")
    if not args.workers or min(args.workers) < 1:
        p.error("--workers: at least one value, each at least 1")
    if not 0 <= args.fall_tolerance < 1:
        p.error("--fall-tolerance: from 0 to below 1")
    for item in extra:
        if item.split("=", 1)[0] in OWNED:
            p.error(f"{item.split('=', 1)[0]} is set by scale_out.py for every run")
    return args, extra


def _uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or b.load_line()


def _wait_quiet(args: argparse.Namespace, *, first: bool) -> None:
    """Until the 1-minute load average is below --quiet-load (the previous run's processes
    and PostgreSQL's after-work gone), or --quiet-max-wait seconds have passed."""
    start = time.monotonic()
    b.say(f"\n{'before the first run' if first else 'between runs'}: {_uptime()}")
    while os.getloadavg()[0] >= args.quiet_load:
        waited = time.monotonic() - start
        if waited >= args.quiet_max_wait:
            b.say(
                f"  machine still busy after {waited:.0f} s (load >= {args.quiet_load}): "
                "running anyway; expect lower numbers"
            )
            return
        time.sleep(5)
    if time.monotonic() - start >= 1:
        b.say(f"  quiet after {time.monotonic() - start:.0f} s: {_uptime()}")


@dataclass
class Result:
    m: int
    code: int
    seconds: float
    load_before: float
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.code == 0 and bool(self.figures.get("valid")) and not self.problems

    @property
    def rate(self) -> float | None:
        value = self.figures.get("end_to_end_msg_per_s")
        return float(value) if value is not None else None


def _run(args: argparse.Namespace, extra: list[str], m: int, tmp: Path) -> Result:
    json_path = (args.log_dir or tmp) / f"scale-out-m{m}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(E2E),
        "--backend",
        "postgres",
        "--provider",
        args.provider,
        "--numbers",
        str(args.numbers),
        "--messages",
        str(args.messages),
        "--api-processes",
        str(args.api_processes),
        "--pg-workers",
        str(m),
        "--json",
        str(json_path),
        *extra,
    ]
    b.say(f"\n===== M = {m}: {' '.join(b.rel(c) for c in cmd)}")
    load = os.getloadavg()[0]
    log = (args.log_dir / f"scale-out-m{m}.log").open("w") if args.log_dir else None
    started = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=b.ROOT)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if log is not None:
                log.write(line)
        code = proc.wait()
    finally:
        if log is not None:
            log.close()
    result = Result(m, code, time.monotonic() - started, load)
    if json_path.exists():
        result.figures = orjson.loads(json_path.read_bytes())
        result.problems = list(result.figures.get("problems") or [])
    else:
        result.problems.append(f"no figures written (e2e_bulk.py exited with {code})")
    if code and not result.problems:
        result.problems.append(f"e2e_bulk.py exited with {code}")
    b.say(
        f"===== M = {m}: exit {code} after {result.seconds:.0f} s, "
        f"{result.rate if result.rate is not None else '-'} msg/s end to end"
    )
    return result


def _fmt(value: Any, spec: str = ".2f", suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _report(args: argparse.Namespace, runs: list[Result]) -> int:
    base = next((r.rate for r in runs if r.m == 1 and r.rate), None) or next(
        (r.rate for r in runs if r.rate), None
    )
    base_m = next((r.m for r in runs if r.rate == base), None)
    b.say(
        f"\n## Scale-out: M `zapgate worker` processes on one PostgreSQL, "
        f"{args.api_processes} API process(es), {args.provider}, {args.numbers} numbers, "
        f"{args.messages} messages a run\n"
    )
    b.say(
        f"| M | end-to-end msg/s | ratio to M={base_m} | Zapgate CPU ms/msg (API + workers) "
        "| PostgreSQL CPU ms/msg (backends / all) | accept p99 | duplicate sends at the "
        "simulator | lock waits (mean / max backends) | load before | valid |"
    )
    b.say("| ---: | ---: | ---: | --- | --- | ---: | ---: | --- | ---: | --- |")
    for r in runs:
        f = r.figures
        cpu = f.get("cpu_ms_per_msg") or {}
        sim = f.get("simulator") or {}
        waits = f.get("pg_waits") or {}
        ratio = r.rate / base if r.rate and base else None
        dup = sim.get("duplicate_sends")
        dup_text = "-" if dup is None else f"{dup} ({sim.get('sends')} sends, {sim.get('messages')} messages)"
        b.say(
            f"| {r.m} | {_fmt(r.rate, '.0f')} | {_fmt(ratio, '.2f', 'x')} "
            f"| {_fmt(cpu.get('zapgate'))} ({_fmt(cpu.get('zapgate_serve'))} + "
            f"{_fmt(cpu.get('zapgate_workers'))}) "
            f"| {_fmt(cpu.get('postgres_backends'))} / {_fmt(cpu.get('postgres_all'))} "
            f"| {_fmt(f.get('accept_p99_ms'), '.0f', ' ms')} "
            f"| {dup_text} "
            f"| {_fmt(waits.get('lock_wait_mean'))} / {_fmt(waits.get('lock_wait_max'), 'd')} "
            f"| {r.load_before:.2f} | {'yes' if r.valid else '**NO**'} |"
        )
    b.say("")
    for r in runs:
        for name, lines in (r.figures.get("log_errors") or {}).items():
            for line in lines:
                b.say(f"M = {r.m}: {name} log: {line}")
        waits = r.figures.get("pg_waits") or {}
        if waits.get("wait_events"):
            b.say(
                f"M = {r.m}: PostgreSQL wait events of active backends ({waits['samples']} "
                "samples): " + ", ".join(f"{k} {v}" for k, v in waits["wait_events"].items())
            )
        for query, count in (waits.get("lock_wait_queries") or {}).items():
            b.say(f"M = {r.m}:   waiting on a lock {count} x: {query}")
    failures: list[str] = []
    for r in runs:
        if not r.valid:
            failures.append(f"M = {r.m} invalid: " + ("; ".join(r.problems) or "see its output"))
    for r in runs:
        smaller = [s for s in runs if s.m < r.m and s.rate]
        if not smaller or r.rate is None:
            continue
        best = max(smaller, key=lambda s: s.rate or 0.0)
        assert best.rate is not None
        if r.rate < (1 - args.fall_tolerance) * best.rate:
            failures.append(
                f"M = {r.m} falls: {r.rate:.0f} msg/s < {1 - args.fall_tolerance:.0%}"
                f" of {best.rate:.0f} msg/s (M = {best.m})"
            )
    b.say(f"after: {_uptime()}")
    busy = [r.m for r in runs if r.load_before >= 1.0]
    if busy:
        b.say(
            f"note: M = {', '.join(map(str, busy))} started on a busy machine (1-minute load "
            ">= 1): msg/s there is not comparable; repeat on a quiet machine"
        )
    if failures:
        b.say("verdict: FAIL: " + "; ".join(failures))
        return 1
    rates = ", ".join(f"M = {r.m} {r.rate:.0f}" for r in runs if r.rate)
    b.say(
        f"verdict: PASS: every run valid, and no M below {1 - args.fall_tolerance:.0%} of the "
        f"best smaller M ({rates} msg/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
