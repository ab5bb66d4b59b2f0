"""Remote pairing links: a public, time-limited link to pair a QR-paired number, stored as the
SHA-256 digest of its token

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_pairing_links",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("number_id", sa.String(40), nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("redirect_url", sa.String(2048), nullable=True),
        sa.Column("external_ref", sa.String(200), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["number_id"],
            ["numbers.id"],
            name=op.f("fk_remote_pairing_links_number_id_numbers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_remote_pairing_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_remote_pairing_links")),
    )
    op.create_index("ix_remote_pairing_links_number", "remote_pairing_links", ["number_id"])


def downgrade() -> None:
    op.drop_index("ix_remote_pairing_links_number", table_name="remote_pairing_links")
    op.drop_table("remote_pairing_links")
