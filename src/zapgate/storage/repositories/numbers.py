"""Numbers: the reads of a workspace's live numbers, as :class:`Number` records (the create,
change and delete paths are being moved here from the services one at a time)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain.numbers import KeyRef, ListedNumber, Number
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_n = t.numbers.c


def _record(row: Any) -> Number:
    return Number(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        number=row.number,
        provider=row.provider,
        official=bool(row.official),
        state=row.state,
        health=row.health,
        settings=row.settings,
        pace_per_second=row.pace_per_second,
        pii_mode=row.pii_mode,
        pii_retention_days=row.pii_retention_days,
        provider_ref=row.provider_ref,
        health_reason=row.health_reason,
        profile_name=row.profile_name,
        state_checked_at=row.state_checked_at,
        connected_at=row.connected_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        credentials_enc=row.credentials_enc,
    )


class NumberRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def is_live_in_workspace(self, workspace_id: str, number_id: str) -> bool:
        """The number exists in the workspace and is not deleted."""
        async with self._db.read() as conn:
            found = (
                await conn.execute(
                    sa.select(_n.id).where(
                        _n.id == number_id, _n.workspace_id == workspace_id, _n.deleted_at.is_(None)
                    )
                )
            ).first()
        return found is not None

    async def get(self, workspace_id: str, number_id: str) -> Number | None:
        """The workspace's live number; None when there is none (or it is deleted)."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.numbers).where(
                        t.numbers.c.id == number_id,
                        t.numbers.c.workspace_id == workspace_id,
                        t.numbers.c.deleted_at.is_(None),
                    )
                )
            ).first()
        return None if row is None else _record(row)

    async def list(self, workspace_id: str, only_number_id: str | None = None) -> tuple[ListedNumber, ...]:
        """The workspace's live numbers (only the one given, when given), oldest first, each with
        its live keys masked."""
        n, k = t.numbers, t.api_keys
        query = sa.select(n).where(n.c.workspace_id == workspace_id, n.c.deleted_at.is_(None))
        if only_number_id:
            query = query.where(n.c.id == only_number_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query.order_by(n.c.created_at))).all()
            key_rows = (
                await conn.execute(
                    sa.select(k.c.number_id, k.c.name, k.c.prefix, k.c.last4).where(
                        k.c.workspace_id == workspace_id, k.c.revoked_at.is_(None), k.c.number_id.is_not(None)
                    )
                )
            ).all()
        keys_by_number: dict[str, list[KeyRef]] = {}
        for kr in key_rows:
            keys_by_number.setdefault(kr.number_id, []).append(
                KeyRef(name=kr.name, prefix=kr.prefix, last4=kr.last4)
            )
        return tuple(
            ListedNumber(number=_record(r), key_refs=tuple(keys_by_number.get(r.id, ()))) for r in rows
        )
