"""Webhook chains: a delivery waiting behind an earlier one of its chain is marked blocked, so
the sender's claim reads only due heads (no per-candidate look-up over the backlog)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

READY = "status = 'PENDING' AND NOT blocked"
PENDING = "status = 'PENDING'"


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Deliveries already waiting behind an earlier one of their chain stay behind it.
    op.execute("""
        UPDATE webhook_deliveries SET blocked = TRUE
        WHERE status = 'PENDING' AND EXISTS (
            SELECT 1 FROM webhook_deliveries AS earlier
            WHERE earlier.endpoint_id = webhook_deliveries.endpoint_id
              AND earlier.order_key = webhook_deliveries.order_key
              AND earlier.status = 'PENDING'
              AND (earlier.seq < webhook_deliveries.seq
                   OR (earlier.seq = webhook_deliveries.seq
                       AND earlier.id < webhook_deliveries.id)))
    """)
    op.create_index(
        "ix_webhook_deliveries_ready",
        "webhook_deliveries",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text(READY),
        sqlite_where=sa.text(READY),
    )
    # Partial too: a full (status, next_attempt_at) index drew SQLite's planner away from the
    # ready one, and the finished history never needs indexing by due time.
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.drop_index("ix_webhook_deliveries_ready", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("blocked")
