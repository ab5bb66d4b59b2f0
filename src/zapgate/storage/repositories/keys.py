"""API keys: issue (revoking the scope's current key), and the masked reads."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zapgate import crypto
from zapgate.domain import ids
from zapgate.domain.keys import IssuedKey, LiveKey, MaskedKey, NumberKey
from zapgate.storage import tables as t
from zapgate.storage.database import Database

_k, _n = t.api_keys.c, t.numbers.c


def _masked(row: Any) -> MaskedKey:
    return MaskedKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        last4=row.last4,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        retention_days=row.retention_days,
    )


class KeyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def issue(
        conn: AsyncConnection, *, workspace_id: str, number_id: str | None, now_ms: int
    ) -> IssuedKey:
        """In the caller's transaction: revoke the scope's current key (if any) and create a new
        one; returns the raw key once."""
        scope_filter = (
            (_k.number_id == number_id)
            if number_id
            else sa.and_(_k.number_id.is_(None), _k.scope == "tenant")
        )
        await conn.execute(
            sa.update(t.api_keys)
            .where(_k.workspace_id == workspace_id, scope_filter, _k.revoked_at.is_(None))
            .values(revoked_at=now_ms)
        )
        raw = ids.raw_api_key()
        key = IssuedKey(id=ids.random_id("key"), raw=raw, prefix=raw[:7], last4=raw[-4:], created_at=now_ms)
        await conn.execute(
            sa.insert(t.api_keys).values(
                id=key.id,
                workspace_id=workspace_id,
                number_id=number_id,
                scope="number" if number_id else "tenant",
                name="Default",
                digest=crypto.key_digest(raw),
                prefix=key.prefix,
                last4=key.last4,
                created_at=now_ms,
            )
        )
        return key

    async def rotate_number_key(self, *, workspace_id: str, number_id: str, now_ms: int) -> IssuedKey | None:
        """A new key for a live number of the workspace; None when there is no such number."""
        async with self._db.write() as conn:
            found = (
                await conn.execute(
                    sa.select(_n.id).where(
                        _n.id == number_id, _n.workspace_id == workspace_id, _n.deleted_at.is_(None)
                    )
                )
            ).first()
            if found is None:
                return None
            return await self.issue(conn, workspace_id=workspace_id, number_id=number_id, now_ms=now_ms)

    async def rotate_tenant_key(self, *, workspace_id: str, now_ms: int) -> IssuedKey:
        async with self._db.write() as conn:
            return await self.issue(conn, workspace_id=workspace_id, number_id=None, now_ms=now_ms)

    async def number_keys(self, *, workspace_id: str, number_id: str | None = None) -> tuple[NumberKey, ...]:
        """Live keys of the workspace's live numbers (of one number when given), oldest number
        first."""
        query = (
            sa.select(t.api_keys, _n.name.label("number_name"), _n.number, _n.state)
            .join(t.numbers, _n.id == _k.number_id)
            .where(_k.workspace_id == workspace_id, _k.revoked_at.is_(None))
            .order_by(_n.created_at, _k.created_at)
        )
        query = query.where(_k.number_id == number_id) if number_id else query.where(_n.deleted_at.is_(None))
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return tuple(
            NumberKey(
                key=_masked(r),
                number_id=r.number_id,
                number_name=r.number_name,
                number=r.number,
                number_state=r.state,
            )
            for r in rows
        )

    async def tenant_key(self, *, workspace_id: str) -> MaskedKey | None:
        """The workspace's live tenant key, masked; None when it has none."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.api_keys).where(
                        _k.workspace_id == workspace_id,
                        _k.scope == "tenant",
                        _k.number_id.is_(None),
                        _k.revoked_at.is_(None),
                    )
                )
            ).first()
        return None if row is None else _masked(row)

    async def live_key(self, *, digest: str | None = None, key_id: str | None = None) -> LiveKey | None:
        """The live key with this digest (or id), unless it belongs to a deleted number."""
        column, value = (_k.digest, digest) if digest is not None else (_k.id, key_id)
        query = (
            sa.select(_k.id, _k.workspace_id, _k.scope, _k.number_id, _k.digest)
            .select_from(t.api_keys.outerjoin(t.numbers, _n.id == _k.number_id))
            .where(column == value, _k.revoked_at.is_(None))
            .where(sa.or_(_k.number_id.is_(None), _n.deleted_at.is_(None)))
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return LiveKey(
            id=row.id,
            workspace_id=row.workspace_id,
            scope=row.scope,
            number_id=row.number_id,
            digest=row.digest,
        )
