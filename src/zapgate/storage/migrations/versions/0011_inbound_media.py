"""Inbound media store: the media a provider hands over with an inbound message (Evolution GO's
webhook base64, the sandbox) or the link it gives instead (Evolution GO with S3/MinIO), kept for
``GET /v1/media/{id}``

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_media",
        sa.Column("number_id", sa.String(40), nullable=False),
        sa.Column("media_id", sa.String(128), nullable=False),
        sa.Column("mime_type", sa.String(255), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["number_id"],
            ["numbers.id"],
            name=op.f("fk_inbound_media_number_id_numbers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("number_id", "media_id", name=op.f("pk_inbound_media")),
    )
    op.create_index("ix_inbound_media_number_created", "inbound_media", ["number_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_media_number_created", table_name="inbound_media")
    op.drop_table("inbound_media")
