"""Tasks: CRUD, complete/reopen, and their history."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required
from marshmallow import RAISE

from todoflow.api import quotas, task_store, write_limit
from todoflow.api.domain_errors import NotFound, found
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation
from todoflow.api.schemas.tasks import EventQuery, TaskEventPage, TaskIn, TaskOut, TaskPage, TaskPatch, TaskQuery
from todoflow.api.tokens import current_user_id

QUOTA_ERRORS = {409: "Over the open-tasks quota (quota_exceeded)", 429: "Over the write rate (see Retry-After)"}

bp = APIBlueprint("tasks", __name__, url_prefix="/api/tasks", tag="Tasks")


@bp.post("")
@operation(bp, "Create a task", body=True, errors=QUOTA_ERRORS)
@jwt_required()
@write_limit.limited
@bp.input(TaskIn, arg_name="data")
@output(bp, TaskOut, status_code=201)
def create_task(data: dict[str, Any]) -> Any:
    owner = current_user_id()
    quotas.ensure_room(db.session, owner, "open_tasks")
    row = task_store.create(db.session, owner, data)
    db.session.commit()
    return row


@bp.get("")
@operation(bp, "List tasks (filtered, sorted, one page)")
@jwt_required()
@bp.input(TaskQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, TaskPage)
def list_tasks(query: dict[str, Any]) -> Any:
    return task_store.page(db.session, current_user_id(), query)


@bp.get("/<int:task_id>")
@operation(bp, "Get a task")
@jwt_required()
@output(bp, TaskOut)
def get_task(task_id: int) -> Any:
    return found(task_store.get(db.session, current_user_id(), task_id), "task")


@bp.patch("/<int:task_id>")
@operation(bp, "Change some fields of a task", body=True, description="Changing due_date re-arms its reminder.")
@jwt_required()
@write_limit.limited
@bp.input(TaskPatch, arg_name="data")
@output(bp, TaskOut)
def patch_task(task_id: int, data: dict[str, Any]) -> Any:
    row = found(task_store.change(db.session, current_user_id(), task_id, data), "task")
    db.session.commit()
    return row


@bp.put("/<int:task_id>")
@operation(bp, "Replace a task's fields", body=True, description="Omitted optional fields take their defaults.")
@jwt_required()
@write_limit.limited
@bp.input(TaskIn, arg_name="data")
@output(bp, TaskOut)
def replace_task(task_id: int, data: dict[str, Any]) -> Any:
    row = found(task_store.change(db.session, current_user_id(), task_id, data), "task")
    db.session.commit()
    return row


@bp.delete("/<int:task_id>")
@operation(bp, "Delete a task", description="Its history stays readable at /api/tasks/{task_id}/events.")
@jwt_required()
@write_limit.limited
@bp.output({}, status_code=204)
def delete_task(task_id: int) -> Any:
    if not task_store.delete(db.session, current_user_id(), task_id):
        raise NotFound("no such task")
    db.session.commit()
    return ""


@bp.post("/<int:task_id>/complete")
@operation(bp, "Mark a task completed")
@jwt_required()
@write_limit.limited
@output(bp, TaskOut)
def complete_task(task_id: int) -> Any:
    row = found(task_store.set_completed(db.session, current_user_id(), task_id, True), "task")
    db.session.commit()
    return row


@bp.post("/<int:task_id>/reopen")
@operation(bp, "Mark a completed task open again", errors=QUOTA_ERRORS)
@jwt_required()
@write_limit.limited
@output(bp, TaskOut)
def reopen_task(task_id: int) -> Any:
    owner = current_user_id()
    task = task_store.get(db.session, owner, task_id)
    if task is not None and task["completed"]:
        quotas.ensure_room(db.session, owner, "open_tasks")
    row = found(task_store.set_completed(db.session, owner, task_id, False), "task")
    db.session.commit()
    return row


@bp.get("/<int:task_id>/events")
@operation(
    bp,
    "A task's history, oldest first",
    description="Read from the event log, which the pipeline fills from Kafka; a deleted task keeps its history.",
)
@jwt_required()
@bp.input(EventQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, TaskEventPage)
def task_events(task_id: int, query: dict[str, Any]) -> Any:
    owner = current_user_id()
    if not task_store.exists_including_deleted(db.session, owner, task_id):
        raise NotFound("no such task")
    return task_store.events(db.session, owner, task_id, query)
