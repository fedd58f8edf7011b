"""api limits

Revision ID: 0006_api
Revises: 0005_delivery
Create Date: 2026-11-30

Issue 11: the per-user write-rate token bucket, the index that counts a client address's failed logins,
and the one that counts a user's open tasks for the quota.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_api"
down_revision = "0005_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "write_buckets",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_write_buckets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_write_buckets")),
    )
    op.create_index(
        "ix_login_failures_remote_addr_attempted_at", "login_failures", ["remote_addr", "attempted_at"], unique=False
    )
    op.create_index(
        "ix_tasks_user_id_open",
        "tasks",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("NOT completed AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tasks_user_id_open", table_name="tasks", postgresql_where=sa.text("NOT completed AND deleted_at IS NULL")
    )
    op.drop_index("ix_login_failures_remote_addr_attempted_at", table_name="login_failures")
    op.drop_table("write_buckets")
