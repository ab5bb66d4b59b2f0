"""What a read costs on PostgreSQL: ``Database.read()`` (no BEGIN/ROLLBACK around it) against a
read in a transaction (``engine.connect()``, SQLAlchemy's default: BEGIN, the statement,
ROLLBACK), on one engine, alternating.

    .venv/bin/python bench/pg_reads.py [--reads 3000] [--rounds 2] [--dsn postgresql://postgres@127.0.0.1:5432/test]

Prints this process's CPU and the wall time per read (one ``SELECT 1``) for each. Every worker
stage and API route reads through ``Database.read()``; the server side saves the two statements
too (not measured here).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import benchlib as b
import sqlalchemy as sa

from zapgate.storage.database import Database


async def _measure(
    open_conn: Callable[[], AbstractAsyncContextManager[Any]], reads: int
) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(reads):
        async with open_conn() as conn:
            await conn.execute(sa.text("SELECT 1"))
    return (time.process_time() - cpu) * 1000 / reads, (time.perf_counter() - wall) * 1000 / reads


async def main(args: argparse.Namespace) -> None:
    url = args.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    db = Database(url, pool_size=5)
    try:
        await _measure(db.read, 200)  # warm the pool and the statement cache
        await _measure(db.engine.connect, 200)
        for round_ in range(1, args.rounds + 1):
            for label, opener in (("Database.read()", db.read), ("in a transaction", db.engine.connect)):
                cpu, wall = await _measure(opener, args.reads)
                b.say(f"round {round_}: {label:18} {cpu:.3f} ms CPU, {wall:.3f} ms wall per read")
    finally:
        await db.dispose()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--reads", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    arguments = p.parse_args()
    b.say(f"machine: {b.machine_line()}")
    asyncio.run(main(arguments))
    b.say(
        f"command: .venv/bin/python bench/pg_reads.py --reads {arguments.reads} --rounds {arguments.rounds}"
    )
