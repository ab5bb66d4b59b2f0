"""Customer webhook endpoints: registration, secrets, delivery log, redelivery and test events.

Scope: an endpoint belongs to one number of one workspace. A tenant key sees every endpoint of
its workspace; a number key sees only its number's. Anything outside the caller's scope is
``WEBHOOK_NOT_FOUND``, so ids of other workspaces cannot be probed.

Secrets are sealed at rest and returned only by create and rotate-secret. The rotated-out secret
keeps signing as a second signature for :data:`PREVIOUS_SECRET_TTL_MS` so receivers can switch
over without dropping deliveries.

An inactive endpoint (paused, or disabled by the sender) gets no new deliveries (see
``services.events``), and what it still had waiting is dropped -- marked FAILED, visible in its
log and redeliverable -- rather than kept due forever: the sender's claim query would otherwise
step over that backlog on every pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain import ids, urls
from zapgate.services.auth import Principal
from zapgate.storage import tables as t
from zapgate.webhooks import payloads

PREVIOUS_SECRET_TTL_MS = 24 * 3600 * 1000
TEST_EVENT = "webhook.test"
MAX_NAME_LENGTH = 200
LOG_LIMIT_MAX = 50
DROP_BATCH = 1000
NOT_ATTEMPTED = "Not delivered: the webhook was deactivated before this event was sent"

_SUBSCRIBABLE = frozenset(payloads.SUBSCRIBABLE_EVENTS)
_WILDCARD_ONLY = frozenset(payloads.WILDCARD_ONLY_EVENTS)
_PATCHABLE = ("name", "url", "active", "events")


def _not_found() -> errors.NotFound:
    return errors.NotFound("Webhook not found", code="WEBHOOK_NOT_FOUND")


# --- input rules -------------------------------------------------------------------------------


def parse_events(value: Any) -> list[str]:
    """``"*"`` or a list of event names -> the stored list (``["*"]`` for everything).

    Unknown names are refused rather than ignored: a typo would otherwise silently deliver
    nothing. Health events arrive only with ``"*"`` (pilot-status-api.md §3.3).
    """
    if value == "*":
        return ["*"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.ValidationFailed(
            'events must be "*" or a list of event names',
            details=[{"field": "events", "message": 'expected "*" or an array of strings'}],
        )
    if "*" in value:
        return ["*"]
    problems = [_event_problem(i, name) for i, name in enumerate(value)]
    found = [p for p in problems if p is not None]
    if found:
        raise errors.ValidationFailed("Unknown or unsubscribable events", details=found)
    return list(dict.fromkeys(value))  # de-duplicated, first-seen order


def _event_problem(index: int, name: str) -> dict[str, str] | None:
    if name in _SUBSCRIBABLE:
        return None
    if name in _WILDCARD_ONLY:
        return {
            "field": f"events[{index}]",
            "message": f'{name} is delivered only to endpoints subscribed to "*"',
        }
    return {"field": f"events[{index}]", "message": f"unknown event {name!r}"}


def _parse_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_LENGTH:
        raise errors.ValidationFailed(
            "Invalid name", details=[{"field": "name", "message": f"1-{MAX_NAME_LENGTH} characters"}]
        )
    return value.strip()


def _parse_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationFailed(
            "Invalid active", details=[{"field": "active", "message": "must be a boolean"}]
        )
    return value


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    return body


# --- number resolution ---------------------------------------------------------------------------


def _requested_number(principal: Principal, body: dict[str, Any], header_number_id: str | None) -> str:
    """The number a new endpoint belongs to (pilot-status-api.md §3.1)."""
    from_body = body.get("whatsappNumberId")
    if from_body is not None and (not isinstance(from_body, str) or not from_body):
        raise errors.ValidationFailed(
            "Invalid whatsappNumberId",
            details=[{"field": "whatsappNumberId", "message": "must be a non-empty string"}],
        )
    if principal.scope == "number" and principal.number_id:
        if from_body is not None and from_body != principal.number_id:
            raise errors.ValidationFailed(
                "whatsappNumberId does not match the number of this API key", code="NUMBER_MISMATCH"
            )
        return principal.number_id
    if from_body and header_number_id and from_body != header_number_id:
        raise errors.ValidationFailed(
            "whatsappNumberId and the x-whatsapp-number-id header name different numbers",
            code="NUMBER_MISMATCH",
        )
    chosen = from_body or header_number_id
    if not chosen:
        raise errors.ValidationFailed(
            "whatsappNumberId (or the x-whatsapp-number-id header) is required with a workspace API key",
            code="NUMBER_REQUIRED",
        )
    return chosen


async def _require_live_number(conn: AsyncConnection, workspace_id: str, number_id: str) -> None:
    n = t.numbers.c
    found = (
        await conn.execute(
            sa.select(n.id).where(n.id == number_id, n.workspace_id == workspace_id, n.deleted_at.is_(None))
        )
    ).first()
    if found is None:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")


# --- reads -------------------------------------------------------------------------------------


def _scoped(principal: Principal) -> sa.ColumnElement[bool]:
    """The endpoints a principal may see."""
    e = t.webhook_endpoints.c
    clause = e.workspace_id == principal.workspace_id
    if principal.scope == "number":
        clause = sa.and_(clause, e.number_id == principal.number_id)
    return clause


async def _load(
    conn: AsyncConnection, principal: Principal, webhook_id: str, *, for_update: bool = False
) -> Any:
    query = sa.select(t.webhook_endpoints).where(t.webhook_endpoints.c.id == webhook_id, _scoped(principal))
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise _not_found()
    return row


async def _key_refs(conn: AsyncConnection, number_ids: set[str]) -> dict[str, list[Any]]:
    """``apiKeys`` of each number: its live keys as ``{id, name}``."""
    if not number_ids:
        return {}
    k = t.api_keys.c
    rows = (
        await conn.execute(
            sa.select(k.id, k.name, k.number_id)
            .where(k.number_id.in_(number_ids), k.revoked_at.is_(None))
            .order_by(k.created_at)
        )
    ).all()
    refs: dict[str, list[Any]] = {}
    for r in rows:
        refs.setdefault(r.number_id, []).append({"id": r.id, "name": r.name})
    return refs


def _view(row: Any, key_refs: list[Any]) -> dict[str, Any]:
    """The webhook object (pilot-status-api.md §3.1); ``disabledReason`` is additive."""
    return {
        "id": row.id,
        "tenantId": row.workspace_id,
        "name": row.name,
        "url": row.url,
        "environment": "LIVE",
        "active": bool(row.active),
        "events": list(row.events),
        "apiKeys": key_refs,
        "lastTriggered": iso(row.last_triggered_at),
        "whatsappNumberIds": [row.number_id],
        "whatsappInstanceIds": [],
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "disabledReason": row.disabled_reason,
    }


async def _render(conn: AsyncConnection, row: Any) -> dict[str, Any]:
    refs = await _key_refs(conn, {row.number_id})
    return _view(row, refs.get(row.number_id, []))


async def list_endpoints(container: Container, *, principal: Principal) -> list[dict[str, Any]]:
    e = t.webhook_endpoints.c
    async with container.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.webhook_endpoints).where(_scoped(principal)).order_by(e.created_at, e.id)
            )
        ).all()
        refs = await _key_refs(conn, {r.number_id for r in rows})
    return [_view(r, refs.get(r.number_id, [])) for r in rows]


async def get_endpoint(container: Container, *, principal: Principal, webhook_id: str) -> dict[str, Any]:
    async with container.db.read() as conn:
        return await _render(conn, await _load(conn, principal, webhook_id))


# --- writes ------------------------------------------------------------------------------------


async def _audit(
    conn: AsyncConnection, *, workspace_id: str, actor: str, action: str, detail: dict[str, Any], now_ms: int
) -> None:
    await conn.execute(
        sa.insert(t.audit_log).values(
            workspace_id=workspace_id, actor=actor, action=action, detail=detail, created_at=now_ms
        )
    )


def _actor(principal: Principal) -> str:
    # Key ids authenticate (x-api-key-id), so the audit trail names the scope, not the key.
    return "api:tenant" if principal.scope == "tenant" else f"api:number:{principal.number_id}"


async def create_endpoint(
    container: Container, *, principal: Principal, body: Any, header_number_id: str | None
) -> dict[str, Any]:
    """Register an endpoint; the response is the only time (with rotate) the secret is shown."""
    body = _require_object(body)
    number_id = _requested_number(principal, body, header_number_id)
    url = _check_url(container, body.get("url"))
    name = _parse_name(body["name"]) if body.get("name") is not None else urls.hostname(url)
    events = parse_events(body.get("events", []))
    secret = ids.webhook_secret()
    now = container.clock.now_ms()
    webhook_id = ids.new_id("wh")
    async with container.db.write() as conn:
        await _require_live_number(conn, principal.workspace_id, number_id)
        await conn.execute(
            sa.insert(t.webhook_endpoints).values(
                id=webhook_id,
                workspace_id=principal.workspace_id,
                number_id=number_id,
                name=name[:MAX_NAME_LENGTH],
                url=url,
                events=events,
                active=True,
                secret_enc=container.secrets.seal(secret),
                created_at=now,
                updated_at=now,
            )
        )
        await _audit(
            conn,
            workspace_id=principal.workspace_id,
            actor=_actor(principal),
            action="webhook.created",
            detail={"webhookId": webhook_id, "numberId": number_id},
            now_ms=now,
        )
        view = await _render(conn, await _load(conn, principal, webhook_id))
    return {**view, "secret": secret}


def _check_url(container: Container, raw: object) -> str:
    s = container.settings
    return urls.check_target(raw, allow_private=s.allow_private_urls, allow_loopback=s.allow_loopback_urls)


def _patch_values(container: Container, body: dict[str, Any]) -> dict[str, Any]:
    present = [f for f in _PATCHABLE if f in body]
    if not present:
        raise errors.ValidationFailed(
            "Nothing to update: send at least one of name, url, active, events", code="EMPTY_PATCH"
        )
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = _parse_name(body["name"])
    if "url" in body:
        values["url"] = _check_url(container, body["url"])
    if "active" in body:
        values["active"] = _parse_active(body["active"])
    if "events" in body:
        values["events"] = parse_events(body["events"])
    return values


async def update_endpoint(
    container: Container, *, principal: Principal, webhook_id: str, body: Any
) -> dict[str, Any]:
    """PATCH: ``events`` replaces the list; ``active: false`` pauses (and drops what waits);
    ``active: true`` resumes and clears an automatic disable."""
    values = _patch_values(container, _require_object(body))
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        row = await _load(conn, principal, webhook_id, for_update=True)
        if values.get("active") is True and not row.active:
            # A fresh start: the automatic-disable reason goes and the failure clock restarts.
            values.update(disabled_reason=None, failing_since=None)
        await conn.execute(
            sa.update(t.webhook_endpoints)
            .where(t.webhook_endpoints.c.id == webhook_id)
            .values(**values, updated_at=now)
        )
        await _audit(
            conn,
            workspace_id=principal.workspace_id,
            actor=_actor(principal),
            action="webhook.updated",
            detail={"webhookId": webhook_id, "fields": sorted(f for f in _PATCHABLE if f in values)},
            now_ms=now,
        )
        view = await _render(conn, await _load(conn, principal, webhook_id))
    if values.get("active") is False and row.active:
        await drop_pending(container, endpoint_id=webhook_id)
    return view


async def drop_pending(container: Container, *, endpoint_id: str) -> int:
    """Fail the deliveries an inactive endpoint still has waiting; returns how many.

    In batches, each its own transaction, so a large backlog never holds the write lock long;
    it stops as soon as the endpoint is active again (its new deliveries must not be dropped).
    """
    d, e = t.webhook_deliveries.c, t.webhook_endpoints.c
    dropped = 0
    while True:
        async with container.db.write() as conn:
            active = (
                await conn.execute(sa.select(e.active).where(e.id == endpoint_id).with_for_update())
            ).scalar()
            batch = (
                []
                if active is not False
                else (
                    await conn.execute(
                        sa.select(d.id)
                        .where(d.endpoint_id == endpoint_id, d.status == "PENDING")
                        .limit(DROP_BATCH)
                    )
                )
                .scalars()
                .all()
            )
            if batch:
                await conn.execute(
                    sa.update(t.webhook_deliveries)
                    .where(d.id.in_(batch))
                    .values(status="FAILED", lease_until=None, updated_at=container.clock.now_ms())
                )
        dropped += len(batch)
        if len(batch) < DROP_BATCH:
            return dropped


async def delete_endpoint(container: Container, *, principal: Principal, webhook_id: str) -> dict[str, Any]:
    """Delete permanently; its deliveries and attempts go with it (ON DELETE CASCADE)."""
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        row = await _load(conn, principal, webhook_id, for_update=True)
        await conn.execute(sa.delete(t.webhook_endpoints).where(t.webhook_endpoints.c.id == webhook_id))
        await _audit(
            conn,
            workspace_id=principal.workspace_id,
            actor=_actor(principal),
            action="webhook.deleted",
            detail={"webhookId": webhook_id, "numberId": row.number_id},
            now_ms=now,
        )
    return {"id": webhook_id, "deleted": True}


async def rotate_secret(container: Container, *, principal: Principal, webhook_id: str) -> dict[str, Any]:
    """A new secret, returned once; the current one becomes the previous one for 24 h."""
    secret = ids.webhook_secret()
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        row = await _load(conn, principal, webhook_id, for_update=True)
        await conn.execute(
            sa.update(t.webhook_endpoints)
            .where(t.webhook_endpoints.c.id == webhook_id)
            .values(
                secret_enc=container.secrets.seal(secret),
                previous_secret_enc=row.secret_enc,
                previous_secret_until=now + PREVIOUS_SECRET_TTL_MS,
                updated_at=now,
            )
        )
        await _audit(
            conn,
            workspace_id=principal.workspace_id,
            actor=_actor(principal),
            action="webhook.secret_rotated",
            detail={"webhookId": webhook_id},
            now_ms=now,
        )
        view = await _render(conn, await _load(conn, principal, webhook_id))
    return {**view, "secret": secret, "previousSecretExpiresAt": iso(now + PREVIOUS_SECRET_TTL_MS)}


# --- delivery log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogQuery:
    limit: int = LOG_LIMIT_MAX
    event: str | None = None


def _log_item(
    *,
    delivery: Any,
    attempt: int,
    status: str,
    status_code: int | None,
    response: str | None,
    duration_ms: int | None,
    error: str | None,
    created_at: int,
) -> dict[str, Any]:
    return {
        # Stable across the PENDING -> attempted transition of the same attempt.
        "id": f"{delivery.delivery_id}:{attempt}",
        "deliveryId": delivery.delivery_id,
        "eventId": delivery.event_id,
        "event": delivery.event,
        "status": status,
        "statusCode": status_code,
        "payload": orjson.loads(delivery.body),
        "response": response,
        "durationMs": duration_ms,
        "attempt": attempt,
        "error": error,
        "createdAt": iso(created_at),
    }


def _attempt_item(row: Any) -> tuple[int, int, dict[str, Any]]:
    ok = row.status_code is not None and 200 <= row.status_code < 300
    item = _log_item(
        delivery=row,
        attempt=row.attempt,
        status="SUCCESS" if ok else "FAILED",
        status_code=row.status_code,
        response=row.response_excerpt,
        duration_ms=row.duration_ms,
        error=row.error,
        created_at=row.created_at,
    )
    return row.created_at, 0, item


def _unattempted_item(row: Any) -> tuple[int, int, dict[str, Any]]:
    """A delivery with no attempt row: the next attempt of a PENDING one, or a dropped one."""
    if row.status == "PENDING":
        item = _log_item(
            delivery=row,
            attempt=row.attempts + 1,
            status="PENDING",
            status_code=None,
            response=None,
            duration_ms=None,
            error=None,
            created_at=row.updated_at,
        )
        item["nextAttemptAt"] = iso(row.next_attempt_at)
    else:  # FAILED before any attempt: dropped when its endpoint was deactivated
        item = _log_item(
            delivery=row,
            attempt=0,
            status="FAILED",
            status_code=None,
            response=None,
            duration_ms=None,
            error=NOT_ATTEMPTED,
            created_at=row.updated_at,
        )
    # Sorts before an attempt recorded in the same millisecond: it is the later one.
    return row.updated_at, 1, item


async def delivery_log(
    container: Container, *, principal: Principal, webhook_id: str, query: LogQuery
) -> list[dict[str, Any]]:
    """One item per attempt, plus one per delivery without one (PENDING, or dropped as FAILED
    with ``attempt`` 0); newest first."""
    d, a = t.webhook_deliveries.c, t.webhook_attempts.c
    delivery_cols = (d.id.label("delivery_id"), d.event_id, d.event, d.body)
    attempts_q = (
        sa.select(
            a.attempt, a.status_code, a.response_excerpt, a.duration_ms, a.error, a.created_at, *delivery_cols
        )
        .join(t.webhook_deliveries, d.id == a.delivery_id)
        .where(a.endpoint_id == webhook_id)
        .order_by(a.id.desc())
        .limit(query.limit)
    )
    unattempted = sa.or_(d.status == "PENDING", sa.and_(d.status == "FAILED", d.attempts == 0))
    pending_q = (
        sa.select(d.status, d.attempts, d.next_attempt_at, d.updated_at, *delivery_cols)
        .where(d.endpoint_id == webhook_id, unattempted)
        .order_by(d.updated_at.desc(), d.id.desc())
        .limit(query.limit)
    )
    if query.event:
        attempts_q = attempts_q.where(d.event == query.event)
        pending_q = pending_q.where(d.event == query.event)
    async with container.db.read() as conn:
        await _load(conn, principal, webhook_id)
        attempts = (await conn.execute(attempts_q)).all()
        pending = (await conn.execute(pending_q)).all()
    merged = [_attempt_item(r) for r in attempts] + [_unattempted_item(r) for r in pending]
    merged.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return [item for _, _, item in merged[: query.limit]]


# --- queueing ----------------------------------------------------------------------------------


async def _queue(
    conn: AsyncConnection, *, endpoint_id: str, event_id: str, event: str, body: str, now_ms: int
) -> str:
    """A delivery with its own order key: it waits behind nothing and nothing waits on it."""
    delivery_id = ids.new_id("whd")
    await conn.execute(
        sa.insert(t.webhook_deliveries).values(
            id=delivery_id,
            endpoint_id=endpoint_id,
            event_id=event_id,
            event=event,
            body=body,
            order_key=delivery_id,
            seq=0,
            status="PENDING",
            attempts=0,
            next_attempt_at=now_ms,
            created_at=now_ms,
            updated_at=now_ms,
        )
    )
    return delivery_id


def _require_active(row: Any) -> None:
    if not row.active:
        raise errors.Conflict(
            "The webhook is not active; reactivate it first (PATCH active: true)", code="WEBHOOK_INACTIVE"
        )


async def redeliver(
    container: Container, *, principal: Principal, webhook_id: str, delivery_id: str
) -> dict[str, Any]:
    """Queue the exact same event again (same body, same ``id``) as a new delivery."""
    d = t.webhook_deliveries.c
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        _require_active(await _load(conn, principal, webhook_id))
        original = (
            await conn.execute(
                sa.select(d.event_id, d.event, d.body).where(d.id == delivery_id, d.endpoint_id == webhook_id)
            )
        ).first()
        if original is None:
            raise errors.NotFound("Delivery not found", code="DELIVERY_NOT_FOUND")
        new_id = await _queue(
            conn,
            endpoint_id=webhook_id,
            event_id=original.event_id,
            event=original.event,
            body=original.body,
            now_ms=now,
        )
    container.wake.webhooks.set()
    return {
        "deliveryId": new_id,
        "redeliveryOf": delivery_id,
        "eventId": original.event_id,
        "event": original.event,
        "status": "PENDING",
    }


async def send_test(container: Container, *, principal: Principal, webhook_id: str) -> dict[str, Any]:
    """Queue a ``webhook.test`` event, whatever the endpoint's event filter."""
    now = container.clock.now_ms()
    event_id = ids.new_id("evt")
    async with container.db.write() as conn:
        row = await _load(conn, principal, webhook_id)
        _require_active(row)
        data = {
            "webhookId": row.id,
            "numberId": row.number_id,
            "createdAt": iso(now),
            "message": "Test event from Zapgate: your endpoint is reachable.",
        }
        body = orjson.dumps(payloads.envelope(event_id, TEST_EVENT, now, data)).decode()
        delivery_id = await _queue(
            conn, endpoint_id=webhook_id, event_id=event_id, event=TEST_EVENT, body=body, now_ms=now
        )
    container.wake.webhooks.set()
    return {"deliveryId": delivery_id, "eventId": event_id, "event": TEST_EVENT, "status": "PENDING"}
