"""End to end through the sandbox provider: accept -> SENT -> DELIVERED -> READ, and webhooks.

    .venv/bin/python bench/e2e_sandbox.py [--messages 2000] [--numbers 4] [--concurrency 16]

Starts ``zapgate serve`` (workers ON) on a fresh SQLite file with short sandbox timings
(``SANDBOX`` below, overridable with the same ZAPGATE_* variables), creates extra sandbox numbers
with the demo tenant key, registers a loopback webhook receiver (bench/webhook_sink.py, or
zapgate.testing.WebhookReceiver with ``--receiver threading``) for each number through
POST /v1/webhooks with events "*", sends N text messages spread evenly
over the numbers (distinct destinations, so the one-in-flight-per-contact rule never waits), and
measures until every message is READ and every message.read webhook has arrived.

When POST /v1/webhooks is missing (404/405), it says so and measures accept -> READ alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path

import benchlib as b
import httpx

from zapgate.testing import WebhookReceiver

# Sandbox timings and limits for this benchmark (seconds after the send). Pace and in-flight
# are raised from the defaults (50/s, 16 per number) so the provider model is not the limit.
SANDBOX = {
    "sandbox_send_latency": "0.2",
    "sandbox_delivered_after": "0.05",
    "sandbox_read_after": "0.1",
    "sandbox_pace_per_second": "200",
    "sandbox_max_in_flight": "64",
}


Record = tuple[float, str, str, str]  # arrival time, event id, event, data.id


class SinkReceiver:
    """bench/webhook_sink.py under uvicorn in its own process (keep-alive, like real endpoints)."""

    def __init__(self, work: Path) -> None:
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
        self.server = b.Server("webhook-sink", cmd, env=b.clean_env(), cwd=work, port=port).start()
        self.url = self.server.url + "/hook"

    def read_messages(self) -> int:
        return int(httpx.get(self.server.url + "/summary", timeout=30).json()["readMessages"])

    def records(self) -> list[Record]:
        return [tuple(r) for r in httpx.get(self.server.url + "/records", timeout=60).json()]

    def stop(self) -> None:
        self.server.stop()


class ThreadReceiver:
    """zapgate.testing.WebhookReceiver in this process (HTTP/1.0: a connection per delivery)."""

    def __init__(self) -> None:
        self.inner = WebhookReceiver().start()
        self.url = self.inner.url

    def records(self) -> list[Record]:
        out: list[Record] = []
        for item in self.inner.snapshot():
            try:
                body = item.json()
            except ValueError:
                body = {}
            out.append(
                (
                    item.at,
                    str(body.get("id")),
                    str(body.get("event")),
                    str((body.get("data") or {}).get("id")),
                )
            )
        return out

    def read_messages(self) -> int:
        return len({r[3] for r in self.records() if r[2] == "message.read"})

    def stop(self) -> None:
        self.inner.stop()


Receiver = SinkReceiver | ThreadReceiver


def main() -> int:
    args = _args()
    settings = {**SANDBOX, "run_workers": "1", "allow_private_urls": "1"}
    settings.update(
        {k: os.environ[f"ZAPGATE_{k.upper()}"] for k in SANDBOX if f"ZAPGATE_{k.upper()}" in os.environ}
    )
    b.say(f"machine: {b.machine_line()}")
    b.say("settings: " + ", ".join(f"ZAPGATE_{k.upper()}={v}" for k, v in settings.items()))
    with b.workspace("e2e") as work:
        receiver: Receiver = SinkReceiver(work) if args.receiver == "sink" else ThreadReceiver()
        b.say(f"webhook receiver: {args.receiver} at {receiver.url}")
        try:
            zg = b.start_zapgate(work, name="zapgate-e2e", **settings)
            try:
                return asyncio.run(_run(args, zg, receiver))
            finally:
                zg.server.stop()
        finally:
            receiver.stop()


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--numbers", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument(
        "--receiver",
        choices=("sink", "threading"),
        default="sink",
        help="sink: bench/webhook_sink.py under uvicorn (keep-alive); threading: "
        "zapgate.testing.WebhookReceiver in this process (HTTP/1.0)",
    )
    p.add_argument(
        "--no-webhooks",
        action="store_true",
        help="register no webhook: accept -> READ without the webhook sender's work",
    )
    p.add_argument(
        "--timeout", type=float, default=150.0, help="seconds to wait for READ (and again for the webhooks)"
    )
    return p.parse_args()


async def _run(args: argparse.Namespace, zg: b.Zapgate, receiver: Receiver) -> int:
    async with httpx.AsyncClient(base_url=zg.server.url, timeout=60) as http:
        keys = [zg.number_key] + [await _new_number(http, zg.tenant_key, i) for i in range(1, args.numbers)]
        if args.no_webhooks:
            webhooks_on = False
            b.say(f"{len(keys)} sandbox numbers; no webhooks registered (--no-webhooks)")
        else:
            hooks = [await _register_webhook(http, key, receiver.url) for key in keys]
            webhooks_on = all(hooks)
            b.say(
                f"{len(keys)} sandbox numbers; webhooks "
                + ("registered (events '*')" if webhooks_on else "NOT AVAILABLE: " + hooks_note(hooks))
            )
        b.say(f"sending {args.messages} messages, {args.concurrency} at a time ...")
        cpu0 = zg.server.cpu_seconds()
        t0 = time.time()
        ids, failures = await _send_all(http, keys, args.messages, args.concurrency)
        accepted_at = time.time()
    b.say(
        f"accepted {len(ids)} in {accepted_at - t0:.1f} s "
        f"({len(ids) / (accepted_at - t0):.0f}/s); rejected {len(failures)} {dict(failures)}"
    )
    read_at = _wait_read(zg, len(ids), t0, args.timeout)
    hooks_done = _wait_webhooks(receiver, len(ids), args.timeout) if webhooks_on else None
    cpu, wall = zg.server.cpu_seconds() - cpu0, time.time() - t0
    b.say(
        f"server CPU: {cpu:.1f} s over {wall:.1f} s ({cpu / wall:.0%} of one core; well "
        "under 100% on a quiet machine means it waits rather than computes)"
    )
    return _report(args, zg, receiver, ids, t0, accepted_at, read_at, hooks_done, webhooks_on)


def hooks_note(hooks: list[bool]) -> str:
    return (
        f"POST /v1/webhooks is not there yet on {hooks.count(False)} of {len(hooks)} "
        "numbers (404/405); measuring accept -> READ only"
    )


async def _new_number(http: httpx.AsyncClient, tenant_key: str, i: int) -> str:
    r = await http.post(
        "/v1/numbers",
        headers={"x-api-key": tenant_key},
        json={"name": f"bench {i}", "number": f"+55119888{i:05d}", "provider": "sandbox"},
    )
    if r.status_code != 201:
        raise SystemExit(f"POST /v1/numbers answered {r.status_code}: {r.text}")
    return str(r.json()["apiKey"]["key"])


async def _register_webhook(http: httpx.AsyncClient, key: str, url: str) -> bool:
    r = await http.post("/v1/webhooks", headers={"x-api-key": key}, json={"url": url, "events": "*"})
    if r.status_code in (404, 405):
        return False
    if r.status_code != 201:
        raise SystemExit(f"POST /v1/webhooks answered {r.status_code}: {r.text}")
    return True


async def _send_all(
    http: httpx.AsyncClient, keys: list[str], n: int, concurrency: int
) -> tuple[list[str], Counter[str]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    ids: list[str] = []
    failures: Counter[str] = Counter()

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            r = await http.post(
                "/v1/messages/send",
                headers={"x-api-key": keys[i % len(keys)]},
                json={"destinationNumber": f"+55119{30000000 + i:08d}", "text": f"e2e benchmark message {i}"},
            )
            if r.status_code == 202:
                ids.append(r.json()["id"])
            else:
                failures[f"{r.status_code} {r.json().get('code', '')}"] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids, failures


def _wait_read(zg: b.Zapgate, n: int, t0: float, timeout: float) -> float | None:
    """When the last message turned READ (epoch seconds), or None on time-out."""
    deadline = time.time() + timeout
    next_note = time.time() + 10
    while time.time() < deadline:
        read = int(b.sqlite_scalar(zg.db_path, "SELECT count(*) FROM messages WHERE status = 'READ'"))
        if read >= n:
            last = b.sqlite_scalar(zg.db_path, "SELECT max(read_at) FROM messages")
            return float(last) / 1000
        if time.time() >= next_note:
            next_note += 10
            b.say(f"  {time.time() - t0:5.0f} s: {_status_counts(zg)}")
        time.sleep(0.1)
    b.say(f"TIMED OUT after {timeout:.0f} s waiting for READ: {_status_counts(zg)}")
    return None


def _status_counts(zg: b.Zapgate) -> dict[str, int]:
    rows = b.sqlite_rows(zg.db_path, "SELECT status, count(*) FROM messages GROUP BY status")
    return {str(s): int(c) for s, c in rows}


def _wait_webhooks(receiver: Receiver, n: int, timeout: float) -> float | None:
    """When the last message.read webhook arrived (all messages in this database are ours), or
    None on time-out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if receiver.read_messages() >= n:
            return max(at for at, _id, event, _data in receiver.records() if event == "message.read")
        time.sleep(0.25)
    b.say(f"TIMED OUT after {timeout:.0f} s waiting for webhooks: {len(receiver.records())} arrived in all")
    return None


def _report(
    args: argparse.Namespace,
    zg: b.Zapgate,
    receiver: Receiver,
    ids: list[str],
    t0: float,
    accepted_at: float,
    read_at: float | None,
    hooks_done: float | None,
    webhooks_on: bool,
) -> int:
    n = len(ids)
    rows = b.sqlite_rows(
        zg.db_path, "SELECT created_at, sent_at, read_at FROM messages WHERE read_at IS NOT NULL"
    )
    to_sent = [(s - c) / 1000 for c, s, _ in rows]
    to_read = [(r - c) / 1000 for c, _, r in rows]
    b.say("\nsummary")
    b.say(
        f"  messages: {n} accepted over {args.numbers} numbers in {accepted_at - t0:.1f} s "
        f"({n / (accepted_at - t0):.0f} accepted/s, {args.concurrency} concurrent clients)"
    )
    ok = read_at is not None and n == args.messages
    if read_at is not None:
        b.say(
            f"  accept -> READ: all {n} READ {read_at - t0:.1f} s after the first send: "
            f"{n / (read_at - t0):.0f} messages/s end to end"
        )
    b.say(
        f"  per message: accepted->SENT p50 {b.percentile(to_sent, 50):.2f} s "
        f"p99 {b.percentile(to_sent, 99):.2f} s; accepted->READ p50 "
        f"{b.percentile(to_read, 50):.2f} s p99 {b.percentile(to_read, 99):.2f} s"
    )
    if webhooks_on:
        ok = _report_webhooks(receiver, set(ids), t0, hooks_done, zg) and ok
    else:
        b.say(
            "  webhooks: not measured ("
            + ("--no-webhooks" if args.no_webhooks else "POST /v1/webhooks missing")
            + ")"
        )
    for line in zg.server.error_summary():
        b.say(f"  server log: {line}")
    b.say(f"  after: {b.load_line()}")
    return 0 if ok else 1


def _report_webhooks(receiver: Receiver, ids: set[str], t0: float, done: float | None, zg: b.Zapgate) -> bool:
    records = receiver.records()
    by_event = Counter(event for _at, _id, event, _data in records)
    dupes = sum(c - 1 for c in Counter(r[1] for r in records).values() if c > 1)
    read_at = dict(b.sqlite_rows(zg.db_path, "SELECT id, read_at FROM messages"))
    lag = [
        at - read_at[data] / 1000
        for at, _id, event, data in records
        if event == "message.read" and read_at.get(data)
    ]
    last = max((r[0] for r in records), default=t0)
    b.say(
        f"  webhooks: {len(records)} received in {last - t0:.1f} s "
        f"({len(records) / max(last - t0, 1e-9):.0f}/s); by event {dict(by_event)}; "
        f"duplicates (same event id) {dupes}"
    )
    b.say(
        f"  READ -> message.read webhook: p50 {b.percentile(lag, 50):.2f} s p99 {b.percentile(lag, 99):.2f} s"
    )
    if done is not None:
        b.say(f"  all {len(ids)} message.read webhooks in {done - t0:.1f} s after the first send")
    return done is not None


if __name__ == "__main__":
    sys.exit(main())
