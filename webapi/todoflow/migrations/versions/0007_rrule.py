"""RFC 5545 recurrence rules and repeat-from-completion (issue 13)

Revision ID: 0007_rrule
Revises: 0006_api
Create Date: 2026-11-30

recurring_tasks.rrule holds a normalised RRULE for rule-based series (NULL for the seed's four types);
recurring_tasks.repeat_from says whether the next instance counts from the due date (the seed's behaviour)
or from the completion of the open one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_rrule"
down_revision = "0006_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recurring_tasks", sa.Column("rrule", sa.Text(), nullable=True))
    op.add_column(
        "recurring_tasks", sa.Column("repeat_from", sa.String(length=10), nullable=False, server_default="due")
    )
    op.create_check_constraint(
        op.f("ck_recurring_tasks_repeat_from_known"), "recurring_tasks", "repeat_from IN ('due', 'completion')"
    )
    op.create_check_constraint(
        op.f("ck_recurring_tasks_rrule_length"), "recurring_tasks", "rrule IS NULL OR length(rrule) <= 500"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_recurring_tasks_rrule_length"), "recurring_tasks", type_="check")
    op.drop_constraint(op.f("ck_recurring_tasks_repeat_from_known"), "recurring_tasks", type_="check")
    op.drop_column("recurring_tasks", "repeat_from")
    op.drop_column("recurring_tasks", "rrule")
