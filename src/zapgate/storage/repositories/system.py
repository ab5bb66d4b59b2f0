"""Zapgate's own key-value rows (``system_kv``)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from zapgate.storage import tables as t
from zapgate.storage.database import Database

_kv = t.system_kv.c


class SystemRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def development_secret(self) -> str:
        """The encryption key used without ZAPGATE_SECRET_KEY (development only): random,
        made on first use and kept in the database."""
        async with self._db.write() as conn:
            row = (await conn.execute(sa.select(_kv.value).where(_kv.key == "dev_secret_key"))).first()
            if row is not None:
                return str(row[0])
            value = secrets.token_urlsafe(48)
            await conn.execute(sa.insert(t.system_kv).values(key="dev_secret_key", value=value))
            return value
