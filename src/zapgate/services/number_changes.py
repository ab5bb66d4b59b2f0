"""Changing a number after it exists: settings and pacing (``PATCH /v1/numbers/{id}``), soft
delete, restore within the window, and purge."""

from __future__ import annotations

import contextlib
from typing import Any

from zapgate import errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain.numbers import DeletedNumber as DeletedNumber  # the dashboard reads it here
from zapgate.domain.numbers import Number
from zapgate.services import credentials, events
from zapgate.services.numbers import (
    DEFAULT_SETTINGS,
    RESTORE_WINDOW_MS,
    check_capacity,
    check_meta_ref_free,
    get_row,
    link_status,
)
from zapgate.storage.database import Connection
from zapgate.webhooks import payloads

# Settings that are plain switches; the others (Evolution GO's advanced settings) also take
# null, which resets them to the provider's default.
_SWITCHES = frozenset(
    {"historyImportEnabled", "webhookHistoricalMessages", "ignoreNewsletters", "markReadOnSend"}
)
PII_MODES = ("RELAY_ONLY", "STORE_X_DAYS", "STORE_INDEFINITE")
_PATCHABLE = ("pacePerSecond", "piiMode", "piiRetentionDays", "settings")


def _valid_pace(pace: Any) -> bool:
    return pace is None or (isinstance(pace, int | float) and not isinstance(pace, bool) and 0 < pace <= 1000)


async def patch_number(container: Container, *, workspace_id: str, number_id: str, body: Any) -> Number:
    """``PATCH /v1/numbers/{id}``: any of ``pacePerSecond``, ``piiMode``, ``piiRetentionDays``
    and ``settings{...}`` (merged into the stored settings); all checked before any is saved.
    Returns the number as written."""
    await get_row(container, workspace_id, number_id)
    if not isinstance(body, dict) or not body:
        raise errors.ValidationFailed("Empty patch", code="EMPTY_PATCH")
    repo = container.repos.numbers
    async with container.db.write() as conn:
        current = await repo.current(conn, number_id)
        values = {**_patch_values(current, body), "updated_at": container.clock.now_ms()}
        patched = await repo.update(conn, number_id, values)
    _forget(container)
    if patched.deleted_at is not None:  # deleted meanwhile
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return patched


def _patch_values(row: Number, body: dict[str, Any]) -> dict[str, Any]:
    problems = [{"field": k, "message": "unknown field"} for k in body if k not in _PATCHABLE]
    values: dict[str, Any] = {}
    if "pacePerSecond" in body:
        if _valid_pace(body["pacePerSecond"]):
            values["pace_per_second"] = body["pacePerSecond"]
        else:
            problems.append({"field": "pacePerSecond", "message": "(0, 1000] or null"})
    if "settings" in body:
        values["settings"] = _merged_settings(row.settings, body["settings"], problems)
    values.update(_pii_values(row, body, problems))
    if problems:
        raise errors.ValidationFailed(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems
        )
    return values


def _merged_settings(current: Any, given: Any, problems: list[dict[str, str]]) -> Any:
    if not isinstance(given, dict):
        problems.append({"field": "settings", "message": "must be an object"})
        return current
    merged = {**DEFAULT_SETTINGS, **(current or {})}
    # ``appliesTo`` is read-only; it is accepted so a client may send back what it read.
    for key, value in given.items():
        problem = _setting_problem(key, value)
        if problem:
            problems.append({"field": f"settings.{key}", "message": problem})
        elif key != "appliesTo":
            merged[key] = value
    return merged


def _setting_problem(key: str, value: Any) -> str | None:
    if key == "appliesTo":
        return None
    if key not in DEFAULT_SETTINGS:
        return "unknown setting"
    if key in _SWITCHES:
        return None if isinstance(value, bool) else "must be true or false"
    if key == "msgRejectCall":
        ok = value is None or (isinstance(value, str) and len(value) <= 1000)
        return None if ok else "a text of at most 1000 characters, or null"
    return None if value is None or isinstance(value, bool) else "true, false or null"


def _pii_values(row: Number, body: dict[str, Any], problems: list[dict[str, str]]) -> dict[str, Any]:
    """``piiRetentionDays`` is required with ``STORE_X_DAYS`` and forced to null otherwise."""
    if "piiMode" not in body and "piiRetentionDays" not in body:
        return {}
    mode = body.get("piiMode", row.pii_mode)
    if mode not in PII_MODES:
        problems.append({"field": "piiMode", "message": "one of " + ", ".join(PII_MODES)})
        return {}
    if mode != "STORE_X_DAYS":
        return {"pii_mode": mode, "pii_retention_days": None}
    days = body.get("piiRetentionDays", row.pii_retention_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        problems.append(
            {"field": "piiRetentionDays", "message": "required with STORE_X_DAYS: whole days, 1-3650"}
        )
        return {}
    return {"pii_mode": mode, "pii_retention_days": days}


def _forget(container: Container) -> None:
    """After a number changes: cached keys and number rows go, workers look again."""
    container.key_cache.clear()
    container.callback_secrets.clear()
    container.number_cache.clear()
    container.template_cache.clear()
    container.wake.numbers.set()
    container.wake.dispatch.set()


# -- deleting, restoring, purging --------------------------------------------------------------


async def delete_number(container: Container, *, workspace_id: str, number_id: str) -> dict[str, Any]:
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
    return {"ok": True, "restorableUntil": iso(now + RESTORE_WINDOW_MS)}


async def restore_number(container: Container, *, workspace_id: str, number_id: str) -> dict[str, Any]:
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
    return {"ok": True, "requiresReconnect": await _current_state(container, row) != "OPEN"}


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
    return str(live["state"])


async def purge_number(container: Container, *, workspace_id: str, number_id: str) -> dict[str, Any]:
    """``DELETE /v1/numbers/{id}/purge``: deleted or not, the number goes for good with its
    keys, messages, templates and webhooks (foreign keys cascade); an Evolution instance is
    removed at the provider, best effort."""
    row = await _any_row(container, workspace_id, number_id)
    await container.repos.numbers.purge(number_id)
    _forget(container)
    provisioner = container.providers.provisioner(row.provider)
    if provisioner is not None:
        with contextlib.suppress(Exception):
            await provisioner.deprovision(credentials.number_ref(container, row))
    return {"ok": True}


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
