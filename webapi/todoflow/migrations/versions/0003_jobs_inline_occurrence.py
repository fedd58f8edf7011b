"""inline occurrence function

Revision ID: 0003_jobs
Revises: 0003_quality
Create Date: 2026-11-29

todoflow_occurrence() without STRICT: PostgreSQL inlines a SQL function into the calling query only when
it is not STRICT (or its body is provably strict, which a CASE is not), and a call that is not inlined
costs about 3.5 us against 0.1 us inlined here, which is most of the set-based expansion's date
arithmetic over a million occurrences and of the data-quality check that recomputes every occurrence.
The results are the same: any NULL argument still gives NULL (CASE matches nothing, date arithmetic and
make_interval propagate NULL).
"""

from __future__ import annotations

from alembic import op

from todoflow.core.recurrence import OCCURRENCE_SQL_FUNCTION

revision = "0003_jobs"
down_revision = "0003_quality"
branch_labels = None
depends_on = None

INLINABLE_OCCURRENCE_FUNCTION = """
CREATE OR REPLACE FUNCTION todoflow_occurrence(anchor date, recurrence_type text, step integer, n integer)
RETURNS date LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE AS $$
    SELECT CASE recurrence_type
        WHEN 'daily' THEN anchor + n * step
        WHEN 'weekly' THEN anchor + 7 * n * step
        WHEN 'monthly' THEN (anchor + make_interval(months => n * step))::date
        WHEN 'yearly' THEN (anchor + make_interval(years => n * step))::date
    END
$$
"""


def upgrade() -> None:
    op.execute(INLINABLE_OCCURRENCE_FUNCTION)


def downgrade() -> None:
    op.execute(OCCURRENCE_SQL_FUNCTION)
