"""Indexes for keyset (cursor) pages (issue 14)

Revision ID: 0008_keyset
Revises: 0007_rrule
Create Date: 2026-11-30

A cursor page reads one range of an index that starts with the owner, then the sort key, then the id that
breaks ties: (user_id, created_at, id) and (user_id, due_date, id) replace the indexes without the id (they
serve every query those served), (user_id, priority_id, id) serves the priority sort (one range per
priority); the inbox's and the deliveries' (owner, created_at) indexes get the id too.
"""

from __future__ import annotations

from alembic import op

revision = "0008_keyset"
down_revision = "0007_rrule"
branch_labels = None
depends_on = None

# Indexes that get the id as their last column: (table, columns); names follow the ix_<table>_<columns> convention.
EXTENDED = (
    ("tasks", ("user_id", "created_at")),
    ("tasks", ("user_id", "due_date")),
    ("notifications", ("user_id", "created_at")),
    ("deliveries", ("webhook_id", "created_at")),
)
PRIORITY = ("ix_tasks_user_id_priority_id_id", "tasks", ["user_id", "priority_id", "id"])


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, columns in EXTENDED:
        op.create_index(_name(table, (*columns, "id")), table, [*columns, "id"])
        op.drop_index(_name(table, columns), table_name=table)
    op.create_index(*PRIORITY)


def downgrade() -> None:
    op.drop_index(PRIORITY[0], table_name=PRIORITY[1])
    for table, columns in reversed(EXTENDED):
        op.create_index(_name(table, columns), table, list(columns))
        op.drop_index(_name(table, (*columns, "id")), table_name=table)
