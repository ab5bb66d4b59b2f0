"""Customer webhook sender: claims due deliveries, signs, posts, records every attempt.

The queue is ``webhook_deliveries`` (a transactional outbox filled by ``services.events``); all
state lives there, so a crash at any instant loses nothing: a claimed delivery carries a lease,
and when the lease runs out another worker (or this one, restarted) picks it up again. Delivery
is therefore at-least-once; receivers dedupe on the event id.

Rules (decisions.md, "Webhooks"):
- per endpoint, deliveries sharing an order key (one message) go strictly in ``seq`` order: a
  delivery waits while an earlier one of its chain is PENDING (in flight or waiting to retry), so
  a READ never overtakes its DELIVERED. A FAILED delivery no longer holds its chain back;
- success is any 2xx; redirects are not followed; the retry schedule and ``Retry-After`` decide
  the next attempt; after the last attempt the delivery is FAILED;
- 410 Gone disables the endpoint; so does failing every attempt for
  ``webhook_disable_after_seconds`` (with a ``webhook.disabled`` audit entry);
- the address actually connected to is checked before a byte is sent (DNS can point a public
  name at our own network at any time), unless ``allow_private_urls``; with
  ``allow_loopback_urls`` (development) a loopback target -- a loopback literal or
  ``localhost``, the same hosts registration lets through -- is delivered unchecked.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import logging
import os
import random
import ssl
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import __version__
from zapgate.container import Container
from zapgate.domain import urls
from zapgate.services import webhooks
from zapgate.storage import tables as t
from zapgate.storage import webhook_queue
from zapgate.storage.batch import Batcher
from zapgate.storage.lists import among
from zapgate.webhooks import signing, transport

_log = logging.getLogger("zapgate.webhooks")

BATCH = 100
# Attempts posted but not yet recorded, at most this many times the concurrency (they stay
# leased, so none is claimed twice; the bound keeps a slow commit from piling them up).
RECORDING_FACTOR = 4
EXCERPT_BYTES = 2048
# A lease outlives the attempt (bounded by the timeout) plus the time to record it, so a slow
# but live worker never has its delivery taken over; a dead one's comes back after this.
LEASE_MARGIN_SECONDS = 15.0
# Retries are spread by up to this fraction (never earlier than the schedule), so deliveries
# that failed together against a recovering endpoint do not all come back in the same instant.
RETRY_JITTER = 0.1
# A finished attempt whose chain is being queued into waits this long before its next batch.
CHAIN_BUSY_RETRY_SECONDS = 0.005
USER_AGENT = f"Zapgate-Webhooks/{__version__}"


# --- pure rules ------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_s)


def retry_delay(
    attempt: int, schedule: list[float], *, retry_after: float | None = None, rng: random.Random | None = None
) -> float | None:
    """Seconds until the attempt after ``attempt`` (1-based), or None when it was the last.

    ``Retry-After`` can push the retry later, never earlier, and at most to the schedule's
    longest step, so a hostile header cannot park a delivery forever.
    """
    if attempt > len(schedule):
        return None
    delay = schedule[attempt - 1]
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return delay * (1 + (rng or random).random() * RETRY_JITTER)


def _clean(text: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; a binary answer must not make the attempt unrecordable.
    return text[:limit].replace("\x00", "\ufffd")


# --- the loop ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    delivery_id: str
    endpoint_id: str
    workspace_id: str
    event_id: str
    event: str
    body: bytes
    attempt: int  # 1-based number of the attempt being made
    order_key: str
    url: str
    secret_enc: str
    previous_secret_enc: str | None
    previous_secret_until: int | None


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    response: str | None
    error: str | None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410

    @property
    def metric_label(self) -> str:
        if self.ok:
            return "success"
        return "http_error" if self.status_code is not None else "error"


@dataclass
class _Record:
    job: Job
    outcome: Outcome
    status: str
    next_at: int | None
    now: int
    disabled: bool = False


class WebhookSender:
    name = "webhooks"

    def __init__(self, container: Container) -> None:
        self._c = container
        s = container.settings
        self._concurrency = s.webhook_concurrency
        # One endpoint may use half of the slots: a slow customer cannot starve the rest, and a
        # busy one gets claims large enough to be worth their transaction.
        self._per_endpoint = max(1, s.webhook_concurrency // 2)
        self._lease_ms = int((s.webhook_timeout_seconds + LEASE_MARGIN_SECONDS) * 1000)
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()  # requests in flight by endpoint
        self._posting = 0  # requests in flight
        # Keyed by "peer check off": loopback targets in development skip the peer guard.
        self._clients: dict[bool, aiohttp.ClientSession] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None
        self._records: Batcher[_Record] = Batcher(container.db, self._write_records)
        # Decrypted secrets by ciphertext: Fernet on every attempt is measurable at volume.
        self._secrets: dict[str, str] = {}

    @property
    def wake(self) -> asyncio.Event:
        return self._c.wake.webhooks

    async def tick(self) -> bool:
        # Slots are HTTP requests in flight; attempts posted and waiting for their record to be
        # committed (group commit) no longer hold one, up to a bound.
        free = min(
            BATCH, self._concurrency - self._posting, self._concurrency * RECORDING_FACTOR - len(self._tasks)
        )
        if free <= 0:
            return False  # a finishing attempt sets ``wake``
        now = self._c.clock.now_ms()
        jobs = await self._claim(now, free)
        for job in jobs:
            self._start(job)
        if not jobs:
            # Idle: arm the timer for retries already in the database (e.g. from before a
            # restart); retries this process schedules arm it themselves (``_record``).
            await self._schedule_next_due(now)
        return len(jobs) == BATCH

    async def close(self) -> None:
        self._cancel_timer()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self._c.settings.webhook_timeout_seconds + 1)
        leftovers = list(self._tasks)
        for task in leftovers:
            task.cancel()  # its lease expires and another worker retries it
        await asyncio.gather(*leftovers, return_exceptions=True)
        await self._records.close()
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # --- claiming ----------------------------------------------------------------------------

    async def _claim(self, now: int, limit: int) -> list[Job]:
        saturated = [k for k, n in self._in_flight.items() if n >= self._per_endpoint]
        rows_q = webhook_queue.claim_query(now, limit * 2 + 16, skip_endpoints=saturated)
        d = t.webhook_deliveries.c
        async with self._c.db.write() as conn:
            rows = self._pick((await conn.execute(rows_q)).all(), limit)
            if not rows:
                return []
            claimed = set(
                (
                    await conn.execute(
                        sa.update(t.webhook_deliveries)
                        .where(
                            among(conn, d.id, [r.id for r in rows]),
                            d.status == "PENDING",
                            webhook_queue.lease_free(now),
                        )
                        .values(lease_until=now + self._lease_ms)
                        .returning(d.id)
                    )
                )
                .scalars()
                .all()
            )
        return [_job(r) for r in rows if r.id in claimed]

    def _pick(self, rows: Iterable[Any], limit: int) -> list[Any]:
        taken = Counter(self._in_flight)
        picked: list[Any] = []
        for row in rows:
            if taken[row.endpoint_id] >= self._per_endpoint:
                continue
            taken[row.endpoint_id] += 1
            picked.append(row)
            if len(picked) == limit:
                break
        return picked

    def _start(self, job: Job) -> None:
        self._in_flight[job.endpoint_id] += 1
        self._posting += 1
        task = asyncio.create_task(self._run(job), name=f"webhook:{job.delivery_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job) -> None:
        try:
            try:
                outcome = await self._attempt(job)
            finally:
                self._release(job)
            await self._record(job, outcome)
            # Committed: the next delivery of this chain may be claimed now.
            self.wake.set()
        except Exception:
            _log.exception(
                "webhook delivery %s could not be recorded; its lease will expire and it will be retried",
                job.delivery_id,
            )

    def _release(self, job: Job) -> None:
        """The request is over: its slot is free (the delivery stays leased until recorded)."""
        self._posting -= 1
        left = self._in_flight[job.endpoint_id] = self._in_flight[job.endpoint_id] - 1
        if left <= 0:
            del self._in_flight[job.endpoint_id]
        # Claim again once half of this endpoint's slots are free, so a claim is worth its
        # transaction (an idle endpoint's next delivery goes at once).
        if left <= self._per_endpoint // 2:
            self.wake.set()

    # --- one attempt ---------------------------------------------------------------------------

    def _http(self, url: str) -> aiohttp.ClientSession:
        s = self._c.settings
        # A loopback literal or ``localhost`` cannot be rebound to another machine, so when
        # loopback targets are allowed they need no peer check; every other host keeps it.
        unchecked = s.allow_private_urls or (
            s.allow_loopback_urls and urls.is_loopback_host(urls.hostname(url))
        )
        client = self._clients.get(unchecked)
        if client is None:  # created here, inside the loop that uses it
            client = self._clients[unchecked] = transport.open_session(
                allow_private=unchecked,
                max_connections=s.webhook_concurrency,
                timeout_seconds=s.webhook_timeout_seconds,
            )
        return client

    def _headers(self, job: Job, now_ms: int) -> dict[str, str]:
        previous = None
        if job.previous_secret_enc and (job.previous_secret_until or 0) > now_ms:
            previous = self._open(job.previous_secret_enc)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            # The excerpt is read raw; a compressed answer would be unreadable (or a bomb).
            "accept-encoding": "identity",
            **signing.sign_headers(
                body=job.body,
                event_id=job.event_id,
                timestamp=now_ms // 1000,
                secret=self._open(job.secret_enc),
                previous_secret=previous,
            ),
        }

    def _open(self, sealed: str) -> str:
        secret = self._secrets.get(sealed)
        if secret is None:
            if len(self._secrets) > 10_000:
                self._secrets.clear()
            secret = self._secrets[sealed] = self._c.secrets.open(sealed)
        return secret

    async def _attempt(self, job: Job) -> Outcome:
        timeout = self._c.settings.webhook_timeout_seconds
        started = time.perf_counter()
        try:
            headers = self._headers(job, self._c.clock.now_ms())
            # The session's own timeout bounds the request too; this bounds the whole attempt
            # whatever the client does (a slow drip included).
            async with asyncio.timeout(timeout):
                status, retry_after, excerpt = await self._post(job, headers)
        except TimeoutError:  # aiohttp's timeouts (ServerTimeoutError, ...) are TimeoutErrors
            return self._failed(started, f"timed out after {timeout:g} s")
        except Exception as exc:  # the one place foreign errors become an attempt's error text
            # (an undecryptable secret included: recorded and retried on schedule, not looped)
            return self._failed(started, _describe(exc))
        return Outcome(
            status_code=status,
            duration_ms=_elapsed_ms(started),
            response=excerpt,
            error=_http_error(status),
            retry_after=parse_retry_after(retry_after, now_s=time.time()),
        )

    async def _post(self, job: Job, headers: dict[str, str]) -> tuple[int, str | None, str]:
        async with self._http(job.url).post(
            job.url, data=job.body, headers=headers, allow_redirects=False
        ) as response:
            # At most EXCERPT_BYTES of the raw body (the session does not decompress). A body
            # left unread closes its connection instead of returning it to the pool.
            excerpt = bytearray()
            while len(excerpt) < EXCERPT_BYTES:
                chunk = await response.content.read(EXCERPT_BYTES - len(excerpt))
                if not chunk:
                    break
                excerpt += chunk
            text = _clean(excerpt.decode("utf-8", "replace"), EXCERPT_BYTES)
            return response.status, response.headers.get("retry-after"), text

    @staticmethod
    def _failed(started: float, error: str) -> Outcome:
        return Outcome(
            status_code=None,
            duration_ms=_elapsed_ms(started),
            response=None,
            error=_clean(error, EXCERPT_BYTES),
        )

    # --- recording -----------------------------------------------------------------------------

    async def _record(self, job: Job, outcome: Outcome) -> None:
        now = self._c.clock.now_ms()
        status, next_at = self._next_state(job, outcome, now)
        record = _Record(job, outcome, status, next_at, now)
        # Group commit: the attempts finishing together are recorded in one transaction. One
        # whose chain a transaction queueing into it holds at that moment goes with a later
        # batch (the queuer commits within milliseconds).
        while True:
            try:
                await self._records.submit(record)
                break
            except webhook_queue.ChainBusy:
                await asyncio.sleep(CHAIN_BUSY_RETRY_SECONDS)
        disabled = record.disabled
        self._c.metrics.webhook_attempts.labels(outcome.metric_label).inc()
        self._c.metrics.webhook_latency.observe(outcome.duration_ms / 1000)
        if disabled:
            await webhooks.drop_pending(self._c, endpoint_id=job.endpoint_id)
        elif next_at is not None:
            self._wake_at(next_at)
        if not outcome.ok:
            _log.info(
                "webhook %s attempt %d to endpoint %s failed (%s); next: %s",
                job.event,
                job.attempt,
                job.endpoint_id,
                outcome.error or outcome.status_code,
                status,
            )

    async def _write_records(self, conn: AsyncConnection, records: list[_Record]) -> list[Exception | None]:
        """A batch of finished attempts in a constant number of statements (plus a few for
        each failed one, the rare path that may disable an endpoint)."""
        held = await webhook_queue.hold_for_finishing(
            conn, {(r.job.endpoint_id, r.job.order_key) for r in records}
        )
        results: list[Exception | None] = [
            None if (r.job.endpoint_id, r.job.order_key) in held else webhook_queue.ChainBusy()
            for r in records
        ]
        records = [r for r, busy in zip(records, results, strict=True) if busy is None]
        if not records:
            return results
        now = max(r.now for r in records)
        # Endpoint rows first, then the deliveries: the same lock order as deleting an
        # endpoint (which cascades to its deliveries), so the two cannot deadlock. Failed
        # attempts update their endpoints one by one: all the batch's endpoints are locked
        # first, in id order, as other finishers lock them.
        failed = sorted((r for r in records if not r.outcome.ok), key=lambda r: r.job.endpoint_id)
        if failed:
            await webhook_queue.lock_endpoints(conn, [r.job.endpoint_id for r in records])
        await webhook_queue.touch_endpoints(
            conn, sorted({r.job.endpoint_id for r in records if r.outcome.ok}), now_ms=now
        )
        for r in failed:
            r.disabled = await self._touch_endpoint(conn, r.job, r.outcome, r.now)
        live = await webhook_queue.finish(
            conn,
            [
                webhook_queue.Finished(
                    delivery_id=r.job.delivery_id,
                    attempt=r.job.attempt,
                    status=r.status,
                    status_code=r.outcome.status_code,
                    next_attempt_at=r.next_at,
                )
                for r in records
            ],
            now_ms=now,
        )
        # A delivery gone with its endpoint (deleted meanwhile) has nothing to record against.
        await webhook_queue.log_attempts(
            conn,
            [
                {
                    "delivery_id": r.job.delivery_id,
                    "endpoint_id": r.job.endpoint_id,
                    "attempt": r.job.attempt,
                    "status_code": r.outcome.status_code,
                    "duration_ms": r.outcome.duration_ms,
                    "response_excerpt": r.outcome.response,
                    "error": r.outcome.error,
                    "created_at": r.now,
                }
                for r in records
                if r.job.delivery_id in live
            ],
        )
        # The next delivery of each finished chain may go now.
        await webhook_queue.unblock_heads(
            conn,
            [
                (r.job.endpoint_id, r.job.order_key)
                for r in records
                if r.status != "PENDING" and r.job.delivery_id in live
            ],
        )
        return results

    def _next_state(self, job: Job, outcome: Outcome, now: int) -> tuple[str, int | None]:
        if outcome.ok:
            return "SUCCESS", None
        if outcome.gone:
            return "FAILED", None  # the endpoint is being disabled; retrying is pointless
        delay = retry_delay(
            job.attempt, self._c.settings.webhook_retry_schedule, retry_after=outcome.retry_after
        )
        if delay is None:
            return "FAILED", None
        return "PENDING", now + int(delay * 1000)

    async def _touch_endpoint(self, conn: AsyncConnection, job: Job, outcome: Outcome, now: int) -> bool:
        """Last-triggered time and failure clock; True when this attempt disabled it."""
        e = t.webhook_endpoints.c
        failing_since: Any = None if outcome.ok else sa.func.coalesce(e.failing_since, now)
        await conn.execute(
            sa.update(t.webhook_endpoints)
            .where(e.id == job.endpoint_id)
            .values(last_triggered_at=now, failing_since=failing_since)
        )
        if outcome.ok:
            return False
        reason = "GONE" if outcome.gone else await self._failing_too_long(conn, job, now)
        return reason is not None and await self._disable(conn, job, outcome, reason, now)

    async def _failing_too_long(self, conn: AsyncConnection, job: Job, now: int) -> str | None:
        e = t.webhook_endpoints.c
        since = (await conn.execute(sa.select(e.failing_since).where(e.id == job.endpoint_id))).scalar()
        limit_ms = self._c.settings.webhook_disable_after_seconds * 1000
        return "FAILING" if since is not None and now - since >= limit_ms else None

    async def _disable(
        self, conn: AsyncConnection, job: Job, outcome: Outcome, reason: str, now: int
    ) -> bool:
        e = t.webhook_endpoints.c
        updated = await conn.execute(
            sa.update(t.webhook_endpoints)
            .where(e.id == job.endpoint_id, e.active.is_(True))
            .values(active=False, disabled_reason=reason, updated_at=now)
        )
        if not updated.rowcount:
            return False  # already inactive: one audit entry per disable
        await conn.execute(
            sa.insert(t.audit_log).values(
                workspace_id=job.workspace_id,
                actor="webhook-sender",
                action="webhook.disabled",
                detail={
                    "webhookId": job.endpoint_id,
                    "reason": reason,
                    "deliveryId": job.delivery_id,
                    "statusCode": outcome.status_code,
                    "error": outcome.error,
                },
                created_at=now,
            )
        )
        _log.warning("webhook endpoint %s disabled (%s)", job.endpoint_id, reason)
        return True

    # --- waking for retries --------------------------------------------------------------------

    async def _schedule_next_due(self, now: int) -> None:
        async with self._c.db.read() as conn:
            next_due = await webhook_queue.next_due(conn, after_ms=now)
        if next_due is not None:
            self._wake_at(next_due)

    def _wake_at(self, at_ms: int) -> None:
        """Wake at ``at_ms`` (keeping an earlier wake-up), so retries beat the poll interval."""
        if self._timer is not None and self._timer_at is not None and self._timer_at <= at_ms:
            return
        self._cancel_timer()
        delay = max(0.001, (at_ms - self._c.clock.now_ms()) / 1000)
        self._timer_at = at_ms
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.wake.set()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None


def _job(row: Any) -> Job:
    return Job(
        delivery_id=row.id,
        endpoint_id=row.endpoint_id,
        workspace_id=row.workspace_id,
        event_id=row.event_id,
        event=row.event,
        body=row.body.encode(),
        attempt=row.attempts + 1,
        order_key=row.order_key,
        url=row.url,
        secret_enc=row.secret_enc,
        previous_secret_enc=row.previous_secret_enc,
        previous_secret_until=row.previous_secret_until,
    )


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _http_error(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    return f"HTTP {status}"


def _describe(exc: Exception) -> str:
    """An attempt's error text: what failed, for the customer reading the delivery log."""
    refused = transport.refusal(exc)
    if refused is not None:
        return refused
    # Most specific first: aiohttp's TLS and DNS errors are ClientConnectorErrors too.
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert = exc.certificate_error
        reason = getattr(cert, "verify_message", None) or str(cert) or type(cert).__name__
        return f"TLSError: the certificate of {exc.host} was not accepted ({reason})"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"TLSError: the TLS handshake with {exc.host}:{exc.port} failed ({_reason(exc.os_error)})"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"ConnectError: cannot resolve {exc.host} ({_reason(exc.os_error)})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"ConnectError: cannot connect to {exc.host}:{exc.port} ({_reason(exc.os_error)})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "ServerDisconnected: the connection closed before a complete answer"
    if isinstance(exc, aiohttp.ClientResponseError):  # an answer that is not valid HTTP
        return f"ProtocolError: invalid HTTP answer ({' '.join(exc.message.split())})"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"ProtocolError: incomplete HTTP answer ({' '.join(str(exc).split())})"
    if isinstance(exc, OSError):  # aiohttp's ClientOSError: a reset or broken connection
        return f"NetworkError: {_reason(exc)}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reason(err: OSError) -> str:
    text = (err.strerror or str(err)).strip()
    # "Connection refused" says more than asyncio's "Connect call failed ('1.2.3.4', 443)"; but
    # not than aiohappyeyeballs' "Multiple exceptions: ..." (one per address, a refusal by the
    # peer guard among them perhaps). An SSL error's errno is OpenSSL's, not the OS's, and a DNS
    # error's is negative.
    if (
        not isinstance(err, ssl.SSLError)
        and err.errno is not None
        and err.errno > 0
        and err.errno in errno.errorcode
        and not text.startswith("Multiple exceptions")
    ):
        return os.strerror(err.errno)
    return text or type(err).__name__
