"""Per-user quotas: open tasks (QUOTA_OPEN_TASKS) and active recurring series (QUOTA_ACTIVE_SERIES).

A change that would go over a quota answers 409 quota_exceeded with {"quota", "limit"} in details. The
check and the change run in one transaction under a per-user advisory lock, so concurrent creates cannot
all pass the count before any is inserted. Counting stops at the limit (LIMIT inside), so it costs at
most `limit` index entries.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from flask import current_app
from sqlalchemy import Select, Table, bindparam, func, literal, select
from sqlalchemy.orm import Session

from todoflow.api.domain_errors import Conflict
from todoflow.core.models import RecurringTask, Task

tasks, series = cast(Table, Task.__table__), cast(Table, RecurringTask.__table__)

# The per-user lock the check and the change share until commit.
LOCK = select(
    func.pg_advisory_xact_lock(
        func.hashtextextended(literal("quota:") + bindparam("kind") + ":" + bindparam("user_id"), 0)
    )
)


def _capped_count(table: Table, *where: Any) -> Select[Any]:
    """The number of the user's rows matching where, counted no further than :limit."""
    rows = select(literal(1)).select_from(table).where(table.c.user_id == bindparam("user_id"), *where)
    return select(func.count()).select_from(rows.limit(bindparam("limit")).subquery())


COUNTS = {
    "open_tasks": _capped_count(tasks, ~tasks.c.completed, tasks.c.deleted_at.is_(None)),
    "active_series": _capped_count(series, series.c.is_active),
}
SETTINGS = {"open_tasks": "QUOTA_OPEN_TASKS", "active_series": "QUOTA_ACTIVE_SERIES"}
WHAT = {"open_tasks": "open tasks", "active_series": "active recurring tasks"}


def ensure_room(session: Session, user_id: uuid.UUID, kind: str) -> None:
    """Raise Conflict quota_exceeded unless the user has room for one more of kind (locks until commit)."""
    limit = int(current_app.config[SETTINGS[kind]])
    session.execute(LOCK, {"kind": kind, "user_id": str(user_id)})
    if session.execute(COUNTS[kind], {"user_id": user_id, "limit": limit}).scalar_one() >= limit:
        raise Conflict(
            f"you have {limit} {WHAT[kind]}, the most allowed: complete, delete or pause some first",
            {"quota": kind, "limit": limit},
            code="quota_exceeded",
        )
