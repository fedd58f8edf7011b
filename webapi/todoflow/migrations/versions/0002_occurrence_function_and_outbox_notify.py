"""occurrence function and outbox notify

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

The SQL twin of the recurrence math (used by the set-based expansion and the data-quality checks),
a NOTIFY on outbox inserts so the relay wakes within milliseconds of a commit, and the
consumed_events table through which consumers drop duplicate deliveries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The SQL twin of core/recurrence.occurrence, as this revision created it (0004_jobs drops STRICT).
OCCURRENCE_SQL_FUNCTION = """
CREATE OR REPLACE FUNCTION todoflow_occurrence(anchor date, recurrence_type text, step integer, n integer)
RETURNS date LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE recurrence_type
        WHEN 'daily' THEN anchor + n * step
        WHEN 'weekly' THEN anchor + 7 * n * step
        WHEN 'monthly' THEN (anchor + make_interval(months => n * step))::date
        WHEN 'yearly' THEN (anchor + make_interval(years => n * step))::date
    END
$$
"""


def upgrade() -> None:
    op.create_table(
        "consumed_events",
        sa.Column("consumer_group", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer_group", "event_id", name=op.f("pk_consumed_events")),
    )
    op.create_index("ix_consumed_events_consumed_at", "consumed_events", ["consumed_at"], unique=False)
    op.execute(OCCURRENCE_SQL_FUNCTION)
    op.execute(
        """
        CREATE FUNCTION todoflow_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('event_outbox', '');
            RETURN NULL;
        END
        $$
        """
    )
    # Once per statement: a 100,000-row INSERT ... SELECT sends one hint, not 100,000.
    op.execute(
        """
        CREATE TRIGGER event_outbox_notify AFTER INSERT ON event_outbox
        FOR EACH STATEMENT EXECUTE FUNCTION todoflow_outbox_notify()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER event_outbox_notify ON event_outbox")
    op.execute("DROP FUNCTION todoflow_outbox_notify()")
    op.execute("DROP FUNCTION todoflow_occurrence(date, text, integer, integer)")
    op.drop_index("ix_consumed_events_consumed_at", table_name="consumed_events")
    op.drop_table("consumed_events")
