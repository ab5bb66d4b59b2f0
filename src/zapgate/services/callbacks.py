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
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate.domain import retry
from zapgate.domain.lifecycle import Status
from zapgate.metrics import Metrics
from zapgate.providers import base
from zapgate.providers.registry import ProviderRegistry
from zapgate.services import events, inbound, lifecycle
from zapgate.settings import Settings
from zapgate.storage import tables as t
from zapgate.webhooks import payloads

_log = logging.getLogger("zapgate.callbacks")
# A receipt can overtake the write of the send's outcome; it waits this many tries for it.
UNKNOWN_MESSAGE_TRIES = 5


class NotYetKnown(Exception):
    """The receipt names a message we have not recorded yet: try the event again later."""


@dataclass
class Applied:
    webhooks: int = 0
    numbers_changed: bool = False


@dataclass(frozen=True)
class Context:
    registry: ProviderRegistry
    settings: Settings
    metrics: Metrics | None
    now_ms: int
    endpoints: events.EndpointCache


def store_row(*, provider: str, number_id: str | None, body: Any, now_ms: int,
              routes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``provider_events`` row for one received callback. A callback not addressed to one
    number (Meta's) carries the ``routes`` its authentication allowed: ``{"phones": {provider
    route: number id}, "wabas": {account id: [number ids]}}``."""
    payload: dict[str, Any] = {"body": body}
    if routes is not None:
        payload["routes"] = routes
    return {"number_id": number_id, "provider": provider, "kind": "callback",
            "payload": payload, "due_at": now_ms, "attempts": 0, "created_at": now_ms}


async def apply_callback(conn: AsyncConnection, row: Any, ctx: Context) -> Applied:
    provider = ctx.registry.get(row.provider)
    result = Applied()
    for event in provider.parse_callback(row.payload.get("body")):
        if isinstance(event, base.TemplateUpdate):
            for number in await _template_numbers(conn, row, event):
                await _template(conn, number, event, ctx.now_ms)
            continue
        number = await _number_for(conn, row, event)
        if number is None:
            _log.info("%s callback for an unknown number (route %s) ignored", row.provider,
                      getattr(event, "route", None))
            continue
        await _apply_event(conn, number, event, row, ctx, result)
    return result


async def _apply_event(conn: AsyncConnection, number: Any, event: base.ProviderEvent, row: Any,
                       ctx: Context, result: Applied) -> None:
    if isinstance(event, base.StatusUpdate):
        result.webhooks += await _status(conn, number, event, row, ctx)
    elif isinstance(event, base.InboundMessage):
        result.webhooks += await _inbound(conn, number, event, ctx)
    elif isinstance(event, base.ConnectionUpdate):
        changed, webhooks = await apply_connection(conn, number, event, now_ms=ctx.now_ms)
        result.webhooks += webhooks
        result.numbers_changed |= changed


# -- routing ---------------------------------------------------------------------------------

async def _number_for(conn: AsyncConnection, row: Any,
                      event: base.StatusUpdate | base.InboundMessage | base.ConnectionUpdate
                      ) -> Any:
    """The live number an event is for: the callback's own number, or the one its route names
    among those the callback's authentication allowed."""
    n = t.numbers.c
    live = sa.select(t.numbers).where(n.deleted_at.is_(None))
    if row.number_id:
        number_id = row.number_id
    elif "routes" not in row.payload:
        # Stored by a version that routed by provider reference alone (already authenticated).
        if not event.route:
            return None
        return (await conn.execute(live.where(n.provider == row.provider,
                                              n.provider_ref == event.route))).first()
    else:
        number_id = (row.payload["routes"].get("phones") or {}).get(event.route or "")
    if number_id is None:
        return None
    return (await conn.execute(live.where(n.id == number_id))).first()


async def _template_numbers(conn: AsyncConnection, row: Any,
                            event: base.TemplateUpdate) -> list[Any]:
    """The live numbers of the account a template verdict arrived for (only those the
    callback's authentication allowed)."""
    if row.number_id:
        ids = [row.number_id]
    else:
        wabas = (row.payload.get("routes") or {}).get("wabas") or {}
        ids = list(wabas.get(event.route) or []) if event.route else []
    if not ids:
        return []
    n = t.numbers.c
    return list((await conn.execute(sa.select(t.numbers).where(
        n.id.in_(ids), n.deleted_at.is_(None)))).all())


# -- receipts --------------------------------------------------------------------------------

async def _status(conn: AsyncConnection, number: Any, event: base.StatusUpdate, row: Any,
                  ctx: Context) -> int:
    message = await _message_for(conn, number, event)
    if message is None:
        if row.attempts < UNKNOWN_MESSAGE_TRIES:
            raise NotYetKnown(event.provider_message_id)
        _log.info("receipt for unknown message %s dropped", event.provider_message_id)
        return 0
    if event.status == "FAILED" and event.retryable \
            and await _requeue(conn, message, event, ctx):
        return 0
    if event.status == "FAILED" and event.code == "PROVIDER_AUTH_FAILED":
        await mark_health(conn, number.id, "AUTH_FAILED", event.detail, now_ms=ctx.now_ms)
    change = lifecycle.Change(
        Status(event.status), "provider", code=event.code, detail=event.detail,
        provider_message_id=event.provider_message_id, meta_pricing=event.pricing)
    outcome = await lifecycle.apply(conn, message, change, now_ms=ctx.now_ms,
                                    metrics=ctx.metrics, endpoints=ctx.endpoints)
    return outcome.webhooks


async def _message_for(conn: AsyncConnection, number: Any, event: base.StatusUpdate) -> Any:
    m = t.messages.c
    message_id = None
    if event.our_message_id:
        message_id = (await conn.execute(sa.select(m.id).where(
            m.id == event.our_message_id, m.number_id == number.id))).scalar()
    if message_id is None:
        message_id = (await conn.execute(sa.select(m.id).where(
            m.provider_message_id == event.provider_message_id,
            m.number_id == number.id))).scalar()
    if message_id is None:
        return None
    return await lifecycle.load_for_update(conn, message_id)


async def _requeue(conn: AsyncConnection, message: Any, event: base.StatusUpdate,
                   ctx: Context) -> bool:
    """A transient failure reported after the provider took the message: send it again, a few
    times, before giving up."""
    if Status(message.status) is not Status.SENT or message.redacted_at is not None:
        return False  # a message whose content the PII mode removed cannot be sent again
    done = (await conn.execute(sa.select(sa.func.count()).select_from(t.message_events).where(
        t.message_events.c.message_id == message.id,
        t.message_events.c.code == "ASYNC_RETRY"))).scalar_one()
    if done >= ctx.settings.async_failure_max_retries:
        return False
    delay = retry.backoff_seconds(done + 1, base=ctx.settings.retry_base_seconds,
                                  cap=ctx.settings.retry_max_seconds, hint=event.retry_after)
    await lifecycle.requeue(conn, message, next_at=ctx.now_ms + int(delay * 1000),
                            now_ms=ctx.now_ms, code="ASYNC_RETRY",
                            detail=f"{event.detail or event.code}; sending again in {delay:.1f}s")
    return True


# -- inbound ---------------------------------------------------------------------------------

async def _inbound(conn: AsyncConnection, number: Any, event: base.InboundMessage,
                   ctx: Context) -> int:
    media = None
    if event.media is not None:
        m = event.media
        media = {k: v for k, v in {"id": m.id, "url": m.url, "mimeType": m.mime_type,
                                   "fileName": m.file_name, "caption": m.caption}.items() if v}
    stored = await inbound.receive(conn, inbound.Inbound(
        number_id=number.id, sender=event.sender, text=event.text,
        sender_name=event.sender_name, provider_message_id=event.provider_message_id,
        quoted_message_id=event.quoted_provider_id or event.reaction_to,
        message_type=event.message_type, provider_timestamp=event.at_ms,
        chat_kind=event.chat_kind, chat_id=event.chat_id, chat_name=event.chat_name,
        reply_id=event.reply_id, media=media or None, provider=number.provider,
        phone_number_id=number.provider_ref if number.provider == "meta" else None,
    ), now_ms=ctx.now_ms)
    return 0 if stored is None else 1


# -- the number's link -----------------------------------------------------------------------

async def apply_connection(conn: AsyncConnection, number: Any, event: base.ConnectionUpdate, *,
                           now_ms: int) -> tuple[bool, int]:
    """Record the link state; ``number.connected`` when it opens, ``number.disconnected`` when
    an open link closes (a CONNECTING blip is not a disconnection). Returns (state changed,
    webhooks queued)."""
    values: dict[str, Any] = {"state": event.state, "state_checked_at": now_ms,
                              "updated_at": now_ms}
    if event.health is not None or event.state == "OPEN":
        values["health"] = event.health or "OK"
        values["health_reason"] = event.reason if event.health else None
    if event.profile_name:
        values["profile_name"] = event.profile_name
    if event.state == "OPEN" and number.state != "OPEN":
        values["connected_at"] = now_ms
    await conn.execute(sa.update(t.numbers).where(t.numbers.c.id == number.id).values(**values))
    name = _transition_event(number.state, event.state)
    if name is None:
        return number.state != event.state, 0
    data = payloads.number_data(number, at_ms=now_ms,
                                error=event.reason if event.state == "CLOSE" else None,
                                error_code=event.health if event.state == "CLOSE" else None)
    if event.profile_name:
        data["profileName"] = event.profile_name
    queued = await events.emit(conn, number_id=number.id, event=name, data=data,
                               order_key=number.id, seq=now_ms, now_ms=now_ms)
    return True, queued


def _transition_event(before: str, after: str) -> str | None:
    if after == "OPEN" and before != "OPEN":
        return "number.connected"
    if after == "CLOSE" and before == "OPEN":
        return "number.disconnected"
    return None


async def mark_health(conn: AsyncConnection, number_id: str, health: str, reason: str | None,
                      *, now_ms: int) -> None:
    await conn.execute(sa.update(t.numbers).where(t.numbers.c.id == number_id).values(
        health=health, health_reason=reason, updated_at=now_ms))


# -- templates -------------------------------------------------------------------------------

async def _template(conn: AsyncConnection, number: Any, event: base.TemplateUpdate,
                    now_ms: int) -> None:
    """Move the number's template Meta names: by Meta's template id, or by name only when the
    verdict carries no id. Never across numbers."""
    tp = t.templates.c
    where = [tp.number_id == number.id, tp.deleted_at.is_(None)]
    if event.provider_template_id:
        where.append(tp.provider_template_id == event.provider_template_id)
    else:
        where.append(tp.name == event.name)
    await conn.execute(sa.update(t.templates).where(*where).values(
        meta_status=event.status, approve_at=None, updated_at=now_ms,
        rejection_reason=event.reason if event.status != "APPROVED" else None))
