"""Conversation history: a number's inbound messages by provider time, its unread ones and its
group conversations (both directions) are read through indexes of their own, so a page of a
number with a million messages reads the page, not the history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INBOUND_UNREAD = "read_at IS NULL"
GROUP_CHAT = "chat_kind = 'group'"
GROUP_SEND = "destination_kind = 'group'"


def _partial(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(name, table, columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade() -> None:
    op.create_index("ix_inbound_number_time", "inbound_messages", ["number_id", "provider_timestamp", "id"])
    _partial(
        "ix_inbound_unread", "inbound_messages", ["number_id", "provider_timestamp", "id"], INBOUND_UNREAD
    )
    _partial("ix_inbound_group", "inbound_messages", ["number_id", "created_at", "id"], GROUP_CHAT)
    _partial("ix_messages_group", "messages", ["number_id", "created_at", "id"], GROUP_SEND)


def downgrade() -> None:
    op.drop_index("ix_messages_group", table_name="messages")
    op.drop_index("ix_inbound_group", table_name="inbound_messages")
    op.drop_index("ix_inbound_unread", table_name="inbound_messages")
    op.drop_index("ix_inbound_number_time", table_name="inbound_messages")
