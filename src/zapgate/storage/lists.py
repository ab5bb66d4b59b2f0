"""``column IN (values)`` as a single bound parameter where the database allows it.

An expanded ``IN (:p1, :p2, …)`` list is a different statement at every length: PostgreSQL
parses and plans it again, and asyncpg prepares it again (its statement cache turns over), for
each new batch size. On PostgreSQL the list goes as one array parameter, ``= ANY(:values)``,
one statement text for every batch. SQLite has no arrays: there the IN list stays expanding
(compiled once, its placeholders written at execution).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection


def among(
    conn: AsyncConnection, column: sa.ColumnElement[Any], values: Iterable[Any], *, negate: bool = False
) -> sa.ColumnElement[bool]:
    """``column IN values`` (``NOT IN`` with ``negate``) for ``conn``'s database."""
    items = list(values)
    if conn.dialect.name == "postgresql":
        array = sa.literal(items, type_=postgresql.ARRAY(column.type))
        return column != sa.all_(array) if negate else column == sa.any_(array)
    return column.not_in(items) if negate else column.in_(items)
