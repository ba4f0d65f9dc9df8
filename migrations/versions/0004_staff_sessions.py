"""Revocable staff sessions; one clinician at one service point at a time

Revision ID: 0004_staff_sessions
Revises: 0003_ticket_queue_key
Create Date: 2026-11-30 21:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004_staff_sessions"
down_revision = "0003_ticket_queue_key"
branch_labels = None
depends_on = None

ONE_ROOM_PER_CLINICIAN = "uq_service_points_one_per_clinician"


def upgrade():
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name="uq_staff_sessions_token_hash"),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_staff_sessions_user", ["user_id"], unique=False)

    # A clinician signed in at several rooms keeps only the newest one (highest id) before
    # the unique index forbids it; the others are simply signed out of their room.
    service_points = sa.table(
        "service_points",
        sa.column("id", sa.Integer()),
        sa.column("clinician_id", sa.Integer()),
        sa.column("signed_in_at", sa.DateTime(timezone=True)),
    )
    newer = service_points.alias("newer")
    op.execute(
        service_points.update()
        .where(
            service_points.c.clinician_id.is_not(None),
            sa.exists().where(
                newer.c.clinician_id == service_points.c.clinician_id,
                newer.c.id > service_points.c.id,
            ),
        )
        .values(clinician_id=None, signed_in_at=None)
    )
    # The partial unique index also serves look-ups by clinician, so it replaces the plain one.
    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.drop_index("ix_service_points_clinician")
        batch_op.create_index(
            ONE_ROOM_PER_CLINICIAN,
            ["clinician_id"],
            unique=True,
            sqlite_where=sa.text("clinician_id IS NOT NULL"),
            postgresql_where=sa.text("clinician_id IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("service_points", schema=None) as batch_op:
        batch_op.drop_index(ONE_ROOM_PER_CLINICIAN)
        batch_op.create_index("ix_service_points_clinician", ["clinician_id"], unique=False)

    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_sessions_user")

    op.drop_table("staff_sessions")
