"""The webhook queue's chains: one message's deliveries go one after another, the claim reads
only chain heads, and queueing and finishing at the same time never strand a chain."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tests.conftest import Api
from tests.helpers import with_container
from zapgate.container import Container
from zapgate.services import events
from zapgate.storage import tables as t
from zapgate.storage import webhook_queue
from zapgate.testing import ServerThread

EVENTS = ("message.sent", "message.delivered", "message.read")


def _setup(
    start_server: Callable[..., ServerThread],
    api_for: Callable[[ServerThread], Api],
    make_tenant: Callable[..., dict[str, Any]],
) -> tuple[ServerThread, str, str]:
    """A server without workers (nothing drains the queue but the test), a number and one
    endpoint subscribed to everything."""
    server = start_server(run_workers=False)
    api = api_for(server)
    number = api.create_number(make_tenant()["key"])
    hook = api.post("/v1/webhooks", number["key"], json={"url": "http://127.0.0.1:9/hook", "events": "*"})
    assert hook.status_code == 201, hook.text
    return server, number["id"], hook.json()["id"]


async def _emit(container: Container, number_id: str, message_id: str, seq: int, linger: float = 0.0) -> None:
    """Queue one event; ``linger`` keeps the transaction open after it (as a batch applying
    more changes would), the window in which a finisher could miss the new delivery."""
    async with container.db.write() as conn:
        await events.emit(
            conn,
            number_id=number_id,
            event=EVENTS[seq - 1],
            data={"id": message_id},
            order_key=message_id,
            seq=seq,
            now_ms=container.clock.now_ms(),
        )
        if linger:
            await asyncio.sleep(linger)


async def _rows(container: Container, message_id: str) -> list[tuple[str, str, bool]]:
    d = t.webhook_deliveries.c
    async with container.db.read() as conn:
        return [
            (r.event, r.status, r.blocked)
            for r in (
                await conn.execute(
                    sa.select(d.event, d.status, d.blocked).where(d.order_key == message_id).order_by(d.seq)
                )
            ).all()
        ]


async def _finish_heads(container: Container, limit: int = 50) -> list[tuple[str, str]]:
    """What the sender does, without HTTP: claim due heads, mark them SUCCESS, unblock; a head
    whose chain is being queued into (its lock not free) is finished in a later transaction."""
    d = t.webhook_deliveries.c
    now = container.clock.now_ms() + 1
    async with container.db.write() as conn:
        rows = (await conn.execute(webhook_queue.claim_query(now, limit))).all()
    finished: list[tuple[str, str]] = []
    while rows:
        async with container.db.write() as conn:
            held = await webhook_queue.hold_for_finishing(conn, {(r.endpoint_id, r.order_key) for r in rows})
            ready = [r for r in rows if (r.endpoint_id, r.order_key) in held]
            if ready:
                await conn.execute(
                    sa.update(t.webhook_deliveries)
                    .where(d.id.in_([r.id for r in ready]))
                    .values(status="SUCCESS")
                )
                await webhook_queue.unblock_heads(conn, [(r.endpoint_id, r.order_key) for r in ready])
        finished += [(r.order_key, r.event) for r in ready]
        rows = [r for r in rows if (r.endpoint_id, r.order_key) not in held]
        if rows:
            await asyncio.sleep(0.001)
    return finished


def test_a_chain_goes_one_delivery_at_a_time(start_server, api_for, make_tenant) -> None:
    server, number_id, _ = _setup(start_server, api_for, make_tenant)

    async def run(container: Container) -> None:
        for seq in (1, 2, 3):
            await _emit(container, number_id, "msg_a", seq)
        assert await _rows(container, "msg_a") == [
            ("message.sent", "PENDING", False),
            ("message.delivered", "PENDING", True),
            ("message.read", "PENDING", True),
        ]
        for expected in EVENTS:
            assert await _finish_heads(container) == [("msg_a", expected)]
        assert await _finish_heads(container) == []
        # A chain whose deliveries are all finished takes the next one at once.
        await _emit(container, number_id, "msg_a", 4 - 1)
        assert (await _rows(container, "msg_a"))[-1] == ("message.read", "PENDING", False)

    with_container(server.settings, run)


def test_queueing_while_finishing_never_strands_a_chain(start_server, api_for, make_tenant) -> None:
    """Emitters and a finisher race over 60 chains; every delivery ends, each chain in order."""
    server, number_id, _ = _setup(start_server, api_for, make_tenant)
    chains = [f"msg_{i:03d}" for i in range(60)]

    async def run(container: Container) -> None:
        rng = random.Random(7)
        done: list[tuple[str, str]] = []
        emitting = True

        async def emitter(part: list[str]) -> None:
            for message_id in part:
                for seq in (1, 2, 3):
                    await _emit(
                        container, number_id, message_id, seq, linger=0.003 if rng.random() < 0.5 else 0.0
                    )

        async def finisher() -> None:
            while emitting or await _pending(container):
                finished = await _finish_heads(container, limit=rng.randint(1, 20))
                done.extend(finished)
                if not finished:
                    await asyncio.sleep(0.001)

        task = asyncio.create_task(finisher())
        await asyncio.gather(emitter(chains[::2]), emitter(chains[1::2]))
        emitting = False
        await asyncio.wait_for(task, timeout=30)
        assert len(done) == 3 * len(chains)
        for message_id in chains:
            assert [e for k, e in done if k == message_id] == list(EVENTS), message_id

    with_container(server.settings, run)


async def _pending(container: Container) -> int:
    d = t.webhook_deliveries.c
    async with container.db.read() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(t.webhook_deliveries).where(d.status == "PENDING")
                )
            ).scalar_one()
        )
