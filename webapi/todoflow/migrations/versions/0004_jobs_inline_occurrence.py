"""inline occurrence function

Revision ID: 0004_jobs
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

revision = "0004_jobs"
down_revision = "0003_quality"
branch_labels = None
depends_on = None

# The body stays 0002's; only the null-input behaviour changes.
SIGNATURE = "todoflow_occurrence(date, text, integer, integer)"


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {SIGNATURE} CALLED ON NULL INPUT")


def downgrade() -> None:
    op.execute(f"ALTER FUNCTION {SIGNATURE} STRICT")
