"""Service targets: departments.wait_targets (minutes per priority; null means the defaults)

Revision ID: 0009_department_wait_targets
Revises: 0008_ticket_foreign_key_indexes
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_department_wait_targets"
down_revision = "0008_ticket_foreign_key_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wait_targets", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_column("wait_targets")
