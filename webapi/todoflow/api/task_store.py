"""Tasks in SQL: every change returns the changed row and writes its event in the same transaction."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import RowMapping, Select, Table, bindparam, case, false, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from todoflow.api import pagination
from todoflow.core.events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_UPDATED
from todoflow.core.models import Priority, Task, TaskEventLog
from todoflow.core.outbox import write_event

tasks = cast(Table, Task.__table__)
priorities = cast(Table, Priority.__table__)
event_log = cast(Table, TaskEventLog.__table__)

# Every column but the seed's legacy recurrence_pattern, which the API never shows.
COLUMNS = tuple(column for column in tasks.c if column.name != "recurrence_pattern")
EVENT_FIELDS = (
    "user_id",
    "title",
    "description",
    "priority_id",
    "due_date",
    "completed",
    "completed_at",
    "is_recurring",
    "recurring_task_id",
    "created_at",
    "updated_at",
)
# Task ids are bigint: a larger number in a URL can only be an unknown task.
MAX_ID = 2**63 - 1

# Built once: a request only binds values (building and cache-keying a statement per request costs more).
INSERT = insert(tasks).returning(*COLUMNS)
OWNED_LIVE = (tasks.c.id == bindparam("task"), tasks.c.user_id == bindparam("owner"), tasks.c.deleted_at.is_(None))
COMPLETE = (
    update(tasks)
    .where(*OWNED_LIVE, tasks.c.completed.is_(False))
    .values(completed=true(), completed_at=func.now(), updated_at=func.now())
    .returning(*COLUMNS)
)
REOPEN = (
    update(tasks)
    .where(*OWNED_LIVE, tasks.c.completed.is_(True))
    .values(completed=false(), completed_at=None, updated_at=func.now())
    .returning(*COLUMNS)
)
GET = select(*COLUMNS).where(*OWNED_LIVE)
DELETE = update(tasks).where(*OWNED_LIVE).values(deleted_at=func.now(), updated_at=func.now()).returning(*COLUMNS)


def event_data(row: RowMapping) -> dict[str, Any]:
    """The task as its events carry it (core/schemas/task-*.json)."""
    data = {"task_id": row["id"], **{name: row[name] for name in EVENT_FIELDS}}
    if row["deleted_at"] is not None:
        data["deleted_at"] = row["deleted_at"]
    return data


def _emit(session: Session, event_type: str, row: RowMapping) -> RowMapping:
    write_event(session, event_type, event_data(row), key=str(row["user_id"]))
    return row


def _owned(user_id: uuid.UUID, task_id: int, *, include_deleted: bool = False) -> list[Any]:
    where = [tasks.c.id == task_id, tasks.c.user_id == user_id]
    if not include_deleted:
        where.append(tasks.c.deleted_at.is_(None))
    return where


def get(session: Session, user_id: uuid.UUID, task_id: int) -> RowMapping | None:
    """The user's live task task_id, or None if there is none."""
    if task_id > MAX_ID:
        return None
    return session.execute(GET, {"task": task_id, "owner": user_id}).mappings().first()


def exists_including_deleted(session: Session, user_id: uuid.UUID, task_id: int) -> bool:
    """Whether the user has or had task task_id (a deleted one counts)."""
    if task_id > MAX_ID:
        return False
    stmt = select(tasks.c.id).where(*_owned(user_id, task_id, include_deleted=True))
    return session.execute(stmt).first() is not None


def create(session: Session, user_id: uuid.UUID, fields: dict[str, Any]) -> RowMapping:
    """Insert the user's new task from fields and emit its created event; the new row."""
    row = session.execute(INSERT, {"user_id": user_id, **fields}).mappings().one()
    return _emit(session, TASK_CREATED, row)


def change(session: Session, user_id: uuid.UUID, task_id: int, fields: dict[str, Any]) -> RowMapping | None:
    """Apply fields; None if the task is not the user's. No change, no event (and updated_at stays)."""
    if task_id > MAX_ID:
        return None
    if not fields:
        return get(session, user_id, task_id)
    values: dict[str, Any] = {**fields, "updated_at": func.now()}
    if "due_date" in fields:
        # A new due date deserves a new reminder.
        values["notified"] = case(
            (tasks.c.due_date.is_distinct_from(fields["due_date"]), false()), else_=tasks.c.notified
        )
    differs = [getattr(tasks.c, name).is_distinct_from(value) for name, value in fields.items()]
    stmt = update(tasks).where(*_owned(user_id, task_id), or_(*differs))
    row = session.execute(stmt.values(values).returning(*COLUMNS)).mappings().first()
    if row is None:
        return get(session, user_id, task_id)
    return _emit(session, TASK_UPDATED, row)


def set_completed(session: Session, user_id: uuid.UUID, task_id: int, completed: bool) -> RowMapping | None:
    """Complete or reopen; a task already in that state is returned unchanged, without an event."""
    if task_id > MAX_ID:
        return None
    params = {"task": task_id, "owner": user_id}
    row = session.execute(COMPLETE if completed else REOPEN, params).mappings().first()
    if row is None:
        return get(session, user_id, task_id)
    _emit(session, TASK_COMPLETED if completed else TASK_UPDATED, row)
    if completed and row["recurring_task_id"] is not None:
        _instance_done(session, row, row["completed_at"])
    return row


def delete(session: Session, user_id: uuid.UUID, task_id: int) -> bool:
    """Soft-delete; False if there was no such live task of the user."""
    if task_id > MAX_ID:
        return False
    row = session.execute(DELETE, {"task": task_id, "owner": user_id}).mappings().first()
    if row is None:
        return False
    _emit(session, TASK_DELETED, row)
    if not row["completed"] and row["recurring_task_id"] is not None:
        # Deleting the open instance of a completion-based series skips it, as if completed now.
        _instance_done(session, row, row["deleted_at"])
    return True


def _instance_done(session: Session, row: RowMapping, at: Any) -> None:
    """Repeat from completion (issue 13): the series module creates the next instance, if this was the open one."""
    from todoflow.api import series  # series creates tasks with this module's columns and events

    series.instance_done(session, row, at)


def detach_from_series(session: Session, user_id: uuid.UUID, recurring_task_id: uuid.UUID) -> int:
    """Unlink a deleted series' live instances (each change with its event); returns how many."""
    stmt = (
        update(tasks)
        .where(
            tasks.c.recurring_task_id == recurring_task_id,
            tasks.c.user_id == user_id,
            tasks.c.deleted_at.is_(None),
        )
        .values(recurring_task_id=None, updated_at=func.now())
        .returning(*COLUMNS)
    )
    rows = session.execute(stmt).mappings().all()
    for row in rows:
        _emit(session, TASK_UPDATED, row)
    return len(rows)


FILTERS = {
    "completed": lambda value: tasks.c.completed == value,
    "priority_id": lambda value: tasks.c.priority_id == value,
    "due_before": lambda value: tasks.c.due_date <= value,
    "due_after": lambda value: tasks.c.due_date >= value,
    "recurring_task_id": lambda value: tasks.c.recurring_task_id == value,
}
PRIORITY_IDS = select(priorities.c.id).order_by(priorities.c.level)


def _by_priority(priority_ids: tuple[int, ...], descending: bool) -> pagination.Order:
    """Priority level order, tasks without a priority last.

    One segment per priority (levels are unique), so each is a range of ix_tasks_user_id_priority_id_id instead
    of a sort of the join.
    """
    ids = tuple(reversed(priority_ids)) if descending else priority_ids
    segments = [pagination.equal_to(tasks.c.priority_id, pid, tasks.c.id) for pid in (*ids, None)]
    # Offset pages sort by the priority's rank among the levels (a CASE: no per-row subquery, no join).
    rank = case({pid: position for position, pid in enumerate(priority_ids)}, value=tasks.c.priority_id)
    level = pagination.direct(rank, descending).nulls_last()
    return pagination.Order(tuple(segments), descending, (level, pagination.direct(tasks.c.id, descending)))


@lru_cache(maxsize=256)
def _list_shape(
    filters: frozenset[str], sort_by: str, descending: bool, priority_ids: tuple[int, ...]
) -> tuple[Select[Any], pagination.Order]:
    """(base statement, order) for one shape of query, built once: requests only bind values."""
    where = [tasks.c.user_id == bindparam("user_id"), tasks.c.deleted_at.is_(None)]
    where += [FILTERS[name](bindparam(name)) for name in sorted(filters)]
    base = select(*COLUMNS).where(*where)
    if sort_by == "priority":
        return base, _by_priority(priority_ids, descending)
    if sort_by == "due_date":
        return base, pagination.nulls_last(tasks.c.due_date, tasks.c.id, descending)
    return base, pagination.by_keys((tasks.c.created_at, tasks.c.id), descending)


def list_query(
    user_id: uuid.UUID, query: dict[str, Any], priority_ids: tuple[int, ...] = ()
) -> tuple[Select[Any], pagination.Order, dict[str, Any]]:
    """The base statement of the user's live tasks matching query's filters, its order, and their parameters.

    The priority sort needs the priority ids by level.
    """
    filters = frozenset(name for name in FILTERS if name in query)
    base, order = _list_shape(filters, query["sort_by"], query["sort_order"] == "desc", priority_ids)
    params = {name: query[name] for name in filters}
    params["user_id"] = user_id
    return base, order, params


def page(session: Session, user_id: uuid.UUID, query: dict[str, Any]) -> dict[str, Any]:
    """One page of the user's live tasks (see pagination.paginate)."""
    priority_ids = tuple(session.execute(PRIORITY_IDS).scalars()) if query["sort_by"] == "priority" else ()
    base, order, params = list_query(user_id, query, priority_ids)
    filters = {name: params[name] for name in FILTERS if name in params}
    bound = pagination.fingerprint("tasks", user_id, query["sort_by"], query["sort_order"], filters)
    return pagination.paginate(session, base, order, query, bound, params)


EVENTS = select(
    event_log.c.event_id,
    event_log.c.event_type,
    event_log.c.event_timestamp,
    event_log.c.event_data.label("data"),
    event_log.c.created_at,
    event_log.c.id,
).where(event_log.c.task_id == bindparam("task_id"), event_log.c.user_id == bindparam("user_id"))
EVENT_ORDER = pagination.by_keys((event_log.c.event_timestamp, event_log.c.created_at, event_log.c.id), False)


def events(session: Session, user_id: uuid.UUID, task_id: int, query: dict[str, Any]) -> dict[str, Any]:
    """The user's task's history from task_event_log, oldest first (another owner's events never show)."""
    bound = pagination.fingerprint("task-events", user_id, task_id)
    return pagination.paginate(session, EVENTS, EVENT_ORDER, query, bound, {"task_id": task_id, "user_id": user_id})
