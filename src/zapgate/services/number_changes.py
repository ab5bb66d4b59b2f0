"""Changing a number after it exists: settings and pacing (``PATCH /v1/numbers/{id}``), soft
delete, restore within the window, and purge."""

from __future__ import annotations

import contextlib
import dataclasses

from zapgate import errors
from zapgate.container import Container
from zapgate.domain import number_commands
from zapgate.domain.number_commands import Keep, NumberPatch
from zapgate.domain.numbers import DEFAULT_SETTINGS, PRIMARY, SECONDARY, Number, Restored
from zapgate.domain.numbers import DeletedNumber as DeletedNumber  # the dashboard reads it here
from zapgate.services import credentials, events
from zapgate.services.numbers import (
    RESTORE_WINDOW_MS,
    check_capacity,
    check_meta_ref_free,
    get_row,
    link_status,
)
from zapgate.storage.database import Connection
from zapgate.webhooks import payloads


async def patch_number(
    container: Container, *, workspace_id: str, number_id: str, patch: NumberPatch
) -> Number:
    """``PATCH /v1/numbers/{id}``: any of the pace, the PII mode and retention, and settings
    (merged into the stored ones). What the patch could not check alone (the retention a kept
    PII mode needs) is checked against the stored number before anything is saved. Returns the
    number as written."""
    await get_row(container, workspace_id, number_id)
    if patch.empty:
        raise errors.ValidationFailed("Empty patch", code="EMPTY_PATCH")
    repo = container.repos.numbers
    async with container.db.write() as conn:
        current = await repo.current(conn, number_id)
        values = {**_patch_values(current, patch), "updated_at": container.clock.now_ms()}
        patched = await repo.update(conn, number_id, values)
    _forget(container)
    if patched.deleted_at is not None:  # deleted meanwhile
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return patched


def _patch_values(row: Number, patch: NumberPatch) -> dict[str, object]:
    values: dict[str, object] = {}
    if not isinstance(patch.pace_per_second, Keep):
        values["pace_per_second"] = patch.pace_per_second
    if not isinstance(patch.settings, Keep):
        values["settings"] = {**DEFAULT_SETTINGS, **(row.settings or {}), **patch.settings}
    values.update(number_commands.pii_values(patch, mode=row.pii_mode, days=row.pii_retention_days))
    return values


def _forget(container: Container) -> None:
    """After a number changes: cached keys and number rows go, workers look again."""
    container.key_cache.clear()
    container.callback_secrets.clear()
    container.number_cache.clear()
    container.template_cache.clear()
    container.wake.numbers.set()
    container.wake.dispatch.set()


# -- deleting, restoring, purging --------------------------------------------------------------


async def delete_number(container: Container, *, workspace_id: str, number_id: str) -> DeletedNumber:
    """``DELETE /v1/numbers/{id}``: a soft delete. The number stops sending and its key stops
    working (everything filters on ``deleted_at``); nothing else changes, so a restore within
    the window gives it back as it was."""
    row = await get_row(container, workspace_id, number_id)
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        if await container.repos.numbers.soft_delete(conn, number_id, now_ms=now):
            await _emit(conn, row, "number.removed", now)
    _forget(container)
    container.wake.webhooks.set()
    return _deleted(dataclasses.replace(row, deleted_at=now), now)


async def restore_number(container: Container, *, workspace_id: str, number_id: str) -> Restored:
    """``POST /v1/numbers/{id}/restore``: within the window only (404 after it)."""
    row = await _any_row(container, workspace_id, number_id)
    if row.deleted_at is None:
        raise errors.Conflict("The number is not deleted", code="NUMBER_ALREADY_ACTIVE")
    now = container.clock.now_ms()
    if now > row.deleted_at + RESTORE_WINDOW_MS:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    async with container.db.write() as conn:
        await check_capacity(conn, workspace_id, row.number)
        if container.providers.features(row.provider).cloud_api and row.provider_ref:
            await check_meta_ref_free(conn, row.provider_ref)
        await container.repos.numbers.undelete(conn, number_id, now_ms=now)
        await _emit(conn, row, "number.restored", now)
    _forget(container)
    container.wake.webhooks.set()
    return Restored(number_id=row.id, requires_reconnect=await _current_state(container, row) != "OPEN")


async def _emit(conn: Connection, number: Number, event: str, now_ms: int) -> None:
    """A ``number.*`` event to the number's own endpoints, in the change's transaction."""
    await events.emit(
        conn,
        number_id=number.id,
        event=event,
        data=payloads.number_data(number, at_ms=now_ms),
        order_key=number.id,
        seq=now_ms,
        now_ms=now_ms,
    )


async def _current_state(container: Container, row: Number) -> str:
    """Callbacks were ignored while the number was deleted: ask a QR provider again."""
    if container.providers.provisioner(row.provider) is None:
        return str(row.state)
    try:
        live = await link_status(container, workspace_id=row.workspace_id, number_id=row.id)
    except errors.ZapgateError:
        return str(row.state)
    return live.state


async def purge_number(container: Container, *, workspace_id: str, number_id: str) -> None:
    """``DELETE /v1/numbers/{id}/purge``: deleted or not, the number goes for good with its
    keys, messages, templates and webhooks (foreign keys cascade); an Evolution instance is
    removed at the provider, best effort."""
    row = await _any_row(container, workspace_id, number_id)
    await container.repos.numbers.purge(number_id)
    _forget(container)
    provisioner = container.providers.provisioner(row.provider)
    if provisioner is not None:
        for link in (PRIMARY, SECONDARY) if row.dual else (PRIMARY,):
            with contextlib.suppress(Exception):
                await provisioner.deprovision(credentials.link_ref(container, row, link))


async def list_deleted(container: Container, *, workspace_id: str) -> list[DeletedNumber]:
    """The workspace's soft-deleted numbers, most recently deleted first."""
    deleted = await container.repos.numbers.deleted(workspace_id)
    now = container.clock.now_ms()
    return [_deleted(number, now) for number in deleted]


def _deleted(number: Number, now_ms: int) -> DeletedNumber:
    assert number.deleted_at is not None
    until = number.deleted_at + RESTORE_WINDOW_MS
    return DeletedNumber(
        id=number.id,
        name=number.name,
        number=number.number,
        provider=number.provider,
        deleted_at=number.deleted_at,
        restorable_until=until,
        restorable=now_ms <= until,
    )


async def _any_row(container: Container, workspace_id: str, number_id: str) -> Number:
    """The number, deleted or not."""
    number = await container.repos.numbers.get_any(workspace_id, number_id)
    if number is None:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return number
