"""The in-app inbox in SQL: the due-date sweep fills it, its owner pages through it and marks items read."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import RowMapping, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from todoflow.api import pagination
from todoflow.core.models import Notification

notifications = cast(Table, Notification.__table__)

COLUMNS = tuple(column for column in notifications.c if column.name != "user_id")
LIST = select(*COLUMNS).where(notifications.c.user_id == bindparam("user_id"))
# By the unread filter: absent, true (only unread), false (only read); built once (pagination caches by statement).
LISTS = {
    None: LIST,
    True: LIST.where(notifications.c.read_at.is_(None)),
    False: LIST.where(notifications.c.read_at.is_not(None)),
}
NEWEST_FIRST = pagination.by_keys((notifications.c.created_at, notifications.c.id), True)


def page(session: Session, user_id: uuid.UUID, query: dict[str, Any]) -> dict[str, Any]:
    """One page of the user's notifications, newest first; query["unread"] (optional) filters by read state."""
    unread = query.get("unread")
    base = LISTS[unread]
    bound = pagination.fingerprint("notifications", user_id, unread)
    return pagination.paginate(session, base, NEWEST_FIRST, query, bound, {"user_id": user_id})


def mark_read(session: Session, user_id: uuid.UUID, nid: uuid.UUID) -> RowMapping | None:
    """Mark the user's notification read (the first read time stays); None if it is not theirs."""
    stmt = (
        update(notifications)
        .where(notifications.c.id == nid, notifications.c.user_id == user_id)
        .values(read_at=func.coalesce(notifications.c.read_at, func.now()))
        .returning(*COLUMNS)
    )
    return session.execute(stmt).mappings().first()
