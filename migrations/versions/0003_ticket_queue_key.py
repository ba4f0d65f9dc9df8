"""tickets.manual_position becomes queue_key, always set: the serving order within a priority group

Revision ID: 0003_ticket_queue_key
Revises: b134c714bca8
Create Date: 2026-11-24 13:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003_ticket_queue_key"
down_revision = "b134c714bca8"
branch_labels = None
depends_on = None


def upgrade():
    # No ticket could be created before this revision (check-in did not exist yet),
    # but fill the key from the effective time for safety before making it NOT NULL.
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column(
            "manual_position",
            new_column_name="queue_key",
            existing_type=sa.Float(),
            existing_nullable=True,
        )
    tickets = sa.table("tickets", sa.column("id", sa.Integer()), sa.column("queue_key", sa.Float()))
    op.execute(tickets.update().where(tickets.c.queue_key.is_(None)).values(queue_key=tickets.c.id))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("queue_key", existing_type=sa.Float(), nullable=False)
        batch_op.create_index(
            "ix_tickets_department_queue",
            ["department_id", "status", "priority", "queue_key"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_department_queue")
        batch_op.alter_column(
            "queue_key", new_column_name="manual_position", existing_type=sa.Float(), nullable=True
        )
