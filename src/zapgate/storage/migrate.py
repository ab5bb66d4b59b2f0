"""Alembic, driven from code: ``zapgate migrate`` and ``serve`` call :func:`upgrade`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from zapgate.storage.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_ID = 7_302_914_011  # any constant: serialises concurrent migrators on PostgreSQL


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(db: Database) -> str | None:
    async with db.read() as conn:
        return await conn.run_sync(_current)


def _current(sync_conn: sa.Connection) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()


async def upgrade(db: Database, revision: str = "head") -> None:
    async with db.engine.connect() as conn:
        if not db.is_sqlite:
            await conn.execute(sa.text(f"SELECT pg_advisory_lock({_PG_LOCK_ID})"))
            await conn.commit()
        try:
            await conn.run_sync(_run_upgrade, revision)
            await conn.commit()
        finally:
            if not db.is_sqlite:
                await conn.execute(sa.text(f"SELECT pg_advisory_unlock({_PG_LOCK_ID})"))
                await conn.commit()


def _run_upgrade(sync_conn: sa.Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


async def is_current(db: Database) -> bool:
    return await current_revision(db) == head_revision()
