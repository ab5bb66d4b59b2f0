"""Numbers (being moved here from ``services/numbers.py`` one read at a time)."""

from __future__ import annotations

import sqlalchemy as sa

from zapgate.storage import tables as t
from zapgate.storage.database import Database

_n = t.numbers.c


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
