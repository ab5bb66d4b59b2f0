"""Outgoing webhooks of the Meta simulator: signs each body and hands it to the shared
``CallbackSender``; status webhooks go through a small timer queue so several statuses due in the
same tick can share one POST (``batchStatuses``)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

from zapgate.sim.common import Callback, CallbackSender, SimState, cancel
from zapgate.sim.meta.state import EmittedStatus, MetaState, SimNumber
from zapgate.sim.meta.webhooks import encode, envelope, messages_value, signature, status_item


@dataclass(order=True)
class PendingStatus:
    due: float
    seq: int
    wamid: str = field(compare=False)
    status: str = field(compare=False)


class Delivery:
    def __init__(self, *, sim: SimState, meta: MetaState, sender: CallbackSender) -> None:
        self._sim = sim
        self._meta = meta
        self._sender = sender
        self._heap: list[PendingStatus] = []
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel(self._task)

    def clear(self) -> None:
        self._heap.clear()

    def post(self, number: SimNumber | None, payload: dict[str, Any]) -> Callback | None:
        """Sign and queue one webhook now; None when no callback URL is configured."""
        url = self._meta.callback_url
        if not url:
            return None
        body = encode(payload)
        headers = {
            "X-Hub-Signature-256": signature(self._meta.secret_for(number), body),
            "User-Agent": "facebookexternalua",
        }
        return self._sender.post(url, payload, headers=headers, body=body)

    def schedule(self, wamid: str, statuses: list[str]) -> None:
        """Emit ``statuses`` one ``statusDelayMs`` apart; repeated entries (the duplicates
        switch) go out right after their original."""
        step = float(self._sim.config["statusDelayMs"]) / 1000
        start = time.monotonic()
        position = 0
        for index, status in enumerate(statuses):
            if index == 0 or status != statuses[index - 1]:
                position += 1
            due = self._tick(start + position * step, step)
            heapq.heappush(self._heap, PendingStatus(due, next(self._seq), wamid, status))
        if self._wake is not None:
            self._wake.set()

    def _tick(self, due: float, step: float) -> float:
        if not self._sim.config.get("batchStatuses") or step <= 0:
            return due
        return math.ceil(due / step) * step

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._heap[0].due - time.monotonic()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            self._flush(self._pop_due())

    def _pop_due(self) -> list[PendingStatus]:
        now = time.monotonic()
        due = []
        while self._heap and self._heap[0].due <= now:
            due.append(heapq.heappop(self._heap))
        return due

    def _flush(self, items: list[PendingStatus]) -> None:
        groups: dict[str, list[PendingStatus]] = {}
        for item in items:
            message = self._meta.outbound.get(item.wamid)
            if message is not None:
                groups.setdefault(message.phone_number_id, []).append(item)
        batch = bool(self._sim.config.get("batchStatuses"))
        for pnid, group in groups.items():
            for chunk in [group] if batch else [[item] for item in group]:
                self._post_statuses(pnid, chunk)

    def _post_statuses(self, pnid: str, chunk: list[PendingStatus]) -> None:
        number = self._meta.numbers.get(pnid)
        if number is None:
            return
        records = [(self._meta.outbound[item.wamid], item.status) for item in chunk]
        statuses = [
            status_item(
                wamid_=m.id,
                status=s,
                recipient=m.wa_id,
                tracker=m.tracker,
                billing=m.billing,
                error=(m.failure, m.failure_details) if m.failure is not None else None,
            )
            for m, s in records
        ]
        value = messages_value(pnid, number.display_phone_number, statuses=statuses)
        callback = self.post(number, envelope(number.waba_id, "messages", value))
        for (message, status), item in zip(records, statuses, strict=True):
            message.statuses.append(EmittedStatus(status, item["timestamp"], callback))


@dataclass(frozen=True)
class MetaContext:
    """Everything a simulator route needs."""

    sim: SimState
    meta: MetaState
    delivery: Delivery
