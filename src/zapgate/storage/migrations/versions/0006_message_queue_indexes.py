"""Message queue: partial indexes over QUEUED messages only, so a dispatcher's claim reads the
due head of a number's queue in order and the contacts it must hold back, whatever the backlog
(the claim sorted every due message of the number, and scanned every queued one, per tick)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

QUEUED = "status = 'QUEUED'"
ATTEMPTED = "status = 'QUEUED' AND attempts > 0"


def upgrade() -> None:
    op.create_index(
        "ix_messages_due",
        "messages",
        ["number_id", "deliver_at", "id"],
        postgresql_where=sa.text(QUEUED),
        sqlite_where=sa.text(QUEUED),
    )
    op.create_index(
        "ix_messages_attempted",
        "messages",
        ["number_id", "destination"],
        postgresql_where=sa.text(ATTEMPTED),
        sqlite_where=sa.text(ATTEMPTED),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_attempted", table_name="messages")
    op.drop_index("ix_messages_due", table_name="messages")
