"""PII redaction: when a message's or inbound message's content was removed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("redacted_at", sa.BigInteger(), nullable=True))
        batch.create_index("ix_messages_number_redacted", ["number_id", "redacted_at", "created_at"])
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("redacted_at", sa.BigInteger(), nullable=True))
        batch.create_index("ix_inbound_number_redacted", ["number_id", "redacted_at", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index("ix_inbound_number_redacted")
        batch.drop_column("redacted_at")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_number_redacted")
        batch.drop_column("redacted_at")
