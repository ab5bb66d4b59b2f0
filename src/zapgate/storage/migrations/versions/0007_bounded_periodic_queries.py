"""Periodic queries bounded by their batch, not by the backlog: the expiry of messages never
attempted reads a range of (status, deliver_until, deliver_at) rather than every queued message,
the inbox claims the due head of the unapplied provider events through a partial index (it
sorted every due event, per batch), and PII redaction reads a number's unredacted messages out
of the queue (it read through the queued backlog, scheduled campaigns included); provider
events name the number whose lease holder applies them (``shard``), so that several workers do
not lock one another's messages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UNAPPLIED = "processed_at IS NULL"
UNREDACTED = "redacted_at IS NULL AND status <> 'QUEUED'"


def upgrade() -> None:
    with op.batch_alter_table("provider_events") as batch:
        batch.add_column(sa.Column("shard", sa.String(40), nullable=True))
    op.drop_index("ix_messages_status_until", table_name="messages")
    op.create_index("ix_messages_status_until", "messages", ["status", "deliver_until", "deliver_at"])
    op.create_index(
        "ix_provider_events_unapplied",
        "provider_events",
        ["due_at", "id"],
        postgresql_where=sa.text(UNAPPLIED),
        sqlite_where=sa.text(UNAPPLIED),
    )
    op.drop_index("ix_messages_number_redacted", table_name="messages")
    op.create_index(
        "ix_messages_unredacted",
        "messages",
        ["number_id", "created_at"],
        postgresql_where=sa.text(UNREDACTED),
        sqlite_where=sa.text(UNREDACTED),
    )


def downgrade() -> None:
    with op.batch_alter_table("provider_events") as batch:
        batch.drop_column("shard")
    op.drop_index("ix_messages_unredacted", table_name="messages")
    op.create_index("ix_messages_number_redacted", "messages", ["number_id", "redacted_at", "created_at"])
    op.drop_index("ix_provider_events_unapplied", table_name="provider_events")
    op.drop_index("ix_messages_status_until", table_name="messages")
    op.create_index("ix_messages_status_until", "messages", ["status", "deliver_until"])
