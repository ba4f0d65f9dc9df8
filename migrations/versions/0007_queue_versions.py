"""Queue versions: one counter per department, bumped by every change its screens show

Revision ID: 0007_queue_versions
Revises: 0006_daily_metric_aggregate
Create Date: 2026-12-01 06:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_queue_versions"
down_revision = "0006_daily_metric_aggregate"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "queue_versions",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_queue_versions")),
    )


def downgrade():
    op.drop_table("queue_versions")
