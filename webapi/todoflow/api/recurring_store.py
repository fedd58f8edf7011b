"""Recurring tasks in SQL; resume computes the next occurrence with core.recurrence."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping, Table, bindparam, case, delete, false, func, insert, select, true, update
from sqlalchemy.orm import Session

from todoflow.api import pagination, series, task_store
from todoflow.api.domain_errors import Conflict
from todoflow.core.models import RecurringTask, User
from todoflow.core.recurrence import first_index_on_or_after, occurrence

recurring = cast(Table, RecurringTask.__table__)
users = cast(Table, User.__table__)

COLUMNS = tuple(recurring.c)


def _owned(user_id: uuid.UUID, rid: uuid.UUID) -> tuple[Any, Any]:
    return recurring.c.id == rid, recurring.c.user_id == user_id


def get(session: Session, user_id: uuid.UUID, rid: uuid.UUID) -> RowMapping | None:
    """The user's series with this id, or None."""
    return session.execute(select(*COLUMNS).where(*_owned(user_id, rid))).mappings().first()


def get_with_timezone(session: Session, user_id: uuid.UUID, rid: uuid.UUID) -> RowMapping | None:
    """The user's series with this id and its owner's time zone, or None."""
    stmt = select(*COLUMNS, users.c.timezone).join(users, users.c.id == recurring.c.user_id)
    return session.execute(stmt.where(*_owned(user_id, rid))).mappings().first()


def create(session: Session, user_id: uuid.UUID, fields: dict[str, Any]) -> RowMapping:
    """First due on the first occurrence on or after today in the owner's time zone (the creation policy).

    start_date stays the anchor of the pattern (occurrence 0), as on resume: a series started in the past
    never gets occurrences before the day it was created. One whose end_date is already behind it is
    created inactive.
    """
    if fields.get("rrule") is not None:
        # Rule-based (issue 13): first due on its first occurrence on or after its creation day.
        stmt = insert(recurring).values(user_id=user_id, **series.rule_fields(session, user_id, fields))
        return session.execute(stmt.returning(*COLUMNS)).mappings().one()
    zone = session.execute(select(users.c.timezone).where(users.c.id == user_id)).scalar_one()
    rule = (fields["start_date"], fields["recurrence_type"], fields["recurrence_interval"])
    index = first_index_on_or_after(*rule, datetime.now(ZoneInfo(zone)).date())
    due = occurrence(*rule, index)
    active = fields.get("end_date") is None or due <= fields["end_date"]
    stmt = (
        insert(recurring)
        .values(user_id=user_id, next_due_at=due, next_index=index, is_active=active, **fields)
        .returning(*COLUMNS)
    )
    return session.execute(stmt).mappings().one()


def change(session: Session, user_id: uuid.UUID, rid: uuid.UUID, fields: dict[str, Any]) -> RowMapping | None:
    """Change title, description, priority or end date; an end date before next_due_at ends the series."""
    if not fields:
        return get(session, user_id, rid)
    values: dict[str, Any] = {**fields, "updated_at": func.now()}
    end_date = fields.get("end_date")
    if end_date is not None:
        values["is_active"] = case((recurring.c.next_due_at > end_date, false()), else_=recurring.c.is_active)
    stmt = update(recurring).where(*_owned(user_id, rid)).values(values).returning(*COLUMNS)
    return session.execute(stmt).mappings().first()


def pause(session: Session, user_id: uuid.UUID, rid: uuid.UUID) -> RowMapping | None:
    """Deactivate the user's series (a paused one stays as it is); None if it is not the user's."""
    stmt = (
        update(recurring)
        .where(*_owned(user_id, rid), recurring.c.is_active)
        .values(is_active=false(), updated_at=func.now())
        .returning(*COLUMNS)
    )
    return session.execute(stmt).mappings().first() or get(session, user_id, rid)


def resume(session: Session, user_id: uuid.UUID, rid: uuid.UUID) -> RowMapping | None:
    """Reactivate at the first occurrence on or after today in the owner's time zone (never moving back).

    Occurrences that fell due while paused are skipped, not created.
    """
    stmt = (
        select(*COLUMNS, users.c.timezone)
        .join(users, users.c.id == recurring.c.user_id)
        .where(*_owned(user_id, rid))
        .with_for_update(of=recurring)
    )
    row = session.execute(stmt).mappings().first()
    if row is None or row["is_active"]:
        return row
    if row["repeat_from"] == "completion" or row["rrule"] is not None:  # issue 13
        moved = series.resume_completion(row) if row["repeat_from"] == "completion" else series.resume_rule(row)
        resumed = (
            update(recurring).where(recurring.c.id == rid).values(is_active=true(), updated_at=func.now(), **moved)
        )
        return session.execute(resumed.returning(*COLUMNS)).mappings().one()
    today = datetime.now(ZoneInfo(row["timezone"])).date()
    rule = (row["start_date"], row["recurrence_type"], row["recurrence_interval"])
    index = max(row["next_index"], first_index_on_or_after(*rule, today))
    due = occurrence(*rule, index)
    if row["end_date"] is not None and due > row["end_date"]:
        raise Conflict(f"the series ended on {row['end_date']}: no occurrence is left to resume", code="series_ended")
    resumed = (
        update(recurring)
        .where(recurring.c.id == rid)
        .values(is_active=true(), next_index=index, next_due_at=due, updated_at=func.now())
        .returning(*COLUMNS)
    )
    return session.execute(resumed).mappings().one()


def remove(session: Session, user_id: uuid.UUID, rid: uuid.UUID) -> bool:
    """Delete the series; its generated tasks stay, unlinked (each with a task-updated event)."""
    owned = select(recurring.c.id).where(*_owned(user_id, rid)).with_for_update()
    if session.execute(owned).first() is None:
        return False
    task_store.detach_from_series(session, user_id, rid)
    session.execute(delete(recurring).where(recurring.c.id == rid))
    return True


ORDERS = {
    (sort_by, descending): pagination.by_keys((column, recurring.c.id), descending)
    for sort_by, column in (("next_due_at", recurring.c.next_due_at), ("created_at", recurring.c.created_at))
    for descending in (False, True)
}
LIST = select(*COLUMNS).where(recurring.c.user_id == bindparam("user_id"))
LIST_BY_STATE = LIST.where(recurring.c.is_active == bindparam("is_active"))


def page(session: Session, user_id: uuid.UUID, query: dict[str, Any]) -> dict[str, Any]:
    """One page of the user's series (see pagination.paginate)."""
    order = ORDERS[query["sort_by"], query["sort_order"] == "desc"]
    params = {"user_id": user_id, "is_active": query.get("is_active")}
    bound = pagination.fingerprint("recurring", user_id, query["sort_by"], query["sort_order"], params["is_active"])
    base = LIST if params["is_active"] is None else LIST_BY_STATE
    return pagination.paginate(session, base, order, query, bound, params)
