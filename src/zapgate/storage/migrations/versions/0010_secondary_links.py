"""Dual links: a QR-paired number's optional second linked device (a second provider instance
paired to the same phone), with its own sealed credentials and link state

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("numbers") as batch:
        batch.add_column(sa.Column("secondary_ref", sa.String(128), nullable=True))
        batch.add_column(sa.Column("secondary_credentials_enc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("secondary_state", sa.String(16), nullable=True))
        batch.add_column(sa.Column("secondary_connected_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("numbers") as batch:
        batch.drop_column("secondary_connected_at")
        batch.drop_column("secondary_state")
        batch.drop_column("secondary_credentials_enc")
        batch.drop_column("secondary_ref")
