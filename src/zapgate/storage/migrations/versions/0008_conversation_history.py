"""Conversation history: a number's inbound messages by provider time, its unread ones and its
group conversations (both directions) are read through indexes of their own, so a page of a
number with a million messages reads the page, not the history; and projects, a workspace's
named groupings

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
    op.create_table(
        "projects",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("description", sa.String(500), server_default="", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_projects_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("workspace_id", "slug", name="uq_projects_workspace_slug"),
    )
    op.create_index("ix_inbound_number_time", "inbound_messages", ["number_id", "provider_timestamp", "id"])
    _partial(
        "ix_inbound_unread", "inbound_messages", ["number_id", "provider_timestamp", "id"], INBOUND_UNREAD
    )
    _partial("ix_inbound_group", "inbound_messages", ["number_id", "created_at", "id"], GROUP_CHAT)
    _partial("ix_messages_group", "messages", ["number_id", "created_at", "id"], GROUP_SEND)


def downgrade() -> None:
    op.drop_table("projects")
    op.drop_index("ix_messages_group", table_name="messages")
    op.drop_index("ix_inbound_group", table_name="inbound_messages")
    op.drop_index("ix_inbound_unread", table_name="inbound_messages")
    op.drop_index("ix_inbound_number_time", table_name="inbound_messages")
