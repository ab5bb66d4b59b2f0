"""Migrations: upgrade from empty builds exactly the schema of ``tables.py``; downgrade works."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from zapgate.storage import migrate
from zapgate.storage.database import Database
from zapgate.storage.tables import metadata


def _diff(sync_conn):
    return compare_metadata(MigrationContext.configure(sync_conn), metadata)


def test_upgrade_matches_models_and_downgrade_is_clean(db_url):
    async def run():
        db = Database(db_url)
        try:
            await migrate.upgrade(db)
            assert await migrate.is_current(db)
            async with db.read() as conn:
                diff = await conn.run_sync(_diff)
            assert diff == [], diff
            await migrate.upgrade(db)  # idempotent
            async with db.engine.connect() as conn:
                await conn.run_sync(_downgrade)
                await conn.commit()
            assert await migrate.current_revision(db) is None
        finally:
            await db.dispose()

    asyncio.run(run())


def _downgrade(sync_conn):
    from alembic import command

    cfg = migrate.alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.downgrade(cfg, "base")
