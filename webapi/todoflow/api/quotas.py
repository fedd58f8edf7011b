"""Per-user quotas: open tasks (QUOTA_OPEN_TASKS) and active recurring series (QUOTA_ACTIVE_SERIES).

A change that would go over a quota answers 409 quota_exceeded with {"quota", "limit"} in details. The
check and the change run in one transaction under a per-user advisory lock, so concurrent creates cannot
all pass the count before any is inserted. Counting stops at the limit (LIMIT inside), so it costs at
most `limit` index entries.
"""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import text
from sqlalchemy.orm import Session

from todoflow.api import errors

LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('quota:' || :kind || ':' || :user_id, 0))")
COUNTS = {
    "open_tasks": text(
        """SELECT count(*) FROM (SELECT 1 FROM tasks WHERE user_id = :user_id AND NOT completed
           AND deleted_at IS NULL LIMIT :limit) AS open_tasks"""
    ),
    "active_series": text(
        """SELECT count(*) FROM (SELECT 1 FROM recurring_tasks WHERE user_id = :user_id AND is_active
           LIMIT :limit) AS active_series"""
    ),
}
SETTINGS = {"open_tasks": "QUOTA_OPEN_TASKS", "active_series": "QUOTA_ACTIVE_SERIES"}
WHAT = {"open_tasks": "open tasks", "active_series": "active recurring tasks"}


def ensure_room(session: Session, user_id: uuid.UUID, kind: str) -> None:
    """Raise 409 quota_exceeded unless the user has room for one more of kind (locks until commit)."""
    limit = int(current_app.config[SETTINGS[kind]])
    session.execute(LOCK, {"kind": kind, "user_id": str(user_id)})
    if session.execute(COUNTS[kind], {"user_id": user_id, "limit": limit}).scalar_one() >= limit:
        raise errors.api_error(
            409,
            "quota_exceeded",
            f"you have {limit} {WHAT[kind]}, the most allowed: complete, delete or pause some first",
            {"quota": kind, "limit": limit},
        )
