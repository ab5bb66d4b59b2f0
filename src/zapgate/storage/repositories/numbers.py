"""Numbers: a workspace's numbers as :class:`Number` records, and their writes (create, patch,
soft delete, restore, purge). Methods taking ``conn`` run in the caller's unit of work."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zapgate.domain.numbers import Capacity, KeyRef, ListedNumber, NewNumber, Number
from zapgate.storage import tables as t
from zapgate.storage.database import Connection, Database

_n = t.numbers.c


def number_record(row: Any) -> Number:
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
        deleted_at=row.deleted_at,
        secondary_ref=row.secondary_ref,
        secondary_credentials_enc=row.secondary_credentials_enc,
        secondary_state=row.secondary_state,
        secondary_connected_at=row.secondary_connected_at,
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
        return None if row is None else number_record(row)

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
            ListedNumber(number=number_record(r), key_refs=tuple(keys_by_number.get(r.id, ()))) for r in rows
        )

    async def live(self, workspace_id: str) -> tuple[Number, ...]:
        """The workspace's live numbers, oldest first."""
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.numbers)
                    .where(_n.workspace_id == workspace_id, _n.deleted_at.is_(None))
                    .order_by(_n.created_at)
                )
            ).all()
        return tuple(number_record(r) for r in rows)

    async def deleted(self, workspace_id: str) -> tuple[Number, ...]:
        """The workspace's soft-deleted numbers, most recently deleted first."""
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.numbers)
                    .where(_n.workspace_id == workspace_id, _n.deleted_at.is_not(None))
                    .order_by(_n.deleted_at.desc())
                )
            ).all()
        return tuple(number_record(r) for r in rows)

    async def get_any(self, workspace_id: str, number_id: str) -> Number | None:
        """The workspace's number, deleted or not; None when there is none."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.numbers).where(_n.id == number_id, _n.workspace_id == workspace_id)
                )
            ).first()
        return None if row is None else number_record(row)

    # --- checks before a number is added or restored (in the caller's transaction) ------------

    @staticmethod
    async def capacity(conn: Connection, workspace_id: str) -> Capacity:
        max_numbers = (
            await conn.execute(sa.select(t.workspaces.c.max_numbers).where(t.workspaces.c.id == workspace_id))
        ).scalar_one()
        live = (
            await conn.execute(
                sa.select(_n.number).where(_n.workspace_id == workspace_id, _n.deleted_at.is_(None))
            )
        ).scalars()
        return Capacity(max_numbers=max_numbers, live_numbers=tuple(live))

    @staticmethod
    async def deleted_since(conn: Connection, workspace_id: str, number: str, since_ms: int) -> bool:
        """The workspace has this phone number deleted at ``since_ms`` or later."""
        held = (
            await conn.execute(
                sa.select(_n.id).where(
                    _n.workspace_id == workspace_id, _n.number == number, _n.deleted_at >= since_ms
                )
            )
        ).first()
        return held is not None

    @staticmethod
    async def ref_taken(conn: Connection, provider: str, provider_ref: str) -> bool:
        """A live number of any workspace has this provider reference."""
        taken = (
            await conn.execute(
                sa.select(_n.id).where(
                    _n.provider == provider, _n.provider_ref == provider_ref, _n.deleted_at.is_(None)
                )
            )
        ).first()
        return taken is not None

    # --- writes ---------------------------------------------------------------------------------

    @staticmethod
    async def insert(conn: Connection, new: NewNumber, *, credentials_enc: str | None, now_ms: int) -> None:
        await conn.execute(
            sa.insert(t.numbers).values(
                id=new.id,
                workspace_id=new.workspace_id,
                name=new.name,
                number=new.number,
                provider=new.provider,
                official=new.official,
                state=new.state,
                settings=new.settings,
                provider_ref=new.provider_ref,
                credentials_enc=credentials_enc,
                profile_name=new.profile_name,
                state_checked_at=now_ms,
                connected_at=now_ms if new.state == "OPEN" else None,
                created_at=now_ms,
                updated_at=now_ms,
            )
        )

    @staticmethod
    async def add_secondary(
        conn: Connection, number_id: str, *, ref: str, credentials_enc: str, state: str, now_ms: int
    ) -> bool:
        """Give a live number with one link its secondary link; False when it has one already
        (or is deleted)."""
        result = await conn.execute(
            sa.update(t.numbers)
            .where(_n.id == number_id, _n.secondary_ref.is_(None), _n.deleted_at.is_(None))
            .values(
                secondary_ref=ref,
                secondary_credentials_enc=credentials_enc,
                secondary_state=state,
                secondary_connected_at=now_ms if state == "OPEN" else None,
                updated_at=now_ms,
            )
        )
        return bool(result.rowcount)

    @staticmethod
    async def current(conn: Connection, number_id: str) -> Number:
        """The number as it is in the caller's transaction (deleted or not); it must exist."""
        return number_record((await conn.execute(sa.select(t.numbers).where(_n.id == number_id))).one())

    @staticmethod
    async def update(conn: Connection, number_id: str, values: dict[str, Any]) -> Number:
        """Set columns (by their names) and return the number as written, in one statement."""
        row = (
            await conn.execute(
                sa.update(t.numbers).where(_n.id == number_id).values(**values).returning(*t.numbers.c)
            )
        ).one()
        return number_record(row)

    @staticmethod
    async def soft_delete(conn: Connection, number_id: str, *, now_ms: int) -> bool:
        """False when the number was deleted already."""
        result = await conn.execute(
            sa.update(t.numbers)
            .where(_n.id == number_id, _n.deleted_at.is_(None))
            .values(deleted_at=now_ms, updated_at=now_ms)
        )
        return bool(result.rowcount)

    @staticmethod
    async def undelete(conn: Connection, number_id: str, *, now_ms: int) -> None:
        await conn.execute(
            sa.update(t.numbers).where(_n.id == number_id).values(deleted_at=None, updated_at=now_ms)
        )

    async def purge(self, number_id: str) -> None:
        """The number goes for good; its keys, messages, templates and webhooks follow by
        foreign key cascade, its idempotency keys and lease here."""
        async with self._db.write() as conn:
            for table in (t.idempotency_keys, t.number_leases):
                await conn.execute(sa.delete(table).where(table.c.number_id == number_id))
            await conn.execute(sa.delete(t.numbers).where(_n.id == number_id))
