"""Recurring tasks: the seed plan's seven endpoints."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint

from todoflow.api import quotas, recurring_store, series
from todoflow.api.domain_errors import NotFound, found
from todoflow.api.extensions import db
from todoflow.api.resources import deleted, endpoint
from todoflow.api.schemas.recurring import (
    OccurrencesOut,
    OccurrencesQuery,
    RecurringQuery,
    RecurringTaskIn,
    RecurringTaskOut,
    RecurringTaskPage,
    RecurringTaskUpdate,
)
from todoflow.api.tokens import current_user_id

bp = APIBlueprint("recurring_tasks", __name__, url_prefix="/api/recurring-tasks", tag="Recurring tasks")


@endpoint(
    bp,
    "POST",
    "",
    "Create a recurring task",
    description="The first occurrence is due on start_date, or, for a start_date in the past, on the first occurrence "
    "on or after today in your time zone: no occurrence before the day of creation is ever created.",
    errors={409: "Over the active-series quota (quota_exceeded)", 429: "Over the write rate (see Retry-After)"},
    out=RecurringTaskOut,
    status_code=201,
    write=True,
    body=RecurringTaskIn,
    operation_id="createRecurringTask",
)
def create_recurring_task(data: dict[str, Any]) -> Any:
    """Create a series for the current user, within the active-series quota."""
    owner = current_user_id()
    quotas.ensure_room(db.session, owner, "active_series")
    row = recurring_store.create(db.session, owner, data)
    db.session.commit()
    return series.present(row)


@endpoint(
    bp,
    "GET",
    "",
    "List recurring tasks",
    out=RecurringTaskPage,
    query=RecurringQuery,
    operation_id="listRecurringTasks",
)
def list_recurring_tasks(query: dict[str, Any]) -> Any:
    """Answer one page of the current user's series."""
    return series.present_page(recurring_store.page(db.session, current_user_id(), query))


@endpoint(bp, "GET", "/<uuid:rid>", "Get a recurring task", out=RecurringTaskOut, operation_id="getRecurringTask")
def get_recurring_task(rid: uuid.UUID) -> Any:
    """Answer one of the current user's series."""
    return series.present(found(recurring_store.get(db.session, current_user_id(), rid), "recurring task"))


@endpoint(
    bp,
    "PUT",
    "/<uuid:rid>",
    "Update a recurring task",
    description="Only title, description, priority_id and end_date change; an end_date before next_due_at "
    "ends the series (is_active becomes false).",
    out=RecurringTaskOut,
    write=True,
    body=RecurringTaskUpdate,
    operation_id="updateRecurringTask",
)
def update_recurring_task(rid: uuid.UUID, data: dict[str, Any]) -> Any:
    """Change a series' title, description, priority or end date."""
    row = series.present(found(recurring_store.change(db.session, current_user_id(), rid, data), "recurring task"))
    db.session.commit()
    return row


@endpoint(
    bp,
    "DELETE",
    "/<uuid:rid>",
    "Delete a recurring task",
    description="Tasks it generated stay, unlinked from the series.",
    status_code=204,
    write=True,
    operation_id="deleteRecurringTask",
)
def delete_recurring_task(rid: uuid.UUID) -> Any:
    """Delete a series, keeping the tasks it generated."""
    return deleted(recurring_store.remove(db.session, current_user_id(), rid), "recurring task")


@endpoint(
    bp,
    "POST",
    "/<uuid:rid>/pause",
    "Pause a recurring task (no new occurrences)",
    out=RecurringTaskOut,
    write=True,
    operation_id="pauseRecurringTask",
)
def pause_recurring_task(rid: uuid.UUID) -> Any:
    """Stop a series from creating occurrences."""
    row = series.present(found(recurring_store.pause(db.session, current_user_id(), rid), "recurring task"))
    db.session.commit()
    return row


@endpoint(
    bp,
    "POST",
    "/<uuid:rid>/resume",
    "Resume a paused recurring task",
    description="next_due_at moves to the first occurrence on or after today in your time zone; "
    "occurrences missed while paused are not created.",
    errors={409: "The series has ended (series_ended), or over the active-series quota (quota_exceeded)"},
    out=RecurringTaskOut,
    write=True,
    operation_id="resumeRecurringTask",
)
def resume_recurring_task(rid: uuid.UUID) -> Any:
    """Reactivate a paused series, within the active-series quota."""
    owner = current_user_id()
    current = recurring_store.get(db.session, owner, rid)
    if current is not None and not current["is_active"]:
        quotas.ensure_room(db.session, owner, "active_series")
    row = series.present(found(recurring_store.resume(db.session, owner, rid), "recurring task"))
    db.session.commit()
    return row


@endpoint(
    bp,
    "GET",
    "/<uuid:rid>/occurrences",
    "Preview upcoming due dates",
    description="Due dates on or after `from` (default today in your time zone), at most `limit` (1-366, "
    "default 10), respecting COUNT, UNTIL and end_date; creates nothing. A completion-based series shows the "
    "dates it gets if each instance is completed on its due date.",
    out=OccurrencesOut,
    query=OccurrencesQuery,
    operation_id="previewOccurrences",
)
def preview_occurrences(rid: uuid.UUID, query: dict[str, Any]) -> Any:
    """Answer a series' upcoming due dates, creating nothing."""
    row = recurring_store.get_with_timezone(db.session, current_user_id(), rid)
    if row is None:
        raise NotFound("no such recurring task")
    day = query.get("from_") or series.local_today(row["timezone"])
    return {"recurring_task_id": rid, "from_": day, "occurrences": series.preview(row, day, query["limit"])}
