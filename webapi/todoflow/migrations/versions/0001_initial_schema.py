"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Every table of the product, its invariants as constraints, and the seeded priorities.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("message_key", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("pg_current_xact_id()::text::bigint"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_event_outbox_event_id")),
    )
    op.create_index(
        "ix_event_outbox_published_at",
        "event_outbox",
        ["published_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index(
        "ix_event_outbox_unpublished",
        "event_outbox",
        ["txid", "id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column(
            "attempted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(
        "ix_login_failures_email_attempted_at",
        "login_failures",
        ["email", "attempted_at"],
        unique=False,
    )
    op.create_table(
        "priorities",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_priorities")),
        sa.UniqueConstraint("level", name=op.f("uq_priorities_level")),
        sa.UniqueConstraint("name", name=op.f("uq_priorities_name")),
    )
    op.create_table(
        "task_event_log",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("event_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("event_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_event_log")),
        sa.UniqueConstraint("event_id", name=op.f("uq_task_event_log_event_id")),
    )
    op.create_index(
        "ix_task_event_log_event_type_created_at",
        "task_event_log",
        ["event_type", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_task_event_log_task_id_created_at",
        "task_event_log",
        ["task_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "recurring_tasks",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("priority_id", sa.Integer(), nullable=True),
        sa.Column("recurrence_type", sa.String(length=20), nullable=False),
        sa.Column("recurrence_interval", sa.Integer(), server_default="1", nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("last_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", sa.Date(), nullable=False),
        sa.Column("next_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "recurrence_type IN ('daily', 'weekly', 'monthly', 'yearly')",
            name=op.f("ck_recurring_tasks_recurrence_type_known"),
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_recurring_tasks_end_after_start"),
        ),
        sa.CheckConstraint(
            "next_due_at >= start_date",
            name=op.f("ck_recurring_tasks_next_due_after_start"),
        ),
        sa.CheckConstraint("next_index >= 0", name=op.f("ck_recurring_tasks_next_index_nonnegative")),
        sa.CheckConstraint(
            "recurrence_interval BETWEEN 1 AND 52",
            name=op.f("ck_recurring_tasks_interval_range"),
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["priorities.id"],
            name=op.f("fk_recurring_tasks_priority_id_priorities"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recurring_tasks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_tasks")),
    )
    op.create_index(
        "ix_recurring_tasks_due_active",
        "recurring_tasks",
        ["next_due_at"],
        unique=False,
        postgresql_where=sa.text("is_active"),
    )
    op.create_index(
        op.f("ix_recurring_tasks_next_due_at"),
        "recurring_tasks",
        ["next_due_at"],
        unique=False,
    )
    op.create_index(op.f("ix_recurring_tasks_user_id"), "recurring_tasks", ["user_id"], unique=False)
    op.create_index(
        "ix_recurring_tasks_user_id_is_active",
        "recurring_tasks",
        ["user_id", "is_active"],
        unique=False,
    )
    op.create_index(
        "ix_recurring_tasks_user_id_next_due_at",
        "recurring_tasks",
        ["user_id", "next_due_at"],
        unique=False,
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_type", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "revoked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_revoked_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(
        op.f("ix_revoked_tokens_expires_at"),
        "revoked_tokens",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("priority_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "is_recurring",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
        sa.Column("recurrence_pattern", sa.String(length=100), nullable=True),
        sa.Column("notified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("recurring_task_id", sa.UUID(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "completed = (completed_at IS NOT NULL)",
            name=op.f("ck_tasks_completed_has_timestamp"),
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["priorities.id"],
            name=op.f("fk_tasks_priority_id_priorities"),
        ),
        sa.ForeignKeyConstraint(
            ["recurring_task_id"],
            ["recurring_tasks.id"],
            name=op.f("fk_tasks_recurring_task_id_recurring_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_tasks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("recurring_task_id", "due_date", name="uq_tasks_recurring_task_id_due_date"),
    )
    op.create_index(
        "ix_tasks_sweep_open_unnotified",
        "tasks",
        ["due_date"],
        unique=False,
        postgresql_where=sa.text("NOT completed AND NOT notified AND deleted_at IS NULL AND due_date IS NOT NULL"),
    )
    op.create_index("ix_tasks_user_id_created_at", "tasks", ["user_id", "created_at"], unique=False)
    op.create_index("ix_tasks_user_id_due_date", "tasks", ["user_id", "due_date"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=50), server_default="task-due-soon", nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_notifications_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("task_id", "kind", "due_date", name="uq_notifications_task_kind_due"),
    )
    op.create_index(
        "ix_notifications_user_id_created_at",
        "notifications",
        ["user_id", "created_at"],
        unique=False,
    )
    priorities = sa.table(
        "priorities",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("level", sa.Integer),
    )
    op.bulk_insert(
        priorities,
        [
            {"id": 1, "name": "low", "level": 1},
            {"id": 2, "name": "medium", "level": 2},
            {"id": 3, "name": "high", "level": 3},
            {"id": 4, "name": "urgent", "level": 4},
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_user_id_created_at", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_tasks_user_id_due_date", table_name="tasks")
    op.drop_index("ix_tasks_user_id_created_at", table_name="tasks")
    op.drop_index(
        "ix_tasks_sweep_open_unnotified",
        table_name="tasks",
        postgresql_where=sa.text("NOT completed AND NOT notified AND deleted_at IS NULL AND due_date IS NOT NULL"),
    )
    op.drop_table("tasks")
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_index("ix_recurring_tasks_user_id_next_due_at", table_name="recurring_tasks")
    op.drop_index("ix_recurring_tasks_user_id_is_active", table_name="recurring_tasks")
    op.drop_index(op.f("ix_recurring_tasks_user_id"), table_name="recurring_tasks")
    op.drop_index(op.f("ix_recurring_tasks_next_due_at"), table_name="recurring_tasks")
    op.drop_index(
        "ix_recurring_tasks_due_active",
        table_name="recurring_tasks",
        postgresql_where=sa.text("is_active"),
    )
    op.drop_table("recurring_tasks")
    op.drop_table("users")
    op.drop_index("ix_task_event_log_task_id_created_at", table_name="task_event_log")
    op.drop_index("ix_task_event_log_event_type_created_at", table_name="task_event_log")
    op.drop_table("task_event_log")
    op.drop_table("priorities")
    op.drop_index("ix_login_failures_email_attempted_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index(
        "ix_event_outbox_unpublished",
        table_name="event_outbox",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_index(
        "ix_event_outbox_published_at",
        table_name="event_outbox",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.drop_table("event_outbox")
