"""CPU per ``POST /v1/messages/send`` through the real app, in process: no network, no uvicorn.

    .venv/bin/python bench/send_inprocess.py [--requests 8000] [--concurrency 32] [--variants 1000]

Builds the app on a fresh SQLite file (workers off), creates the demo workspace, and calls the
ASGI app directly with ``--concurrency`` callers, so that accepts group-commit as under wrk. It
prints this process's CPU per request (the app's whole cost: framework, authentication, parsing,
the group commit), which swings much less between runs than wrk's rate does, so two versions of
the code can be compared (run one with ``PYTHONPATH=<other checkout>/src``). Destinations cycle
over ``--variants`` numbers (0: every request a new one).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

import benchlib as b

from zapgate import demo
from zapgate.container import build_container
from zapgate.settings import Settings
from zapgate.web.app import create_app

PATH = "/v1/messages/send"


async def _key(settings: Settings) -> bytes:
    await demo.ensure_demo(settings, host="127.0.0.1", port=1)
    container = build_container(settings)
    await container.start()
    try:
        workspace = await demo._demo_workspace(container)
        assert workspace is not None
        return (await demo._reissue(container, workspace)).number_key.encode()
    finally:
        await container.close()


async def _run(args: argparse.Namespace) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='zapgate-bench-')}/z.db",
        run_workers=False,
        log_level="WARNING",
    )
    key = await _key(settings)
    app = create_app(settings)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    life = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    statuses: dict[int, int] = {}
    counter = 0

    async def one() -> None:
        nonlocal counter
        counter += 1
        n = counter % args.variants if args.variants else counter
        body = b'{"destinationNumber": "+55119%08d", "text": "Hello from the Zapgate benchmark"}' % n
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                await asyncio.Event().wait()  # the client never disconnects
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"x-api-key", key),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http", "method": "POST", "path": PATH, "raw_path": PATH.encode(), "root_path": "",
            "scheme": "http", "query_string": b"", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "headers": headers, "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1234), "state": {},
        }  # fmt: skip
        await app(scope, receive, send)  # type: ignore[arg-type]

    async def caller(count: int) -> None:
        for _ in range(count):
            await one()

    await asyncio.gather(*(caller(50) for _ in range(args.concurrency)))  # warm-up
    per_caller = args.requests // args.concurrency
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(per_caller) for _ in range(args.concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = per_caller * args.concurrency
    b.say(
        f"{total} sends, {args.concurrency} concurrent, {args.variants or 'all distinct'} destinations: "
        f"**{cpu / total * 1e3:.3f} ms CPU per request**, {total / wall:.0f} req/s; statuses {statuses}"
    )
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await life


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=8000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--variants", type=int, default=1000)
    args = p.parse_args()
    b.say(f"machine: {b.machine_line()}")
    b.say(b.code_line())
    asyncio.run(_run(args))
    b.say(f"command: .venv/bin/python {b.rel(__file__)} --requests {args.requests} "
          f"--concurrency {args.concurrency} --variants {args.variants}")  # fmt: skip
    b.say(f"  after: {b.load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
