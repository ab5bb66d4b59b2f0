"""Alembic environment: runs on the connection handed in by ``zapgate.storage.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from zapgate.storage.tables import metadata

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    # Offline use from the command line (autogenerate): a sync URL is given in the config.
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///./zapgate-autogen.db"
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
