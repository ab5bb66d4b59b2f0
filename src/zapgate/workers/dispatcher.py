"""The dispatcher: claims due QUEUED messages of the numbers it leases and hands them to the
provider, paced per number, never two in flight to one contact (design §5)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import retry, windows
from zapgate.domain.lifecycle import Status
from zapgate.domain.numbers import PRIMARY, SECONDARY
from zapgate.domain.queue import DispatchNumber, QueuedMessage
from zapgate.providers.base import Capabilities, NumberRef, OutboundMessage, Provider, SendResult
from zapgate.services import credentials, events, status_changes
from zapgate.services.inbox import apply as inbox_apply
from zapgate.storage import message_store
from zapgate.storage.batch import Batcher
from zapgate.storage.database import Connection, is_unavailable
from zapgate.storage.repositories.conversations import ConversationRepository
from zapgate.workers.leases import LeaseKeeper
from zapgate.workers.pacing import GapPacer, Pacer, TokenBucket

_log = logging.getLogger("zapgate.dispatcher")
FREE_FORM_MODES = frozenset({"text", "media", "list", "carousel", "flow"})


class Dispatcher:
    name = "dispatcher"
    debounce = 0.005

    def __init__(self, container: Container, leases: LeaseKeeper | None = None) -> None:
        self._c = container
        self._leases = leases or LeaseKeeper(container)
        self._buckets: dict[str, Pacer] = {}
        self._refs: dict[tuple[str, str], tuple[str | None, NumberRef]] = {}
        self._in_flight: dict[str, set[str]] = {}
        self._tasks: dict[asyncio.Task[None], str] = {}  # provider calls -> message id
        self._lease_ms = int(container.settings.message_lease_seconds * 1000)
        self._outcomes: Batcher[_Outcome] = Batcher(container.db, self._write_outcomes)
        self._outage_logged = False
        self._renewer: asyncio.Task[None] | None = None

    @property
    def wake(self) -> asyncio.Event:
        return self._c.wake.dispatch

    async def tick(self) -> bool:
        force = self._c.wake.numbers.is_set()
        self._c.wake.numbers.clear()
        owned = await self._leases.refresh(force=force)
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew())
        if not owned:
            return False
        numbers = await self._numbers(owned)
        started = 0
        for number in numbers:
            started += await self._pump(number)
        return started > 0

    async def _renew(self) -> None:
        """Number leases renewed on time even while a tick is long (many numbers, a slow
        database): a lease that ran out would let another worker take the number over."""
        while True:
            await asyncio.sleep(max(0.01, self._leases.seconds_to_renewal(self._c.clock.now_ms())))
            before = self._leases.owned
            try:
                owned = await self._leases.refresh()
            except Exception as exc:  # the next tick or renewal tries again
                if not is_unavailable(exc):
                    _log.exception("renewing the number leases failed")
                await asyncio.sleep(0.5)
                continue
            if owned != before:
                self.wake.set()

    async def close(self) -> None:
        """Let the provider calls in flight finish (10 s at most) and record them; calls still
        running then are cut off and their messages freed for whoever takes the number next
        (sent or not: at-least-once), rather than left leased until their lease ends."""
        stranded: list[str] = []
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        if self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=10)
            stranded = [self._tasks[task] for task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._outcomes.close()
        if stranded:
            async with self._c.db.write() as conn:
                await message_store.release(conn, stranded, now=self._c.clock.now_ms())
        await self._leases.release_all()

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    async def _numbers(self, owned: set[str]) -> list[DispatchNumber]:
        # Read every tick: a number closed or paused by any process, on any machine, stops
        # sending at once (measured: caching these rows for a second saved nothing visible).
        async with self._c.db.read() as conn:
            return await message_store.open_numbers(conn, owned)

    def _caps(self, number: DispatchNumber) -> Capabilities:
        return self._c.providers.get(number.provider).capabilities(official=bool(number.official))

    @staticmethod
    def _rate(number: DispatchNumber, caps: Capabilities) -> float:
        return float(number.pace_per_second or caps.default_pace_per_second)

    def _bucket(self, number: DispatchNumber, caps: Capabilities) -> Pacer:
        rate = self._rate(number, caps)
        bucket = self._buckets.get(number.id)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[number.id] = (
                GapPacer(rate, caps.pace_jitter, clock=self._c.clock.monotonic)
                if caps.pace_jitter > 0
                else TokenBucket(rate, clock=self._c.clock.monotonic)
            )
        return bucket

    def _ref(self, number: DispatchNumber, link: str | None = None) -> NumberRef:
        """The number through ``link`` (by default the one it sends on: the secondary while
        only that one is OPEN), with that link's credentials decrypted once per change."""
        link = link or credentials.sending_link(number)
        sealed = credentials.sealed_of(number, link)
        cached = self._refs.get((number.id, link))
        if cached is None or cached[0] != sealed:
            cached = self._refs[(number.id, link)] = (sealed, credentials.link_ref(self._c, number, link))
        return cached[1]

    async def _send(
        self, provider: Provider, outbound: OutboundMessage, number: DispatchNumber
    ) -> SendResult:
        """Send; a dual number whose primary link turns out to be down (the provider says so
        before taking the message) sends through its secondary link when that one is OPEN."""
        try:
            return await provider.send(outbound)
        except errors.ProviderTemporaryError as exc:
            failover = (
                exc.health in inbox_apply.LINK_HEALTH
                and credentials.sending_link(number) == PRIMARY
                and number.secondary_state == "OPEN"
                and number.secondary_credentials_enc is not None
            )
            if not failover:
                raise
            _log.info("number %s: primary link down (%s); sending through the secondary", number.id, exc.code)
            return await provider.send(replace(outbound, number=self._ref(number, SECONDARY)))

    async def _pump(self, number: DispatchNumber) -> int:
        if not self._leases.holds(number.id, self._c.clock.now_ms()):
            return 0  # the lease is late to renew: no new sends until it is
        caps = self._caps(number)
        in_flight = self._in_flight.setdefault(number.id, set())
        bucket = self._bucket(number, caps)
        capacity = _in_flight_limit(caps, bucket.rate) - len(in_flight)
        tokens = bucket.available()
        if capacity <= 0:
            return 0
        if tokens < 1:
            self._wake_in(bucket.seconds_until_token())
            return 0
        batch = await self._claim(number, min(capacity, tokens, 200), in_flight)
        for message in batch:
            bucket.take()
            in_flight.add(message.destination)
            task = asyncio.create_task(self._deliver(number, caps, message))
            self._tasks[task] = message.id
            task.add_done_callback(self._forget)
        return len(batch)

    async def _claim(self, number: DispatchNumber, limit: int, in_flight: set[str]) -> list[QueuedMessage]:
        now = self._c.clock.now_ms()
        # Choose in a read transaction; only the claim itself takes the write lock. The claim
        # re-checks status and lease, so a row changed in between is simply not claimed.
        # (Choosing inside the write transaction, candidates locked with SKIP LOCKED on
        # PostgreSQL, measured no faster on either database: bench/RESULTS.md.)
        async with self._c.db.read() as conn:
            held = set(in_flight) | await message_store.held_contacts(conn, number.id, now)
            # A contact with a message in flight or in backoff must not hide the others behind
            # its own backlog (head-of-line blocking).
            candidates = await message_store.due(
                conn, number.id, now, limit * 4 + 16, skip_contacts=held if len(held) <= 1000 else ()
            )
        chosen = _one_per_contact(candidates, held, limit)
        if not chosen:
            return []
        async with self._c.db.write() as conn:
            claimed = await message_store.claim(
                conn,
                number.id,
                [c.id for c in chosen],
                now=now,
                lease_ms=self._lease_ms,
                owner=self._c.worker_id,
            )
        return [c for c in chosen if c.id in claimed]

    async def _deliver(self, number: DispatchNumber, caps: Capabilities, message: QueuedMessage) -> None:
        try:
            await self._deliver_one(number, caps, message)
        except Exception:
            _log.exception("dispatch of %s failed unexpectedly; it will be retried", message.id)
        finally:
            in_flight = self._in_flight.get(number.id, set())
            in_flight.discard(message.destination)
            # Claim again once half of the number's slots are free, so that a claim (a read and
            # a write per number) starts a batch, not one message per call that returns.
            if len(in_flight) <= _in_flight_limit(caps, self._rate(number, caps)) // 2:
                self.wake.set()

    async def _deliver_one(self, number: DispatchNumber, caps: Capabilities, message: QueuedMessage) -> None:
        now = self._c.clock.now_ms()
        if (
            caps.enforces_24h_window
            and message.mode in FREE_FORM_MODES
            and not windows.is_open(message.last_inbound_at, now)
        ):
            await self._finish(
                message,
                status_changes.Change(
                    Status.FAILED,
                    "dispatcher",
                    code="META_OUTSIDE_24H_WINDOW",
                    detail="24h conversation window closed: the contact has not written in the last "
                    "24 h; send an approved template instead",
                ),
            )
            return
        provider = self._c.providers.get(number.provider)
        mark_read = caps.mark_read_on_send and _mark_read(message, number)
        outbound = OutboundMessage(
            message_id=message.id,
            number=self._ref(number),
            destination=message.destination,
            destination_kind=message.destination_kind,
            mode=message.mode,
            payload=message.payload,
            attempt=message.attempts + 1,
            mark_read=mark_read,
            mark_read_message_id=message.last_inbound_provider_id if mark_read else None,
        )
        if not self._leases.holds(number.id, self._c.clock.now_ms()):
            # Claimed, but the number's lease is late to renew: hand the message back rather
            # than send for a number another worker may be taking over.
            async with self._c.db.write() as conn:
                await message_store.release(conn, [message.id], now=self._c.clock.now_ms())
            return
        started = time.perf_counter()
        try:
            result = await self._send(provider, outbound, number)
        except errors.ProviderTemporaryError as exc:
            self._c.metrics.provider_errors.labels(number.provider, exc.code).inc()
            if exc.health:
                await self._mark_number(number.id, exc.health, exc.message)
            await self._retry_later(message, exc)
            return
        except errors.ProviderAuthError as exc:
            self._c.metrics.provider_errors.labels(number.provider, exc.code).inc()
            await self._mark_number(number.id, "AUTH_FAILED", exc.message)
            await self._finish(
                message, status_changes.Change(Status.FAILED, "dispatcher", code=exc.code, detail=exc.message)
            )
            return
        except errors.ProviderPermanentError as exc:
            self._c.metrics.provider_errors.labels(number.provider, exc.code).inc()
            await self._finish(
                message, status_changes.Change(Status.FAILED, "dispatcher", code=exc.code, detail=exc.message)
            )
            return
        finally:
            self._c.metrics.provider_calls.labels(number.provider).observe(time.perf_counter() - started)
        if number.health != "OK":
            await self._mark_number(number.id, "OK", None)
        await self._sent(number, message, result)

    async def _sent(self, number: DispatchNumber, message: QueuedMessage, result: SendResult) -> None:
        change = status_changes.Change(
            Status.SENT, "dispatcher", provider_message_id=result.provider_message_id
        )
        contact = message.destination if result.marked_read else None
        await self._record(_Outcome(message.id, change, number.id, number.provider, result, contact))
        self._after_commit(1, bool(result.receipts))

    async def _finish(self, message: QueuedMessage, change: status_changes.Change) -> None:
        await self._record(_Outcome(message.id, change))
        self._after_commit(1, False)

    async def _record(self, outcome: _Outcome) -> None:
        """Record a provider's answer. While the database is unavailable the answer is kept
        and the write tried again (0.2 s, doubling, at most 1 s apart): dropped, it would leave
        the message to be sent a second time once its lease ends."""
        delay = 0.2
        while True:
            try:
                await self._outcomes.submit(outcome)
                if self._outage_logged:
                    self._outage_logged = False
                    _log.info("the database is back: kept provider answers recorded")
                return
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                if not self._outage_logged:
                    self._outage_logged = True
                    _log.warning(
                        "the database is unavailable: keeping provider answers in "
                        "memory until it is back (%s)",
                        type(exc).__name__,
                    )
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    async def _write_outcomes(self, conn: Connection, batch: list[_Outcome]) -> list[Exception | None]:
        """Outcomes of many provider calls in one transaction (group commit)."""
        now = self._c.clock.now_ms()
        receipts: list[dict[str, Any]] = []
        endpoints: events.EndpointCache = {}
        rows = await message_store.lock(conn, [item.message_id for item in batch])
        await status_changes.apply_many(
            conn,
            rows,
            [(item.message_id, item.change) for item in batch if item.message_id in rows],
            now_ms=now,
            metrics=self._c.metrics,
            endpoints=endpoints,
        )
        for item in batch:
            receipts += item.receipt_rows(now)
        await message_store.add_provider_events(conn, receipts)
        read = [(item.number_id, item.contact) for item in batch if item.contact and item.number_id]
        await ConversationRepository.mark_read(conn, read, now)
        return [None] * len(batch)

    async def _retry_later(self, message: QueuedMessage, exc: errors.ProviderTemporaryError) -> None:
        s = self._c.settings
        now = self._c.clock.now_ms()
        attempts = message.attempts + 1
        delay = retry.backoff_seconds(
            attempts, base=s.retry_base_seconds, cap=s.retry_max_seconds, hint=exc.retry_after
        )
        next_at = now + int(delay * 1000)
        deadline = message.deliver_until or (
            message.deliver_at + int(s.never_attempted_max_age_seconds * 1000)
        )
        if next_at >= deadline:
            await self._finish(
                message,
                status_changes.Change(
                    Status.FAILED,
                    "dispatcher",
                    code="EXPIRED_AFTER_ATTEMPTS",
                    detail=f"Gave up after {attempts} attempts: {exc.message}",
                ),
            )
            return
        async with self._c.db.write() as conn:
            await message_store.retry_later(
                conn,
                message.id,
                next_at=next_at,
                now=now,
                error=exc.message,
                detail=f"attempt {attempts} failed ({exc.message}); retry in {delay:.1f}s",
            )
        self._wake_in(delay)

    async def _mark_number(self, number_id: str, health: str, reason: str | None) -> None:
        async with self._c.db.write() as conn:
            await inbox_apply.mark_health(conn, number_id, health, reason, now_ms=self._c.clock.now_ms())

    def _after_commit(self, webhooks: int, receipts: bool) -> None:
        if webhooks:
            self._c.wake.webhooks.set()
        if receipts:
            self._c.wake.inbox.set()

    def _wake_in(self, seconds: float) -> None:
        asyncio.get_running_loop().call_later(max(0.001, seconds), self.wake.set)


def _in_flight_limit(caps: Capabilities, rate: float) -> int:
    return max(caps.max_in_flight, math.ceil(rate * caps.in_flight_seconds))


@dataclass(frozen=True)
class _Outcome:
    message_id: str
    change: status_changes.Change
    number_id: str | None = None
    provider: str | None = None
    result: SendResult | None = None
    contact: str | None = None  # the destination, when the send carried a read receipt

    def receipt_rows(self, now: int) -> list[dict[str, Any]]:
        if self.result is None:
            return []
        return [
            {
                "number_id": self.number_id,
                "shard": self.number_id,
                "provider": self.provider,
                "kind": "status",
                "payload": {
                    "messageId": self.message_id,
                    "providerMessageId": self.result.provider_message_id,
                    "status": r.status,
                    "code": r.code,
                    "detail": r.detail,
                },
                "due_at": now + int(r.after_seconds * 1000),
                "attempts": 0,
                "created_at": now,
            }
            for r in self.result.receipts
        ]


def _one_per_contact(
    candidates: Sequence[QueuedMessage], blocked: set[str], limit: int
) -> list[QueuedMessage]:
    chosen: list[QueuedMessage] = []
    seen = set(blocked)
    for c in candidates:
        if c.destination in seen:
            continue
        seen.add(c.destination)
        chosen.append(c)
        if len(chosen) >= limit:
            break
    return chosen


def _mark_read(message: QueuedMessage, number: DispatchNumber) -> bool:
    if message.mark_read is not None:
        return bool(message.mark_read)
    return bool((number.settings or {}).get("markReadOnSend", True))
