"""Notification outbox: claims, once-only keys, Web Push subscriptions

Revision ID: 0005_notification_outbox
Revises: 0004_staff_sessions
Create Date: 2026-12-01 03:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_notification_outbox"
down_revision = "0004_staff_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status_token", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=1024), nullable=False),
        sa.Column("p256dh", sa.String(length=256), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint(
            "status_token", "endpoint", name="uq_push_subscriptions_token_endpoint"
        ),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_push_subscriptions_status_token", ["status_token"], unique=False)

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_subscription_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_push_subscription_id_push_subscriptions"),
            "push_subscriptions",
            ["push_subscription_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint("uq_notifications_dedupe_key", ["dedupe_key"])
        batch_op.create_index(
            "ix_notifications_patient_created", ["patient_id", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_patient_created")
        batch_op.drop_constraint("uq_notifications_dedupe_key", type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_push_subscription_id_push_subscriptions"),
            type_="foreignkey",
        )
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("push_subscription_id")

    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_push_subscriptions_status_token")
    op.drop_table("push_subscriptions")
