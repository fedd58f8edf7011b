"""Recurring tasks: the seed plan's seven endpoints."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required
from marshmallow import RAISE

from todoflow.api import quotas, recurring_store, series, write_limit
from todoflow.api.domain_errors import NotFound, found
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation
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


@bp.post("")
@operation(
    bp,
    "Create a recurring task",
    body=True,
    description="The first occurrence is due on start_date, or, for a start_date in the past, on the first occurrence "
    "on or after today in your time zone: no occurrence before the day of creation is ever created.",
    errors={409: "Over the active-series quota (quota_exceeded)", 429: "Over the write rate (see Retry-After)"},
)
@jwt_required()
@write_limit.limited
@bp.input(RecurringTaskIn, arg_name="data")
@output(bp, RecurringTaskOut, status_code=201)
def create_recurring_task(data: dict[str, Any]) -> Any:
    owner = current_user_id()
    quotas.ensure_room(db.session, owner, "active_series")
    row = recurring_store.create(db.session, owner, data)
    db.session.commit()
    return series.present(row)


@bp.get("")
@operation(bp, "List recurring tasks")
@jwt_required()
@bp.input(RecurringQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, RecurringTaskPage)
def list_recurring_tasks(query: dict[str, Any]) -> Any:
    return series.present_page(recurring_store.page(db.session, current_user_id(), query))


@bp.get("/<uuid:rid>")
@operation(bp, "Get a recurring task")
@jwt_required()
@output(bp, RecurringTaskOut)
def get_recurring_task(rid: uuid.UUID) -> Any:
    return series.present(found(recurring_store.get(db.session, current_user_id(), rid), "recurring task"))


@bp.put("/<uuid:rid>")
@operation(
    bp,
    "Update a recurring task",
    body=True,
    description="Only title, description, priority_id and end_date change; an end_date before next_due_at "
    "ends the series (is_active becomes false).",
)
@jwt_required()
@write_limit.limited
@bp.input(RecurringTaskUpdate, arg_name="data")
@output(bp, RecurringTaskOut)
def update_recurring_task(rid: uuid.UUID, data: dict[str, Any]) -> Any:
    row = series.present(found(recurring_store.change(db.session, current_user_id(), rid, data), "recurring task"))
    db.session.commit()
    return row


@bp.delete("/<uuid:rid>")
@operation(bp, "Delete a recurring task", description="Tasks it generated stay, unlinked from the series.")
@jwt_required()
@write_limit.limited
@bp.output({}, status_code=204)
def delete_recurring_task(rid: uuid.UUID) -> Any:
    if not recurring_store.remove(db.session, current_user_id(), rid):
        raise NotFound("no such recurring task")
    db.session.commit()
    return ""


@bp.post("/<uuid:rid>/pause")
@operation(bp, "Pause a recurring task (no new occurrences)")
@jwt_required()
@write_limit.limited
@output(bp, RecurringTaskOut)
def pause_recurring_task(rid: uuid.UUID) -> Any:
    row = series.present(found(recurring_store.pause(db.session, current_user_id(), rid), "recurring task"))
    db.session.commit()
    return row


@bp.post("/<uuid:rid>/resume")
@operation(
    bp,
    "Resume a paused recurring task",
    description="next_due_at moves to the first occurrence on or after today in your time zone; "
    "occurrences missed while paused are not created.",
    errors={409: "The series has ended (series_ended), or over the active-series quota (quota_exceeded)"},
)
@jwt_required()
@write_limit.limited
@output(bp, RecurringTaskOut)
def resume_recurring_task(rid: uuid.UUID) -> Any:
    owner = current_user_id()
    current = recurring_store.get(db.session, owner, rid)
    if current is not None and not current["is_active"]:
        quotas.ensure_room(db.session, owner, "active_series")
    row = series.present(found(recurring_store.resume(db.session, owner, rid), "recurring task"))
    db.session.commit()
    return row


@bp.get("/<uuid:rid>/occurrences")
@operation(
    bp,
    "Preview upcoming due dates",
    description="Due dates on or after `from` (default today in your time zone), at most `limit` (1-366, "
    "default 10), respecting COUNT, UNTIL and end_date; creates nothing. A completion-based series shows the "
    "dates it gets if each instance is completed on its due date.",
)
@jwt_required()
@bp.input(OccurrencesQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, OccurrencesOut)
def preview_occurrences(rid: uuid.UUID, query: dict[str, Any]) -> Any:
    row = recurring_store.get_with_timezone(db.session, current_user_id(), rid)
    if row is None:
        raise NotFound("no such recurring task")
    day = query.get("from_") or series.local_today(row["timezone"])
    return {"recurring_task_id": rid, "from_": day, "occurrences": series.preview(row, day, query["limit"])}
