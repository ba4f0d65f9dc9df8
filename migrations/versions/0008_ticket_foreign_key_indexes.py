"""Index tickets.appointment_id and tickets.transferred_from_id (the foreign keys' checks)

Revision ID: 0008_ticket_foreign_key_indexes
Revises: 0007_queue_versions
Create Date: 2026-12-01 07:50:00

"""

from alembic import op

revision = "0008_ticket_foreign_key_indexes"
down_revision = "0007_queue_versions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_appointment", ["appointment_id"], unique=False)
        batch_op.create_index("ix_tickets_transferred_from", ["transferred_from_id"], unique=False)


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_transferred_from")
        batch_op.drop_index("ix_tickets_appointment")
