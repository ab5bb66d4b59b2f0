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


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("blocked", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
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
    op.create_index("ix_webhook_deliveries_ready", "webhook_deliveries",
                    ["next_attempt_at", "id"], postgresql_where=sa.text(READY),
                    sqlite_where=sa.text(READY))


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_ready", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("blocked")
