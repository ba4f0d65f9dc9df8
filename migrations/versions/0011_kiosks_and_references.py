"""Self check-in: kiosks, and a booking reference on appointments (unique while booked)

Revision ID: 0011_kiosks_and_references
Revises: 0010_screens
Create Date: 2026-12-01 10:10:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011_kiosks_and_references"
down_revision = "0010_screens"
branch_labels = None
depends_on = None

# The same alphabet as webapp.appointments.references (copied: a migration must not change
# when the application code does).
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def upgrade():
    op.create_table(
        "kiosks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_kiosks_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("token_hash", name="uq_kiosks_token_hash"),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=6), nullable=True))
    # Open bookings made before this release get a reference too, so every booked patient
    # can use the kiosk.
    connection = op.get_bind()
    booked = connection.execute(
        sa.text("SELECT id FROM appointments WHERE status = 'booked' ORDER BY id")
    ).scalars()
    taken: set[str] = set()
    for appointment_id in list(booked):
        reference = _new_reference(taken)
        connection.execute(
            sa.text("UPDATE appointments SET reference = :reference WHERE id = :id"),
            {"reference": reference, "id": appointment_id},
        )
    op.create_index(
        "uq_appointments_open_reference",
        "appointments",
        ["reference"],
        unique=True,
        postgresql_where=sa.text("status = 'booked'"),
        sqlite_where=sa.text("status = 'booked'"),
    )


def _new_reference(taken: set[str]) -> str:
    while True:
        reference = "".join(secrets.choice(_ALPHABET) for _ in range(6))
        if reference not in taken:
            taken.add(reference)
            return reference


def downgrade():
    op.drop_index(
        "uq_appointments_open_reference",
        table_name="appointments",
        postgresql_where=sa.text("status = 'booked'"),
        sqlite_where=sa.text("status = 'booked'"),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("reference")
    op.drop_table("kiosks")
