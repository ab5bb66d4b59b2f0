"""real providers: callback routing, link health, template ids, richer inbound messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("numbers") as batch:
        batch.add_column(sa.Column("provider_ref", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("health_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("profile_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("state_checked_at", sa.BigInteger(), nullable=True))
        batch.create_index("ix_numbers_provider_ref", ["provider", "provider_ref"])
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("provider_template_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("chat_kind", sa.String(length=12), nullable=False, server_default="phone"))
        batch.add_column(sa.Column("chat_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("reply_id", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("media", sa.JSON(), nullable=True))
        batch.create_index("uq_inbound_provider_id", ["number_id", "provider_message_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index("uq_inbound_provider_id")
        batch.drop_column("media")
        batch.drop_column("reply_id")
        batch.drop_column("chat_id")
        batch.drop_column("chat_kind")
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("provider_template_id")
    with op.batch_alter_table("numbers") as batch:
        batch.drop_index("ix_numbers_provider_ref")
        batch.drop_column("state_checked_at")
        batch.drop_column("profile_name")
        batch.drop_column("health_reason")
        batch.drop_column("provider_ref")
