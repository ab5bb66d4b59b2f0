"""Changing a number after it exists: settings and pacing (``PATCH /v1/numbers/{id}``), soft
delete, restore within the window, and purge."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from zapgate import errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.services import credentials
from zapgate.services.numbers import (
    DEFAULT_SETTINGS,
    RESTORE_WINDOW_MS,
    check_capacity,
    check_meta_ref_free,
    get_number,
    get_row,
    link_status,
)
from zapgate.storage import tables as t

_SWITCHES = frozenset(
    {"historyImportEnabled", "webhookHistoricalMessages", "ignoreNewsletters", "markReadOnSend"}
)
PII_MODES = ("RELAY_ONLY", "STORE_X_DAYS", "STORE_INDEFINITE")
_PATCHABLE = ("pacePerSecond", "piiMode", "piiRetentionDays", "settings")


def _valid_pace(pace: Any) -> bool:
    return pace is None or (isinstance(pace, int | float) and not isinstance(pace, bool) and 0 < pace <= 1000)


async def patch_number(
    container: Container, *, workspace_id: str, number_id: str, body: Any
) -> dict[str, Any]:
    """``PATCH /v1/numbers/{id}``: any of ``pacePerSecond``, ``piiMode``, ``piiRetentionDays``
    and ``settings{...}`` (merged into the stored settings); all checked before any is saved."""
    await get_row(container, workspace_id, number_id)
    if not isinstance(body, dict) or not body:
        raise errors.ValidationFailed("Empty patch", code="EMPTY_PATCH")
    async with container.db.write() as conn:
        row = (await conn.execute(sa.select(t.numbers).where(t.numbers.c.id == number_id))).one()
        await conn.execute(
            sa.update(t.numbers)
            .where(t.numbers.c.id == number_id)
            .values(**_patch_values(row, body), updated_at=container.clock.now_ms())
        )
    _forget(container)
    return await get_number(container, workspace_id=workspace_id, number_id=number_id)


def _patch_values(row: Any, body: dict[str, Any]) -> dict[str, Any]:
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


def _pii_values(row: Any, body: dict[str, Any], problems: list[dict[str, str]]) -> dict[str, Any]:
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


@dataclass(frozen=True)
class DeletedNumber:
    id: str
    name: str
    number: str
    provider: str
    deleted_at: int
    restorable_until: int
    restorable: bool


async def delete_number(container: Container, *, workspace_id: str, number_id: str) -> dict[str, Any]:
    """``DELETE /v1/numbers/{id}``: a soft delete. The number stops sending and its key stops
    working (everything filters on ``deleted_at``); nothing else changes, so a restore within
    the window gives it back as it was."""
    await get_row(container, workspace_id, number_id)
    now = container.clock.now_ms()
    async with container.db.write() as conn:
        await conn.execute(
            sa.update(t.numbers)
            .where(t.numbers.c.id == number_id, t.numbers.c.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
        )
    _forget(container)
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
        await conn.execute(
            sa.update(t.numbers).where(t.numbers.c.id == number_id).values(deleted_at=None, updated_at=now)
        )
    _forget(container)
    return {"ok": True, "requiresReconnect": await _current_state(container, row) != "OPEN"}


async def _current_state(container: Container, row: Any) -> str:
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
    async with container.db.write() as conn:
        for table in (t.idempotency_keys, t.number_leases):
            await conn.execute(sa.delete(table).where(table.c.number_id == number_id))
        await conn.execute(sa.delete(t.numbers).where(t.numbers.c.id == number_id))
    _forget(container)
    provisioner = container.providers.provisioner(row.provider)
    if provisioner is not None:
        with contextlib.suppress(Exception):
            await provisioner.deprovision(credentials.number_ref(container, row))
    return {"ok": True}


async def list_deleted(container: Container, *, workspace_id: str) -> list[DeletedNumber]:
    """The workspace's soft-deleted numbers, most recently deleted first."""
    n = t.numbers.c
    async with container.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.numbers)
                .where(n.workspace_id == workspace_id, n.deleted_at.is_not(None))
                .order_by(n.deleted_at.desc())
            )
        ).all()
    now = container.clock.now_ms()
    return [
        DeletedNumber(
            id=r.id,
            name=r.name,
            number=r.number,
            provider=r.provider,
            deleted_at=r.deleted_at,
            restorable_until=r.deleted_at + RESTORE_WINDOW_MS,
            restorable=now <= r.deleted_at + RESTORE_WINDOW_MS,
        )
        for r in rows
    ]


async def _any_row(container: Container, workspace_id: str, number_id: str) -> Any:
    """The number's row, deleted or not."""
    async with container.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(t.numbers).where(
                    t.numbers.c.id == number_id, t.numbers.c.workspace_id == workspace_id
                )
            )
        ).first()
    if row is None:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return row
