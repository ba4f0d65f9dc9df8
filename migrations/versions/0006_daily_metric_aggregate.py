"""Daily metrics keep the day's additive aggregate (for weeks and totals)

Revision ID: 0006_daily_metric_aggregate
Revises: 0005_notification_outbox
Create Date: 2026-12-01 04:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_daily_metric_aggregate"
down_revision = "0005_notification_outbox"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("daily_metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aggregate", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("daily_metrics", schema=None) as batch_op:
        batch_op.drop_column("aggregate")
