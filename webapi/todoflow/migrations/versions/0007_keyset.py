"""Indexes for keyset (cursor) pages (issue 14)

Revision ID: 0007_keyset
Revises: 0006_rrule
Create Date: 2026-11-30

A cursor page reads one range of an index that starts with the owner, then the sort key, then the id that
breaks ties: (user_id, created_at, id) and (user_id, due_date, id) replace the indexes without the id (they
serve every query those served), (user_id, priority_id, id) serves the priority sort (one range per
priority); the inbox's and the deliveries' (owner, created_at) indexes get the id too.
"""

from __future__ import annotations

from alembic import op

revision = "0007_keyset"
down_revision = "0006_rrule"
branch_labels = None
depends_on = None

# (table, old index, old columns, new index, new columns); old is None where the index is new.
CHANGES: tuple[tuple[str, str | None, list[str], str, list[str]], ...] = (
    (
        "tasks",
        "ix_tasks_user_id_created_at",
        ["user_id", "created_at"],
        "ix_tasks_user_id_created_at_id",
        ["user_id", "created_at", "id"],
    ),
    (
        "tasks",
        "ix_tasks_user_id_due_date",
        ["user_id", "due_date"],
        "ix_tasks_user_id_due_date_id",
        ["user_id", "due_date", "id"],
    ),
    ("tasks", None, [], "ix_tasks_user_id_priority_id_id", ["user_id", "priority_id", "id"]),
    (
        "notifications",
        "ix_notifications_user_id_created_at",
        ["user_id", "created_at"],
        "ix_notifications_user_id_created_at_id",
        ["user_id", "created_at", "id"],
    ),
    (
        "deliveries",
        "ix_deliveries_webhook_id_created_at",
        ["webhook_id", "created_at"],
        "ix_deliveries_webhook_id_created_at_id",
        ["webhook_id", "created_at", "id"],
    ),
)


def upgrade() -> None:
    for table, old, _old_columns, new, new_columns in CHANGES:
        op.create_index(new, table, new_columns)
        if old is not None:
            op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, old_columns, new, _new_columns in reversed(CHANGES):
        if old is not None:
            op.create_index(old, table, old_columns)
        op.drop_index(new, table_name=table)
