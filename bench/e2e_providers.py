"""End to end through the provider simulators: accept -> SENT -> DELIVERED -> READ over the real
adapters (Meta Cloud API, Evolution API v2, Evolution GO).

    .venv/bin/python bench/e2e_providers.py [--provider meta|evolution-v2|evolution-go|all]
                                            [--messages 1000] [--concurrency 16]

For each provider: starts ``zapgate sim <provider>`` and ``zapgate serve`` (workers ON, fresh
SQLite file) as subprocesses on loopback, pointed at each other (``ZAPGATE_META_GRAPH_URL`` /
``ZAPGATE_EVOLUTION_URL`` / ``ZAPGATE_EVOLUTION_GO_URL`` plus the simulator's key or app secret,
``ZAPGATE_PUBLIC_URL`` = Zapgate's own address); sets the simulator's ``statusDelayMs`` to 20
(Meta: ``mps`` raised too, the simulator's 80 msg/s throughput limit would otherwise answer
130429); connects one number through the public API (Meta: ``POST /v1/numbers/meta`` with the
simulator's default number; Evolution: ``POST /v1/numbers`` then the simulator's
``/_sim/instances/zapgate-<id>/pair`` and a wait for ``OPEN``); raises its pace with
``PATCH /v1/numbers/{id} {"pacePerSecond": 1000}``; on Meta, every destination writes in first
through ``/_sim/inbound`` (Zapgate enforces the 24 h window itself, from the inbound callbacks, so
opening the simulator's window alone would not do); then sends N text messages to distinct
destinations with the number key and waits until every one is READ.

Measured: accept rate, accept -> READ throughput and per-message latency (from the API's
``createdAt`` / ``sentAt`` / ``readAt``), provider callbacks stored by Zapgate
(``provider_events`` rows of kind ``callback``), CPU of Zapgate and of the simulator, and the
integrity checks: every message READ exactly once, timelines QUEUED,SENT,DELIVERED,READ, one
send per destination at the simulator. Exits non-zero when a check fails or a run times out.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib as b
import httpx

PROVIDERS = ("meta", "evolution-v2", "evolution-go")
SIM_CONFIG: dict[str, Any] = {"statusDelayMs": 20}
META_SIM_MPS = 100_000  # the simulator's per-number throughput limit (default 80 msg/s)
PACE = 1000  # PATCH /v1/numbers/{id} pacePerSecond: the API's maximum
META_NUMBER = {
    "phoneNumberId": "100000000000001",
    "wabaId": "200000000000001",
    "accessToken": "sim-meta-token",
}
META_APP_SECRET = "sim-app-secret"
EVOLUTION_KEYS = {"evolution-v2": "sim-evolution-key", "evolution-go": "sim-evolution-go-key"}
# What the simulator receives for one text send: (path substring, body field with the number).
SEND_REQUEST = {
    "meta": ("/messages", "to"),
    "evolution-v2": ("/message/sendText", "number"),
    "evolution-go": ("/send/text", "number"),
}
EXPECTED_TIMELINE = ["QUEUED", "SENT", "DELIVERED", "READ"]


@dataclass
class Outcome:
    provider: str
    requested: int
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    accept_seconds: float = 0.0
    setup: list[str] = field(default_factory=list)
    read: int = 0
    timed_out: bool = False
    span_s: float | None = None  # first createdAt -> last readAt, from the API
    to_sent: list[float] = field(default_factory=list)
    to_read: list[float] = field(default_factory=list)
    callbacks: int = 0
    callbacks_unprocessed: int = 0
    sim_callbacks_failed: int = 0
    timelines_ok: int = 0
    timeline_bad: Counter[str] = field(default_factory=Counter)
    read_once: int = 0
    not_applied: Counter[str] = field(default_factory=Counter)
    sends_at_sim: int = 0
    destinations_at_sim: int = 0
    extra_calls: Counter[str] = field(default_factory=Counter)
    zapgate_cpu_s: float = 0.0
    sim_cpu_s: float = 0.0
    wall_s: float = 0.0
    idle_cpu: float = 0.0  # Zapgate's CPU share over 2 s before the run, number connected
    server_errors: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.accepted - self.read

    @property
    def ok(self) -> bool:
        return (
            not self.timed_out
            and self.accepted == self.requested
            and self.read == self.accepted
            and self.timelines_ok == self.accepted
            and self.read_once == self.accepted
            and self.sends_at_sim == self.accepted == self.destinations_at_sim
        )


def main() -> int:
    args = _args()
    kinds = PROVIDERS if args.provider == "all" else (args.provider,)
    b.say(f"command: {' '.join([b.rel(sys.executable), b.rel(sys.argv[0]), *sys.argv[1:]])}")
    b.say(f"machine: {b.machine_line()}")
    b.say(
        "note: the simulator, Zapgate and this load generator share the same "
        f"{_cores()} cores: what the simulator and the client use (see 'CPU' below) is not "
        "available to Zapgate"
    )
    b.say(
        f"simulator config: {SIM_CONFIG} (Meta also mps={META_SIM_MPS}, default 80); "
        f"number pace: PATCH pacePerSecond={PACE}; Zapgate settings otherwise default "
        "(poll interval 0.5 s, Meta 32 in flight per number, Evolution 1 in flight per number)"
    )
    outcomes: list[Outcome] = []
    with b.workspace("providers") as work:
        for kind in kinds:
            b.say(f"\n== {kind} ==")
            outcomes.append(_run_provider(kind, args, work / kind))
    _summary(outcomes)
    b.say(f"after: {b.load_line()}")
    return 0 if all(o.ok for o in outcomes) else 1


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--provider", choices=(*PROVIDERS, "all"), default="all")
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument(
        "--worker-process",
        choices=("auto", "on", "off"),
        default="auto",
        help="ZAPGATE_WORKER_PROCESS for serve (workers in their own process)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for every message to be READ (per provider)",
    )
    return p.parse_args()


def _cores() -> int:
    return os.cpu_count() or 0


# -- one provider --------------------------------------------------------------------------------


def _run_provider(kind: str, args: argparse.Namespace, work: Path) -> Outcome:
    work.mkdir(parents=True, exist_ok=True)
    sim_port, zg_port = b.free_port(), b.free_port()
    zg_url = f"http://{b.HOST}:{zg_port}"
    sim_cmd = [b.ZAPGATE, "sim", kind, "--port", str(sim_port)]
    if kind == "meta":
        sim_cmd += ["--callback", zg_url + "/webhooks/meta"]
    b.say("simulator: " + " ".join(["zapgate", *sim_cmd[1:]]))
    sim = b.Server(
        f"sim-{kind}", sim_cmd, env=b.clean_env(), cwd=work, port=sim_port, health_path="/_sim/config"
    ).start()
    try:
        config = {**SIM_CONFIG, **({"mps": META_SIM_MPS} if kind == "meta" else {})}
        httpx.post(sim.url + "/_sim/config", json=config, timeout=10).raise_for_status()
        settings = _zapgate_settings(kind, sim.url, zg_url)
        settings["worker_process"] = args.worker_process
        b.say("zapgate serve: " + ", ".join(f"ZAPGATE_{k.upper()}={v}" for k, v in settings.items()))
        zg = b.start_zapgate(work, port=zg_port, name=f"zapgate-{kind}", **settings)
        try:
            return asyncio.run(_measure(kind, args, zg, sim))
        finally:
            zg.server.stop()
    finally:
        sim.stop()


def _zapgate_settings(kind: str, sim_url: str, zg_url: str) -> dict[str, str]:
    settings = {"run_workers": "1", "public_url": zg_url}
    if kind == "meta":
        settings.update(meta_graph_url=sim_url, meta_app_secret=META_APP_SECRET)
    elif kind == "evolution-v2":
        settings.update(evolution_url=sim_url, evolution_api_key=EVOLUTION_KEYS[kind])
    else:
        settings.update(evolution_go_url=sim_url, evolution_go_api_key=EVOLUTION_KEYS[kind])
    return settings


async def _measure(kind: str, args: argparse.Namespace, zg: b.Zapgate, sim: b.Server) -> Outcome:
    out = Outcome(kind, args.messages)
    dests = [f"+55119{40000000 + i:08d}" for i in range(args.messages)]
    async with (
        httpx.AsyncClient(base_url=zg.server.url, timeout=60) as http,
        httpx.AsyncClient(base_url=sim.url, timeout=60) as simc,
    ):
        number_id, key = await _connect(kind, http, simc, zg)
        r = await http.patch(
            f"/v1/numbers/{number_id}", headers={"x-api-key": zg.tenant_key}, json={"pacePerSecond": PACE}
        )
        if r.status_code != 200:
            raise SystemExit(f"PATCH /v1/numbers/{number_id} answered {r.status_code}: {r.text}")
        _setup(out, f"number {number_id} connected, pacePerSecond {PACE}")
        if kind == "meta":
            _setup(out, await _open_windows(simc, zg, dests, args.concurrency))
        idle0 = zg.server.cpu_seconds()
        await asyncio.sleep(2)
        out.idle_cpu = (zg.server.cpu_seconds() - idle0) / 2
        callbacks_before = _callbacks(zg)
        sim_callbacks_before = len((await simc.get("/_sim/callbacks")).json())
        b.say(f"sending {args.messages} messages, {args.concurrency} at a time ...")
        cpu0, sim_cpu0, t0 = zg.server.cpu_seconds(), sim.cpu_seconds(), time.time()
        ids = await _send_all(http, key, dests, args.concurrency, out)
        out.accept_seconds = time.time() - t0
        b.say(
            f"accepted {out.accepted} in {out.accept_seconds:.1f} s "
            f"({out.accepted / out.accept_seconds:.0f}/s); rejected {dict(out.rejected)}"
        )
        out.timed_out = not _wait_read(zg, number_id, len(ids), t0, args.timeout)
        out.zapgate_cpu_s = zg.server.cpu_seconds() - cpu0
        out.sim_cpu_s = sim.cpu_seconds() - sim_cpu0
        out.wall_s = time.time() - t0
        # Late duplicates would still arrive: let the callback count settle before reading it.
        total = b.settled_count(
            zg.db_path, "SELECT count(*) FROM provider_events WHERE kind = 'callback'", quiet_for=1.5
        )
        out.callbacks = total - callbacks_before
        out.callbacks_unprocessed = int(
            b.sqlite_scalar(
                zg.db_path,
                "SELECT count(*) FROM provider_events WHERE kind = 'callback' "
                "AND (processed_at IS NULL OR error IS NOT NULL)",
            )
        )
        sim_callbacks = (await simc.get("/_sim/callbacks")).json()[sim_callbacks_before:]
        out.sim_callbacks_failed = sum(1 for c in sim_callbacks if not 200 <= int(c.get("status") or 0) < 300)
        await _timestamps(http, key, set(ids), out)
        await _sim_sends(kind, simc, out, since=t0)
    _integrity(zg, number_id, set(ids), out)
    out.server_errors = zg.server.error_summary()
    _report(out)
    return out


def _setup(out: Outcome, line: str) -> None:
    out.setup.append(line)
    b.say(f"setup: {line}")


async def _connect(
    kind: str, http: httpx.AsyncClient, simc: httpx.AsyncClient, zg: b.Zapgate
) -> tuple[str, str]:
    tenant = {"x-api-key": zg.tenant_key}
    if kind == "meta":
        r = await http.post(
            "/v1/numbers/meta",
            headers=tenant,
            json={"name": "Bench Meta", "number": "+15550000001", **META_NUMBER},
        )
    else:
        r = await http.post(
            "/v1/numbers",
            headers=tenant,
            json={"name": "Bench", "number": "+5511988880001", "provider": kind},
        )
    if r.status_code != 201:
        raise SystemExit(f"connecting the {kind} number answered {r.status_code}: {r.text}")
    body = r.json()
    number_id, key = str(body["instance"]["id"]), str(body["apiKey"]["key"])
    if kind != "meta":
        (await simc.post(f"/_sim/instances/zapgate-{number_id}/pair", json={})).raise_for_status()
        deadline = time.monotonic() + 30
        while (await http.get(f"/v1/numbers/{number_id}", headers=tenant)).json().get("state") != "OPEN":
            if time.monotonic() > deadline:
                raise SystemExit(f"{kind} number {number_id} did not turn OPEN within 30 s")
            await asyncio.sleep(0.1)
    return number_id, key


async def _open_windows(simc: httpx.AsyncClient, zg: b.Zapgate, dests: list[str], concurrency: int) -> str:
    """Every destination writes in (``/_sim/inbound``): Zapgate records the contact's last
    inbound message, which opens its 24 h window on our side as well as the simulator's."""
    t0 = time.time()
    sem = asyncio.Semaphore(concurrency)

    async def one(dest: str) -> None:
        async with sem:
            r = await simc.post(
                "/_sim/inbound",
                json={
                    "phoneNumberId": META_NUMBER["phoneNumberId"],
                    "from": dest.lstrip("+"),
                    "type": "text",
                    "text": "oi",
                },
            )
            r.raise_for_status()

    await asyncio.gather(*(one(d) for d in dests))
    sql = "SELECT count(*) FROM contacts WHERE last_inbound_at IS NOT NULL"
    deadline = time.time() + 120
    while int(b.sqlite_scalar(zg.db_path, sql)) < len(dests):
        if time.time() > deadline:
            raise SystemExit(
                f"only {b.sqlite_scalar(zg.db_path, sql)} of {len(dests)} "
                "inbound messages reached Zapgate within 120 s"
            )
        await asyncio.sleep(0.1)
    took = time.time() - t0
    return (
        f"24 h windows: {len(dests)} inbound messages injected and applied in {took:.1f} s "
        f"({len(dests) / took:.0f}/s, one callback each)"
    )


async def _send_all(
    http: httpx.AsyncClient, key: str, dests: list[str], concurrency: int, out: Outcome
) -> list[str]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(dests)):
        queue.put_nowait(i)
    ids: list[str] = []

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            r = await http.post(
                "/v1/messages/send",
                headers={"x-api-key": key},
                json={"destinationNumber": dests[i], "text": f"provider benchmark message {i}"},
            )
            if r.status_code == 202:
                ids.append(r.json()["id"])
            else:
                out.rejected[f"{r.status_code} {r.json().get('code', '')}"] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    out.accepted = len(ids)
    return ids


def _wait_read(zg: b.Zapgate, number_id: str, n: int, t0: float, timeout: float) -> bool:
    deadline = time.time() + timeout
    next_note = time.time() + 10
    while time.time() < deadline:
        counts = _status_counts(zg, number_id)
        if counts.get("READ", 0) + counts.get("FAILED", 0) >= n:
            if counts.get("FAILED"):
                b.say(f"  some messages FAILED: {counts}")
            return counts.get("READ", 0) >= n
        if time.time() >= next_note:
            next_note += 10
            b.say(f"  {time.time() - t0:5.0f} s: {counts}")
        time.sleep(0.1)
    b.say(f"TIMED OUT after {timeout:.0f} s waiting for READ: {_status_counts(zg, number_id)}")
    return False


def _status_counts(zg: b.Zapgate, number_id: str) -> dict[str, int]:
    rows = b.sqlite_rows(
        zg.db_path, "SELECT status, count(*) FROM messages WHERE number_id = ? GROUP BY status", number_id
    )
    return {str(s): int(c) for s, c in rows}


def _callbacks(zg: b.Zapgate) -> int:
    return int(b.sqlite_scalar(zg.db_path, "SELECT count(*) FROM provider_events WHERE kind = 'callback'"))


def _ts(text: str | None) -> float | None:
    return dt.datetime.fromisoformat(text).timestamp() if text else None


async def _timestamps(http: httpx.AsyncClient, key: str, ids: set[str], out: Outcome) -> None:
    """Per-message accept -> SENT / READ from the API (``GET /v1/messages``, 100 a page)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        r = await http.get("/v1/messages", headers={"x-api-key": key}, params={"pageSize": 100, "page": page})
        r.raise_for_status()
        body = r.json()
        rows += body["messages"]
        if page >= body["totalPages"]:
            break
        page += 1
    mine = [m for m in rows if m["id"] in ids]
    created = [_ts(m["createdAt"]) for m in mine]
    read = [_ts(m["readAt"]) for m in mine]
    out.read = sum(1 for m in mine if m["status"] == "READ")
    for m, c, rd in zip(mine, created, read, strict=True):
        sent = _ts(m["sentAt"])
        if c is not None and sent is not None:
            out.to_sent.append(sent - c)
        if c is not None and rd is not None:
            out.to_read.append(rd - c)
    done = [x for x in read if x is not None]
    if done and out.read == out.accepted:
        out.span_s = max(done) - min(x for x in created if x is not None)


async def _sim_sends(kind: str, simc: httpx.AsyncClient, out: Outcome, *, since: float) -> None:
    """What the simulator received during the run: one text send per destination, and any
    other calls."""
    path, field_name = SEND_REQUEST[kind]
    requests = [r for r in (await simc.get("/_sim/requests")).json() if r["at"] >= since]
    sends: Counter[str] = Counter()
    for req in requests:
        body = req.get("json") or {}
        if (
            path in req["path"]
            and req["method"] == "POST"
            and isinstance(body, dict)
            and field_name in body
            and body.get("status") != "read"
        ):
            sends[str(body[field_name])] += 1
        elif not req["path"].startswith("/_sim"):
            label = (
                "mark-read"
                if body.get("status") == "read"
                else f"{req['method']} {re.sub(r'[0-9]{6,}|zapgate-[A-Za-z0-9_]+', '*', req['path'])}"
            )
            out.extra_calls[label] += 1
    out.sends_at_sim = sum(sends.values())
    out.destinations_at_sim = len(sends)


def _integrity(zg: b.Zapgate, number_id: str, ids: set[str], out: Outcome) -> None:
    rows = b.sqlite_rows(
        zg.db_path,
        "SELECT e.message_id, e.status, e.applied, e.code "
        "FROM message_events e JOIN messages m ON m.id = "
        "e.message_id WHERE m.number_id = ? ORDER BY e.id",
        number_id,
    )
    applied: dict[str, list[str]] = {}
    for message_id, status, was_applied, code in rows:
        if message_id not in ids:
            continue
        if was_applied:
            applied.setdefault(message_id, []).append(status)
        else:
            out.not_applied[f"{status}{'/' + code if code else ''}"] += 1
    for message_id in ids:
        seq = applied.get(message_id, [])
        if seq == EXPECTED_TIMELINE:
            out.timelines_ok += 1
        else:
            out.timeline_bad[",".join(seq) or "(none)"] += 1
        if seq.count("READ") == 1:
            out.read_once += 1


# -- printing ------------------------------------------------------------------------------------


def _report(o: Outcome) -> None:
    rows = _rows(o)
    width = max(len(k) for k, _ in rows)
    b.say(f"\n  | {o.provider:<{width}} | |")
    b.say(f"  | {'-' * width} | --- |")
    for k, v in rows:
        b.say(f"  | {k:<{width}} | {v} |")
    for line in o.server_errors:
        b.say(f"  zapgate log: {line}")
    b.say(f"  verdict: {'OK' if o.ok else 'INVALID: see the checks above'}")


def _rows(o: Outcome) -> list[tuple[str, str]]:
    n = o.accepted
    pct = f"{n / o.requested:.0%}" if o.requested else "-"
    span = (
        f"{o.span_s:.1f} s: {n / o.span_s:.1f} msg/s"
        if o.span_s
        else "not all READ" + (" (timed out)" if o.timed_out else "")
    )
    extra = ", ".join(f"{k} x{v}" for k, v in sorted(o.extra_calls.items())) or "none"
    return [
        (
            "accepted",
            f"{n}/{o.requested} ({pct}) in {o.accept_seconds:.1f} s: "
            f"{n / max(o.accept_seconds, 1e-9):.0f}/s; rejected {dict(o.rejected) or 0}",
        ),
        ("accept -> READ, all", span),
        ("accept -> SENT p50 / p95", f"{_p(o.to_sent, 50)} / {_p(o.to_sent, 95)}"),
        ("accept -> READ p50 / p95", f"{_p(o.to_read, 50)} / {_p(o.to_read, 95)}"),
        ("READ", f"{o.read} of {n}; lost {o.lost}; READ applied exactly once: {o.read_once}"),
        (
            "timelines QUEUED,SENT,DELIVERED,READ",
            f"{o.timelines_ok} of {n}"
            + (f"; other: {dict(o.timeline_bad.most_common(3))}" if o.timeline_bad else ""),
        ),
        (
            "events not applied (dupes/stale)",
            str(dict(o.not_applied) or 0)
            + (
                " (the provider's 'sent' after the dispatcher's own SENT)"
                if o.not_applied.get("SENT")
                else ""
            ),
        ),
        ("sends at the simulator", f"{o.sends_at_sim} to {o.destinations_at_sim} destinations"),
        ("other provider calls during the run", extra),
        (
            "provider callbacks stored",
            f"{o.callbacks} ({o.callbacks / max(n, 1):.1f} per "
            f"message); unprocessed or errored {o.callbacks_unprocessed}"
            f"; simulator posts not 2xx {o.sim_callbacks_failed}",
        ),
        (
            "CPU over the run",
            f"zapgate {o.zapgate_cpu_s:.1f} s "
            f"({o.zapgate_cpu_s / max(o.wall_s, 1e-9):.0%} of a core, "
            f"{_ms_per(o)} ms per message; idle before: {o.idle_cpu:.0%}), "
            f"simulator {o.sim_cpu_s:.1f} s "
            f"({o.sim_cpu_s / max(o.wall_s, 1e-9):.0%}), in {o.wall_s:.1f} s",
        ),
    ]


def _ms_per(o: Outcome) -> str:
    return f"{o.zapgate_cpu_s * 1000 / o.accepted:.1f}" if o.accepted else "-"


def _p(values: list[float], pct: float) -> str:
    return f"{b.percentile(values, pct):.2f} s" if values else "-"


def _summary(outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    b.say("\nsummary (simulators, Zapgate and the load generator on the same 2 cores)")
    b.say(
        "| provider | accepted | accepted/s | msg/s accept->READ | READ p50 | READ p95 | "
        "callbacks/msg | lost | not READ once | timelines ok | zapgate CPU | ms CPU/msg | sim CPU "
        "| verdict |"
    )
    b.say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for o in outcomes:
        n = o.accepted
        rate = f"{n / o.span_s:.1f}" if o.span_s else "-"
        b.say(
            f"| {o.provider} | {n}/{o.requested} | {n / max(o.accept_seconds, 1e-9):.0f} | "
            f"{rate} | {_p(o.to_read, 50)} | {_p(o.to_read, 95)} | "
            f"{o.callbacks / max(n, 1):.1f} | {o.lost} | {n - o.read_once} | "
            f"{o.timelines_ok}/{n} | {o.zapgate_cpu_s / max(o.wall_s, 1e-9):.0%} | {_ms_per(o)} | "
            f"{o.sim_cpu_s / max(o.wall_s, 1e-9):.0%} | {'OK' if o.ok else 'INVALID'} |"
        )


if __name__ == "__main__":
    sys.exit(main())
