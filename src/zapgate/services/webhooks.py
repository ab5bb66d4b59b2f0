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

Requests are checked by ``web.views.webhooks`` (:class:`NewEndpoint`, :class:`EndpointPatch`);
the SQL is in ``storage.repositories.webhooks``.
"""

from __future__ import annotations

import orjson

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import ids, urls
from zapgate.domain.webhooks import (
    LOG_LIMIT_MAX,
    MAX_NAME_LENGTH,
    NOT_ATTEMPTED,
    PREVIOUS_SECRET_TTL_MS,
    TEST_EVENT,
    CreatedEndpoint,
    Endpoint,
    EndpointPatch,
    LogEntry,
    LogQuery,
    NewEndpoint,
    Queued,
    RotatedSecret,
    Scope,
    merge_log,
)
from zapgate.services.auth import Principal
from zapgate.storage.database import Connection
from zapgate.webhooks import payloads

__all__ = [
    "DROP_BATCH",
    "LOG_LIMIT_MAX",
    "MAX_NAME_LENGTH",
    "NOT_ATTEMPTED",
    "PREVIOUS_SECRET_TTL_MS",
    "TEST_EVENT",
    "LogQuery",
]

DROP_BATCH = 1000


def _not_found() -> errors.NotFound:
    return errors.NotFound("Webhook not found", code="WEBHOOK_NOT_FOUND")


def _scope(principal: Principal) -> Scope:
    """The endpoints a principal may see."""
    return Scope(
        workspace_id=principal.workspace_id,
        number_id=principal.number_id if principal.scope == "number" else None,
    )


def _actor(principal: Principal) -> str:
    # Key ids authenticate (x-api-key-id), so the audit trail names the scope, not the key.
    return "api:tenant" if principal.scope == "tenant" else f"api:number:{principal.number_id}"


async def _load(
    container: Container,
    conn: Connection,
    principal: Principal,
    webhook_id: str,
    *,
    for_update: bool = False,
    with_keys: bool = True,
) -> Endpoint:
    found = await container.repos.webhooks.endpoint(
        conn, _scope(principal), webhook_id, for_update=for_update, with_keys=with_keys
    )
    if found is None:
        raise _not_found()
    return found


# --- reads -------------------------------------------------------------------------------------


async def list_endpoints(container: Container, *, principal: Principal) -> tuple[Endpoint, ...]:
    return await container.repos.webhooks.endpoints(_scope(principal))


async def get_endpoint(container: Container, *, principal: Principal, webhook_id: str) -> Endpoint:
    found = await container.repos.webhooks.get(_scope(principal), webhook_id)
    if found is None:
        raise _not_found()
    return found


# --- writes ------------------------------------------------------------------------------------


async def create_endpoint(container: Container, *, principal: Principal, new: NewEndpoint) -> CreatedEndpoint:
    """Register an endpoint; the result is the only time (with rotate) the secret is shown."""
    async with container.db.write() as conn:
        if not await container.repos.webhooks.live_number(
            conn, workspace_id=principal.workspace_id, number_id=new.number_id
        ):
            raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
        webhook_id, secret = await add_endpoint(
            container, conn, workspace_id=principal.workspace_id, actor=_actor(principal), new=new
        )
        endpoint = await _load(container, conn, principal, webhook_id)
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


async def add_endpoint(
    container: Container, conn: Connection, *, workspace_id: str, actor: str, new: NewEndpoint
) -> tuple[str, str]:
    """Store an endpoint of a live number in the caller's transaction, audited; its id and
    secret."""
    repo = container.repos.webhooks
    name = new.name if new.name is not None else urls.hostname(new.url)
    secret = ids.webhook_secret()
    now = container.clock.now_ms()
    webhook_id = ids.new_id("wh")
    await repo.insert(
        conn,
        webhook_id=webhook_id,
        workspace_id=workspace_id,
        number_id=new.number_id,
        name=name[:MAX_NAME_LENGTH],
        url=new.url,
        events=new.events,
        secret_enc=container.secrets.seal(secret),
        now_ms=now,
    )
    await repo.audit(
        conn,
        workspace_id=workspace_id,
        actor=actor,
        action="webhook.created",
        detail={"webhookId": webhook_id, "numberId": new.number_id},
        now_ms=now,
    )
    return webhook_id, secret


async def created_with_number(
    container: Container, conn: Connection, *, workspace_id: str, webhook_id: str, secret: str
) -> CreatedEndpoint:
    """An endpoint made with its number (:func:`add_endpoint`), as a workspace key sees it."""
    found = await container.repos.webhooks.endpoint(
        conn, Scope(workspace_id=workspace_id, number_id=None), webhook_id
    )
    assert found is not None
    return CreatedEndpoint(endpoint=found, secret=secret)


async def update_endpoint(
    container: Container, *, principal: Principal, webhook_id: str, patch: EndpointPatch
) -> Endpoint:
    """PATCH: ``events`` replaces the list; ``active: false`` pauses (and drops what waits);
    ``active: true`` resumes and clears an automatic disable."""
    repo = container.repos.webhooks
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        before = await _load(container, conn, principal, webhook_id, for_update=True, with_keys=False)
        # Resuming is a fresh start: the automatic-disable reason goes and the failure clock restarts.
        await repo.update(
            conn, webhook_id, patch, restart=patch.active is True and not before.active, now_ms=now
        )
        await repo.audit(
            conn,
            workspace_id=principal.workspace_id,
            actor=_actor(principal),
            action="webhook.updated",
            detail={"webhookId": webhook_id, "fields": list(patch.fields)},
            now_ms=now,
        )
        updated = await _load(container, conn, principal, webhook_id)
    if patch.active is False and before.active:
        await drop_pending(container, endpoint_id=webhook_id)
    return updated


async def drop_pending(container: Container, *, endpoint_id: str) -> int:
    """Fail the deliveries an inactive endpoint still has waiting; returns how many.

    In batches, each its own transaction, so a large backlog never holds the write lock long;
    it stops as soon as the endpoint is active again (its new deliveries must not be dropped).
    """
    dropped = 0
    while True:
        batch = await container.repos.webhooks.drop_pending_batch(
            endpoint_id, limit=DROP_BATCH, now_ms=container.clock.now_ms()
        )
        dropped += batch
        if batch < DROP_BATCH:
            return dropped


async def delete_endpoint(container: Container, *, principal: Principal, webhook_id: str) -> None:
    """Delete permanently; its deliveries and attempts go with it (ON DELETE CASCADE)."""
    repo = container.repos.webhooks
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        endpoint = await _load(container, conn, principal, webhook_id, for_update=True, with_keys=False)
        await repo.delete(conn, webhook_id)
        await repo.audit(
            conn,
            workspace_id=principal.workspace_id,
            actor=_actor(principal),
            action="webhook.deleted",
            detail={"webhookId": webhook_id, "numberId": endpoint.number_id},
            now_ms=now,
        )


async def rotate_secret(container: Container, *, principal: Principal, webhook_id: str) -> RotatedSecret:
    """A new secret, returned once; the current one becomes the previous one for 24 h."""
    repo = container.repos.webhooks
    secret = ids.webhook_secret()
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        await _load(container, conn, principal, webhook_id, for_update=True, with_keys=False)
        await repo.rotate_secret(
            conn,
            webhook_id,
            secret_enc=container.secrets.seal(secret),
            previous_until=now + PREVIOUS_SECRET_TTL_MS,
            now_ms=now,
        )
        await repo.audit(
            conn,
            workspace_id=principal.workspace_id,
            actor=_actor(principal),
            action="webhook.secret_rotated",
            detail={"webhookId": webhook_id},
            now_ms=now,
        )
        endpoint = await _load(container, conn, principal, webhook_id)
    return RotatedSecret(endpoint=endpoint, secret=secret, previous_secret_until=now + PREVIOUS_SECRET_TTL_MS)


# --- delivery log --------------------------------------------------------------------------------


async def delivery_log(
    container: Container, *, principal: Principal, webhook_id: str, query: LogQuery
) -> tuple[LogEntry, ...]:
    """One item per attempt, plus one per delivery without one (PENDING, or dropped as FAILED
    with ``attempt`` 0); newest first."""
    found = await container.repos.webhooks.delivery_log(
        _scope(principal), webhook_id, limit=query.limit, event=query.event
    )
    if found is None:
        raise _not_found()
    attempts, unattempted = found
    return merge_log(attempts, unattempted, query.limit)


# --- queueing ----------------------------------------------------------------------------------


def _require_active(endpoint: Endpoint) -> None:
    if not endpoint.active:
        raise errors.Conflict(
            "The webhook is not active; reactivate it first (PATCH active: true)", code="WEBHOOK_INACTIVE"
        )


async def redeliver(
    container: Container, *, principal: Principal, webhook_id: str, delivery_id: str
) -> Queued:
    """Queue the exact same event again (same body, same ``id``) as a new delivery."""
    repo = container.repos.webhooks
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        _require_active(await _load(container, conn, principal, webhook_id, with_keys=False))
        original = await repo.delivered_event(conn, webhook_id, delivery_id)
        if original is None:
            raise errors.NotFound("Delivery not found", code="DELIVERY_NOT_FOUND")
        new_id = ids.new_id("whd")
        await repo.queue(
            conn,
            delivery_id=new_id,
            endpoint_id=webhook_id,
            event_id=original.event_id,
            event=original.event,
            body=original.body,
            now_ms=now,
        )
    container.wake.webhooks.set()
    return Queued(
        delivery_id=new_id, event_id=original.event_id, event=original.event, redelivery_of=delivery_id
    )


async def send_test(container: Container, *, principal: Principal, webhook_id: str) -> Queued:
    """Queue a ``webhook.test`` event, whatever the endpoint's event filter."""
    repo = container.repos.webhooks
    now = container.clock.now_ms()
    event_id = ids.new_id("evt")
    async with container.db.write() as conn:
        endpoint = await _load(container, conn, principal, webhook_id, with_keys=False)
        _require_active(endpoint)
        data = payloads.test_data(webhook_id=endpoint.id, number_id=endpoint.number_id, at_ms=now)
        body = orjson.dumps(payloads.envelope(event_id, TEST_EVENT, now, data)).decode()
        delivery_id = ids.new_id("whd")
        await repo.queue(
            conn,
            delivery_id=delivery_id,
            endpoint_id=webhook_id,
            event_id=event_id,
            event=TEST_EVENT,
            body=body,
            now_ms=now,
        )
    container.wake.webhooks.set()
    return Queued(delivery_id=delivery_id, event_id=event_id, event=TEST_EVENT)
