"""Tasks: CRUD, complete/reopen, and their history."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from todoflow.api import quotas, task_store
from todoflow.api.domain_errors import NotFound, found
from todoflow.api.extensions import db
from todoflow.api.resources import deleted, endpoint
from todoflow.api.schemas.tasks import EventQuery, TaskEventPage, TaskIn, TaskOut, TaskPage, TaskPatch, TaskQuery
from todoflow.api.tokens import current_user_id

QUOTA_ERRORS = {409: "Over the open-tasks quota (quota_exceeded)", 429: "Over the write rate (see Retry-After)"}

bp = APIBlueprint("tasks", __name__, url_prefix="/api/tasks", tag="Tasks")
ONE = "/<int:task_id>"


@endpoint(
    bp,
    "POST",
    "",
    "Create a task",
    body=TaskIn,
    out=TaskOut,
    status_code=201,
    write=True,
    errors=QUOTA_ERRORS,
    operation_id="createTask",
)
def create_task(data: dict[str, Any]) -> Any:
    """Create a task for the current user."""
    owner = current_user_id()
    quotas.ensure_room(db.session, owner, "open_tasks")
    row = task_store.create(db.session, owner, data)
    db.session.commit()
    return row


@endpoint(
    bp, "GET", "", "List tasks (filtered, sorted, one page)", query=TaskQuery, out=TaskPage, operation_id="listTasks"
)
def list_tasks(query: dict[str, Any]) -> Any:
    """One page of the current user's tasks."""
    return task_store.page(db.session, current_user_id(), query)


@endpoint(bp, "GET", ONE, "Get a task", out=TaskOut, operation_id="getTask")
def get_task(task_id: int) -> Any:
    """One of the current user's tasks."""
    return found(task_store.get(db.session, current_user_id(), task_id), "task")


def _change(task_id: int, data: dict[str, Any]) -> Any:
    row = found(task_store.change(db.session, current_user_id(), task_id, data), "task")
    db.session.commit()
    return row


REARMS, DEFAULTS = "Changing due_date re-arms its reminder.", "Omitted optional fields take their defaults."


@endpoint(
    bp,
    "PATCH",
    ONE,
    "Change some fields of a task",
    body=TaskPatch,
    out=TaskOut,
    write=True,
    description=REARMS,
    operation_id="updateTask",
)
def patch_task(task_id: int, data: dict[str, Any]) -> Any:
    """Change some fields of a task."""
    return _change(task_id, data)


@endpoint(
    bp,
    "PUT",
    ONE,
    "Replace a task's fields",
    body=TaskIn,
    out=TaskOut,
    write=True,
    description=DEFAULTS,
    operation_id="replaceTask",
)
def replace_task(task_id: int, data: dict[str, Any]) -> Any:
    """Replace a task's fields."""
    return _change(task_id, data)


@endpoint(
    bp,
    "DELETE",
    ONE,
    "Delete a task",
    status_code=204,
    write=True,
    description="Its history stays readable at /api/tasks/{task_id}/events.",
    operation_id="deleteTask",
)
def delete_task(task_id: int) -> Any:
    """Delete a task."""
    return deleted(task_store.delete(db.session, current_user_id(), task_id), "task")


@endpoint(bp, "POST", f"{ONE}/complete", "Mark a task completed", out=TaskOut, write=True, operation_id="completeTask")
def complete_task(task_id: int) -> Any:
    """Mark a task completed."""
    row = found(task_store.set_completed(db.session, current_user_id(), task_id, True), "task")
    db.session.commit()
    return row


@endpoint(
    bp,
    "POST",
    f"{ONE}/reopen",
    "Mark a completed task open again",
    out=TaskOut,
    write=True,
    errors=QUOTA_ERRORS,
    operation_id="reopenTask",
)
def reopen_task(task_id: int) -> Any:
    """Mark a completed task open again."""
    owner = current_user_id()
    task = task_store.get(db.session, owner, task_id)
    if task is not None and task["completed"]:
        quotas.ensure_room(db.session, owner, "open_tasks")
    row = found(task_store.set_completed(db.session, owner, task_id, False), "task")
    db.session.commit()
    return row


@endpoint(
    bp,
    "GET",
    f"{ONE}/events",
    "A task's history, oldest first",
    query=EventQuery,
    out=TaskEventPage,
    description="Read from the event log, which the pipeline fills from Kafka; a deleted task keeps its history.",
    operation_id="listTaskEvents",
)
def task_events(task_id: int, query: dict[str, Any]) -> Any:
    """A task's history, oldest first."""
    owner = current_user_id()
    if not task_store.exists_including_deleted(db.session, owner, task_id):
        raise NotFound("no such task")
    return task_store.events(db.session, owner, task_id, query)
