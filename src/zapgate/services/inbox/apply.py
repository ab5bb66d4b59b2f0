"""Provider callbacks: stored raw by the web layer (acknowledged fast), applied here by the
inbox worker from the stored body, in the worker's transaction.

Each adapter turns a body into our events (``providers.base.ProviderEvent``); this module routes
every event to its number and applies it: receipts drive the message lifecycle, inbound messages
are stored and emitted, connection changes move the number's state, template verdicts move the
template. Duplicated and reordered callbacks are harmless: the lifecycle only moves forward and
inbound messages are deduplicated by provider id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from zapgate.domain import retry
from zapgate.domain.lifecycle import Status
from zapgate.domain.numbers import SECONDARY, Number
from zapgate.domain.queue import LockedMessage, ProviderEventRow
from zapgate.metrics import Metrics
from zapgate.providers import base
from zapgate.providers.registry import ProviderRegistry
from zapgate.services import events, inbound, status_changes
from zapgate.settings import Settings
from zapgate.storage import message_store
from zapgate.storage.database import Connection
from zapgate.storage.repositories.inbox import InboxRepository
from zapgate.webhooks import payloads

_log = logging.getLogger("zapgate.inbox")
# A receipt can overtake the write of the send's outcome; it waits this many tries for it.
UNKNOWN_MESSAGE_TRIES = 5


@dataclass
class Applied:
    webhooks: int = 0
    numbers_changed: bool = False
    templates_changed: bool = False
    # Stored events naming a message not recorded yet (a receipt can overtake the write of the
    # send's outcome): nothing of them was applied; the caller tries them again later.
    deferred: list[ProviderEventRow] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    registry: ProviderRegistry
    settings: Settings
    metrics: Metrics | None
    now_ms: int
    endpoints: events.EndpointCache


def store_row(
    *, provider: str, number_id: str | None, body: Any, now_ms: int, routes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``provider_events`` row for one received callback. A callback not addressed to one
    number (Meta's) carries the ``routes`` its authentication allowed: ``{"phones": {provider
    route: number id}, "wabas": {account id: [number ids]}}``."""
    payload: dict[str, Any] = {"body": body}
    shard = number_id
    if routes is not None:
        payload["routes"] = routes
        named = set((routes.get("phones") or {}).values())
        for ids_ in (routes.get("wabas") or {}).values():
            named.update(ids_)
        shard = named.pop() if len(named) == 1 else None
    return {
        "number_id": number_id,
        "provider": provider,
        "kind": "callback",
        "payload": payload,
        "due_at": now_ms,
        "attempts": 0,
        "created_at": now_ms,
        "shard": shard,
    }


async def apply_batch(conn: Connection, rows: Sequence[ProviderEventRow], ctx: Context) -> Applied:
    """Apply stored provider events (``provider_events`` rows, in order) in the caller's
    transaction.

    Receipts, the bulk of the traffic, are applied set-based: their numbers and messages are
    read in a few statements for the whole batch and their status changes written by
    :func:`status_changes.apply_many`. Inbound messages, link changes and template verdicts are
    applied one by one, in order with the receipts around them.
    """
    result = Applied()
    parsed = [(row, _parse(row, ctx)) for row in rows]
    numbers = await _numbers(conn, parsed)
    receipts = _Receipts(conn, ctx)
    await receipts.resolve(parsed, numbers)
    for row, found in parsed:
        if receipts.unknown_in(row, found):
            result.deferred.append(row)
            continue
        for event in found:
            if isinstance(event, _SandboxReceipt):
                receipts.add(event.message_id, event.change)
            elif isinstance(event, base.TemplateUpdate):
                await receipts.flush(result)
                for owner in await _template_numbers(conn, row, event):
                    await _template(conn, owner, event, ctx.now_ms)
                    result.templates_changed = True
            else:
                key = _number_key(row, event)
                number = None if key is None else numbers.get(key)
                if number is None:
                    number = await _legacy_number(conn, row, event)
                if number is None:
                    _log.info(
                        "%s callback for an unknown number (route %s) ignored",
                        row.provider,
                        getattr(event, "route", None),
                    )
                    continue
                if isinstance(event, base.StatusUpdate):
                    await _status(conn, number, event, receipts, result)
                else:
                    await receipts.flush(result)
                    await _apply_event(conn, number, event, ctx, result)
    await receipts.flush(result)
    return result


@dataclass(frozen=True)
class _SandboxReceipt:
    """A receipt the sandbox provider scheduled (``kind = "status"``), naming our message."""

    message_id: str | None
    provider_message_id: str | None
    change: status_changes.Change


def _parse(row: ProviderEventRow, ctx: Context) -> list[Any]:
    if row.kind == "callback":
        return list(ctx.registry.get(row.provider).parse_callback(row.payload.get("body")))
    if row.kind != "status":
        _log.warning("unknown provider event kind %s", row.kind)
        return []
    payload = row.payload
    change = status_changes.Change(
        Status(payload["status"]),
        "provider",
        code=payload.get("code"),
        detail=payload.get("detail"),
        provider_message_id=payload.get("providerMessageId"),
        meta_pricing=payload.get("pricing"),
    )
    return [_SandboxReceipt(payload.get("messageId"), payload.get("providerMessageId"), change)]


def _number_key(row: ProviderEventRow, event: Any) -> str | None:
    """The id of the number an event is for, as the callback's authentication allowed: the
    callback's own number, or the one its route names among the callback's ``routes``."""
    if row.number_id:
        return str(row.number_id)
    routes = row.payload.get("routes")
    if routes is None:
        return None
    number_id = (routes.get("phones") or {}).get(getattr(event, "route", None) or "")
    return None if number_id is None else str(number_id)


async def _numbers(conn: Connection, parsed: list[tuple[ProviderEventRow, list[Any]]]) -> dict[str, Number]:
    """The live numbers the batch's events are for, by id (one query)."""
    wanted = {
        key
        for row, found in parsed
        for event in found
        if not isinstance(event, base.TemplateUpdate | _SandboxReceipt)
        and (key := _number_key(row, event)) is not None
    }
    if not wanted:
        return {}
    return await InboxRepository.live_numbers(conn, sorted(wanted))


class _Receipts:
    """The receipts of a batch: their messages read together, their changes applied
    together."""

    def __init__(self, conn: Connection, ctx: Context) -> None:
        self._conn = conn
        self.ctx = ctx
        self._ours: set[str] = set()  # message ids the events name
        self._by_provider: dict[tuple[str, str], str] = {}
        self._by_pid: dict[str, str] = {}
        self._rows: dict[str, LockedMessage] = {}
        self._pending: list[tuple[str, status_changes.Change]] = []
        self._stale = False

    async def resolve(
        self, parsed: list[tuple[ProviderEventRow, list[Any]]], numbers: dict[str, Number]
    ) -> None:
        provider_ids: set[str] = set()
        for _row, found in parsed:
            for event in found:
                if isinstance(event, _SandboxReceipt):
                    if event.message_id:
                        self._ours.add(str(event.message_id))
                    elif event.provider_message_id:
                        provider_ids.add(event.provider_message_id)
                elif isinstance(event, base.StatusUpdate):
                    if event.our_message_id:
                        self._ours.add(event.our_message_id)
                    provider_ids.add(event.provider_message_id)
        if provider_ids:
            self._by_provider = await message_store.find_by_provider_ids(self._conn, provider_ids)
            self._by_pid = {pid: mid for (_, pid), mid in self._by_provider.items()}
        self._rows = await message_store.lock(self._conn, self._ours | set(self._by_provider.values()))

    def message_id(self, number_id: str | None, event: Any) -> str | None:
        """Our message for a receipt: by our id when the provider echoes it (and it is the
        number's), else by the provider's id within the number."""
        if isinstance(event, _SandboxReceipt):
            if event.message_id:
                return str(event.message_id) if str(event.message_id) in self._rows else None
            return self._by_pid.get(event.provider_message_id or "")
        ours = event.our_message_id
        if ours and ours in self._rows and self._rows[ours].number_id == number_id:
            return str(ours)
        return self._by_provider.get((number_id or "", event.provider_message_id))

    def unknown_in(self, row: ProviderEventRow, found: list[Any]) -> bool:
        """Whether the row names a message not recorded yet, or reports a failure of one whose
        send is still in flight (QUEUED under a dispatcher's lease: the provider's receipt
        overtook the record of its answer), and may wait for it: the failure then applies after
        the SENT (a transient one sends the message again). Other receipts apply at once (a
        ``sent``/``delivered``/``read`` moves the message on, and the dispatcher's record finds it
        done)."""
        if row.attempts >= UNKNOWN_MESSAGE_TRIES:
            return False
        for event in found:
            if isinstance(event, _SandboxReceipt):
                if self.message_id(None, event) is None:
                    return True
            elif isinstance(event, base.StatusUpdate):
                number_id = _number_key(row, event)
                if number_id is None:
                    continue
                message_id = self.message_id(number_id, event)
                if message_id is None or (event.status == "FAILED" and self._in_flight(message_id)):
                    return True
        return False

    def _in_flight(self, message_id: str) -> bool:
        message = self._rows[message_id]
        lease = message.lease_until
        return message.status == Status.QUEUED and lease is not None and lease > self.ctx.now_ms

    def changed(self) -> None:
        """A message of the batch was written outside :meth:`flush`: read them again."""
        self._stale = True

    def add(self, message_id: str | None, change: status_changes.Change) -> None:
        if message_id is None or message_id not in self._rows:
            _log.info("receipt for unknown message %s dropped", change.provider_message_id)
            return
        self._pending.append((message_id, change))

    async def flush(self, result: Applied) -> None:
        """Write the receipts collected so far (before an event applied on its own)."""
        if not self._pending:
            return
        if self._stale:
            self._rows = await message_store.lock(self._conn, self._rows.keys())
        outcomes = await status_changes.apply_many(
            self._conn,
            self._rows,
            self._pending,
            now_ms=self.ctx.now_ms,
            metrics=self.ctx.metrics,
            endpoints=self.ctx.endpoints,
        )
        result.webhooks += sum(outcome.webhooks for outcome in outcomes)
        self._pending = []
        self._stale = True  # the rows read before this write are out of date now

    async def current(self, message_id: str, result: Applied) -> LockedMessage:
        """The message as it is now (after the receipts collected before it)."""
        await self.flush(result)
        if self._stale:
            self._rows = await message_store.lock(self._conn, self._rows.keys())
            self._stale = False
        return self._rows[message_id]


async def _apply_event(conn: Connection, number: Number, event: Any, ctx: Context, result: Applied) -> None:
    if isinstance(event, base.InboundMessage):
        result.webhooks += await _inbound(conn, number, event, ctx)
    elif isinstance(event, base.ConnectionUpdate):
        changed, webhooks = await apply_connection(conn, number, event, now_ms=ctx.now_ms)
        result.webhooks += webhooks
        result.numbers_changed |= changed


# -- routing ---------------------------------------------------------------------------------


async def _legacy_number(conn: Connection, row: ProviderEventRow, event: Any) -> Number | None:
    """For a callback stored by a version that routed by provider reference alone (already
    authenticated, no ``routes``): the live number with that reference."""
    if row.number_id or "routes" in row.payload or not getattr(event, "route", None):
        return None
    return await InboxRepository.live_number_by_route(conn, row.provider, event.route)


async def _template_numbers(
    conn: Connection, row: ProviderEventRow, event: base.TemplateUpdate
) -> list[Number]:
    """The live numbers of the account a template verdict arrived for (only those the
    callback's authentication allowed)."""
    if row.number_id:
        ids = [row.number_id]
    else:
        wabas = (row.payload.get("routes") or {}).get("wabas") or {}
        ids = list(wabas.get(event.route) or []) if event.route else []
    if not ids:
        return []
    return list((await InboxRepository.live_numbers(conn, ids)).values())


# -- receipts --------------------------------------------------------------------------------


async def _status(
    conn: Connection, number: Number, event: base.StatusUpdate, receipts: _Receipts, result: Applied
) -> None:
    message_id = receipts.message_id(number.id, event)
    change = status_changes.Change(
        Status(event.status),
        "provider",
        code=event.code,
        detail=event.detail,
        provider_message_id=event.provider_message_id,
        meta_pricing=event.pricing,
    )
    if message_id is not None and event.status == "FAILED":
        if event.retryable:
            message = await receipts.current(message_id, result)
            if await _requeue(conn, message, event, receipts.ctx):
                receipts._stale = True
                return
        if event.code == "PROVIDER_AUTH_FAILED":
            await mark_health(conn, number.id, "AUTH_FAILED", event.detail, now_ms=receipts.ctx.now_ms)
    receipts.add(message_id, change)


async def _requeue(conn: Connection, message: LockedMessage, event: base.StatusUpdate, ctx: Context) -> bool:
    """A transient failure reported after the provider took the message: send it again, a few
    times, before giving up."""
    if Status(message.status) is not Status.SENT or message.redacted_at is not None:
        return False  # a message whose content the PII mode removed cannot be sent again
    done = await InboxRepository.timeline_count(conn, message.id, "ASYNC_RETRY")
    if done >= ctx.settings.async_failure_max_retries:
        return False
    delay = retry.backoff_seconds(
        done + 1,
        base=ctx.settings.retry_base_seconds,
        cap=ctx.settings.retry_max_seconds,
        hint=event.retry_after,
    )
    await status_changes.requeue(
        conn,
        message,
        next_at=ctx.now_ms + int(delay * 1000),
        now_ms=ctx.now_ms,
        code="ASYNC_RETRY",
        detail=f"{event.detail or event.code}; sending again in {delay:.1f}s",
    )
    return True


# -- inbound ---------------------------------------------------------------------------------


async def _inbound(conn: Connection, number: Number, event: base.InboundMessage, ctx: Context) -> int:
    features = ctx.registry.features(number.provider)
    # The media's link is kept only for kinds whose links Zapgate reads (Evolution GO's S3).
    reads_links = ctx.registry.media_link_source(number.provider) is not None
    media = None
    if event.media is not None:
        m = event.media
        media = {
            k: v
            for k, v in {
                "id": m.id,
                "url": m.url,
                "mimeType": m.mime_type,
                "fileName": m.file_name,
                "caption": m.caption,
            }.items()
            if v
        }
    stored = await inbound.receive(
        conn,
        inbound.Inbound(
            number_id=number.id,
            sender=event.sender,
            text=event.text,
            sender_name=event.sender_name,
            provider_message_id=event.provider_message_id,
            quoted_message_id=event.quoted_provider_id or event.reaction_to,
            message_type=event.message_type,
            provider_timestamp=event.at_ms,
            chat_kind=event.chat_kind,
            chat_id=event.chat_id,
            chat_name=event.chat_name,
            reply_id=event.reply_id,
            media=media or None,
            # The bytes (or, for kinds that read them, the link) the provider handed over:
            # kept by Zapgate for GET /v1/media when the number's PII mode allows.
            media_base64=event.media.base64 if event.media is not None else None,
            media_link=event.media.url if event.media is not None and reads_links else None,
            provider=number.provider,
            phone_number_id=number.provider_ref if features.cloud_api else number.id,
            simulated=features.simulated,
        ),
        now_ms=ctx.now_ms,
        media_max_bytes=ctx.settings.media_max_bytes,
    )
    return 0 if stored is None else 1


# -- the number's link -----------------------------------------------------------------------


async def apply_connection(
    conn: Connection, number: Number, event: base.ConnectionUpdate, *, now_ms: int
) -> tuple[bool, int]:
    """Record the state of the link the update came through (a dual number's secondary link
    when the update names its instance). ``number.connected`` when the number gets an OPEN link
    after having none, ``number.disconnected`` when its last OPEN link closes (a CONNECTING blip
    is not a disconnection; a dual number whose other link is still OPEN stays connected).
    Returns (state changed, webhooks queued)."""
    link = number.link_of(event.route)
    if link == SECONDARY:
        after = replace(number, secondary_state=event.state)
        await InboxRepository.record_secondary_link(
            conn,
            number.id,
            state=event.state,
            now_ms=now_ms,
            connected=event.state == "OPEN" and number.secondary_state != "OPEN",
        )
    else:
        after = replace(number, state=event.state)
        health = event.health is not None or event.state == "OPEN"
        if event.health in LINK_HEALTH and after.link_open:
            health = False  # the other link still works: the number is not unhealthy
        await InboxRepository.record_link(
            conn,
            number.id,
            state=event.state,
            now_ms=now_ms,
            health=(event.health or "OK") if health else None,
            health_reason=event.reason if event.health else None,
            profile_name=event.profile_name,
            connected=event.state == "OPEN" and number.state != "OPEN",
        )
    changed = number.state_of(link) != event.state
    name = _transition_event(number.link_open, after.link_open, event.state)
    if name is None:
        return changed, 0
    data = payloads.number_data(
        number,
        at_ms=now_ms,
        error=event.reason if event.state == "CLOSE" else None,
        error_code=event.health if event.state == "CLOSE" else None,
        profile_name=event.profile_name,
    )
    queued = await events.emit(
        conn, number_id=number.id, event=name, data=data, order_key=number.id, seq=now_ms, now_ms=now_ms
    )
    return True, queued


# Health a link reports about itself (the device session), not about the phone's account.
LINK_HEALTH = frozenset({"LOGGED_OUT", "DISCONNECTED", "INSTANCE_MISSING"})


def _transition_event(open_before: bool, open_after: bool, state: str) -> str | None:
    if open_after and not open_before:
        return "number.connected"
    if open_before and not open_after and state == "CLOSE":
        return "number.disconnected"
    return None


async def mark_health(
    conn: Connection, number_id: str, health: str, reason: str | None, *, now_ms: int
) -> None:
    await InboxRepository.mark_health(conn, number_id, health, reason, now_ms=now_ms)


# -- templates -------------------------------------------------------------------------------


async def _template(conn: Connection, number: Number, event: base.TemplateUpdate, now_ms: int) -> None:
    """Move the number's template Meta names: by Meta's template id, or by name only when the
    verdict carries no id. Never across numbers."""
    await InboxRepository.move_template(
        conn,
        number.id,
        provider_template_id=event.provider_template_id,
        name=event.name,
        status=event.status,
        reason=event.reason if event.status != "APPROVED" else None,
        now_ms=now_ms,
    )
