"""quality results

Revision ID: 0003_quality
Revises: 0002
Create Date: 2026-11-29

Where the schedule data-quality suite keeps each check's outcome for operators to read later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_quality"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_results",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("check_name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("unexpected_count", sa.BigInteger(), nullable=False),
        sa.Column("sample", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_results")),
    )
    op.create_index("ix_quality_results_run_id", "quality_results", ["run_id"], unique=False)
    op.create_index(
        "ix_quality_results_check_name_checked_at", "quality_results", ["check_name", "checked_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_quality_results_check_name_checked_at", table_name="quality_results")
    op.drop_index("ix_quality_results_run_id", table_name="quality_results")
    op.drop_table("quality_results")
