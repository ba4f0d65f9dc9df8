"""Waiting-room screens that report their health (name, last seen, version shown, sound)

Revision ID: 0010_screens
Revises: 0009_department_wait_targets
Create Date: 2026-12-01 10:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010_screens"
down_revision = "0009_department_wait_targets"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("sound_started", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_screens_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screens")),
        sa.UniqueConstraint("key", name="uq_screens_key"),
    )
    op.create_index("ix_screens_department", "screens", ["department_id"], unique=False)


def downgrade():
    op.drop_index("ix_screens_department", table_name="screens")
    op.drop_table("screens")
