"""WhatsApp numbers of a workspace (sandbox provider in this release)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate import errors
from zapgate.clock import iso
from zapgate.container import Container
from zapgate.domain import ids, phones
from zapgate.services import keys
from zapgate.storage import tables as t

DEFAULT_SETTINGS: dict[str, Any] = {
    "historyImportEnabled": True,
    "webhookHistoricalMessages": False,
    "ignoreNewsletters": False,
    "markReadOnSend": True,
    "alwaysOnline": None,
    "rejectCall": None,
    "msgRejectCall": None,
    "readMessages": None,
    "ignoreGroups": None,
    "ignoreStatus": None,
}


def _create_input(body: Any) -> tuple[str, str, str, bool]:
    if not isinstance(body, dict):
        raise errors.ValidationFailed("Body must be a JSON object")
    problems: list[dict[str, str]] = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append({"field": "name", "message": "required, 1-200 characters"})
    raw_number = body.get("number")
    number = phones.normalize_e164(raw_number) if isinstance(raw_number, str) else None
    if number is None:
        problems.append({"field": "number", "message": "required, E.164 phone number"})
    provider = body.get("provider", "sandbox")
    official = body.get("official", False)
    if not isinstance(official, bool):
        problems.append({"field": "official", "message": "must be a boolean"})
    if problems:
        raise errors.ValidationFailed("Invalid number", details=problems)
    assert isinstance(name, str) and number is not None
    return name.strip(), phones.bare_digits(number), str(provider), bool(official)


async def create_number(container: Container, *, workspace_id: str,
                        body: Any) -> dict[str, Any]:
    name, number, provider, official = _create_input(body)
    if provider not in container.providers.kinds():
        raise errors.ValidationFailed(
            f"Unknown provider {provider!r}; available: {', '.join(container.providers.kinds())}",
            details=[{"field": "provider", "message": "unknown provider"}])
    now = container.clock.now_ms()
    number_id = ids.new_id("wn")
    settings = dict(DEFAULT_SETTINGS)
    if isinstance(body.get("settings"), dict):
        settings.update({k: v for k, v in body["settings"].items() if k in DEFAULT_SETTINGS})
    async with container.db.write() as conn:
        await _check_capacity(conn, workspace_id, number)
        await conn.execute(sa.insert(t.numbers).values(
            id=number_id, workspace_id=workspace_id, name=name, number=number,
            provider=provider, official=official, state="OPEN", settings=settings,
            connected_at=now, created_at=now, updated_at=now,
        ))
        key = await keys.issue_key(conn, workspace_id=workspace_id, number_id=number_id,
                                   now_ms=now)
    container.wake.numbers.set()
    container.wake.dispatch.set()
    row = await _get_row(container, workspace_id, number_id)
    instance = _instance(row)
    return {
        "instance": instance, "qrcodeBase64": None, "pairingCode": None,
        "linkedApiKeyId": None,
        "primaryLink": {"qrcodeBase64": None, "pairingCode": None}, "secondaryLink": None,
        # Additive: the number's default key, shown this once.
        "apiKey": {"keyId": key.id, "key": key.raw, "keyPrefix": key.prefix,
                   "keyLast4": key.last4},
    }


async def _check_capacity(conn: Any, workspace_id: str, number: str) -> None:
    ws = (await conn.execute(sa.select(t.workspaces.c.max_numbers).where(
        t.workspaces.c.id == workspace_id))).one()
    active = (await conn.execute(sa.select(t.numbers.c.number).where(
        t.numbers.c.workspace_id == workspace_id, t.numbers.c.deleted_at.is_(None)))).all()
    if any(r.number == number for r in active):
        raise errors.Conflict("This phone number is already registered in the workspace",
                              code="NUMBER_ALREADY_EXISTS")
    if ws.max_numbers is not None and len(active) >= ws.max_numbers:
        raise errors.Conflict(
            f"The workspace plan allows {ws.max_numbers} number(s); upgrade the plan to add more",
            code="NUMBER_LIMIT_EXCEEDED")


async def _get_row(container: Container, workspace_id: str, number_id: str) -> Any:
    async with container.db.read() as conn:
        row = (await conn.execute(sa.select(t.numbers).where(
            t.numbers.c.id == number_id, t.numbers.c.workspace_id == workspace_id,
            t.numbers.c.deleted_at.is_(None)))).first()
    if row is None:
        raise errors.NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return row


def _link(row: Any) -> dict[str, Any]:
    return {"state": row.state, "connectedAt": iso(row.connected_at)}


def _instance(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "tenantId": row.workspace_id, "instanceName": row.id,
        "number": row.number, "displayName": row.name, "name": row.name, "state": row.state,
        "integration": row.provider, "status": row.state, "quality": "GOOD",
        "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at),
        "primaryLink": _link(row), "secondaryLink": None,
        "isFullyConnected": row.state == "OPEN",
    }


async def list_numbers(container: Container, *, workspace_id: str,
                       only_number_id: str | None = None) -> list[dict[str, Any]]:
    n, k = t.numbers, t.api_keys
    query = sa.select(n).where(n.c.workspace_id == workspace_id, n.c.deleted_at.is_(None))
    if only_number_id:
        query = query.where(n.c.id == only_number_id)
    async with container.db.read() as conn:
        rows = (await conn.execute(query.order_by(n.c.created_at))).all()
        key_rows = (await conn.execute(sa.select(k.c.number_id, k.c.name, k.c.prefix, k.c.last4)
                                       .where(k.c.workspace_id == workspace_id,
                                              k.c.revoked_at.is_(None),
                                              k.c.number_id.is_not(None)))).all()
    keys_by_number: dict[str, list[dict[str, Any]]] = {}
    for kr in key_rows:
        keys_by_number.setdefault(kr.number_id, []).append(
            {"name": kr.name, "keyPrefix": kr.prefix, "keyLast4": kr.last4})
    return [_list_item(r, keys_by_number.get(r.id, [])) for r in rows]


def _list_item(row: Any, key_refs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id, "instanceName": row.id, "number": row.number, "name": row.name,
        "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at),
        "apiKeys": key_refs, "primaryLink": _link(row), "secondaryLink": None,
        "isFullyConnected": row.state == "OPEN",
        "extraChargeUnpaidSince": None, "extraChargeDisconnectAt": None,
        # Additive fields.
        "provider": row.provider, "official": row.official,
    }


async def get_number(container: Container, *, workspace_id: str,
                     number_id: str) -> dict[str, Any]:
    row = await _get_row(container, workspace_id, number_id)
    official = bool(row.official)
    settings = {**DEFAULT_SETTINGS, **(row.settings or {})}
    settings["appliesTo"] = {"history": "all", "advanced": "none",
                             "sending": "meta" if official else "none"}
    return {
        "id": row.id, "number": row.number, "name": row.name, "provider": row.provider,
        "official": official, "state": row.state, "isFullyConnected": row.state == "OPEN",
        "piiMode": row.pii_mode, "piiRetentionDays": row.pii_retention_days,
        "settings": settings, "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at),
        "health": {"qualityRating": None, "messagingLimitTier": None,
                   "portfolioMessagingLimitTier": None, "metaStatus": None,
                   "code": row.health, "reason": None, "sendable": row.health == "OK"},
        "meta": None, "coexistence": None,
        "extraChargeUnpaidSince": None, "extraChargeDisconnectAt": None,
        "pacePerSecond": row.pace_per_second,
    }
