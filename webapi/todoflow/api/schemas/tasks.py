"""Tasks and their history."""

from __future__ import annotations

from apiflask import Schema
from marshmallow import fields, validate

from todoflow.api.fields import Text, description, limit, priority_id, sort_order, title
from todoflow.api.schemas.common import OwnedItemOut, Page, PageQuery, Partial

TASK_SORTS = ("due_date", "created_at", "priority")


class TaskIn(Schema):
    """A whole task (create and PUT): omitted optional fields take their defaults."""

    title = title()
    description = description()
    priority_id = priority_id(load_default=None)
    due_date = fields.Date(load_default=None, allow_none=True)


class TaskPatch(Partial, TaskIn):
    """Some fields of a task: only those present change."""


class TaskQuery(PageQuery):
    """A page of tasks: filters and order."""

    completed = fields.Boolean()
    priority_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    due_before = fields.Date(metadata={"description": "due on or before this date"})
    due_after = fields.Date(metadata={"description": "due on or after this date"})
    recurring_task_id = fields.UUID(metadata={"description": "instances of this recurring task"})
    sort_by = Text(load_default="created_at", validate=validate.OneOf(TASK_SORTS))
    sort_order = sort_order("desc")


class TaskOut(OwnedItemOut):
    """A task as the API shows it."""

    id = fields.Integer(required=True)
    due_date = fields.Date(required=True, allow_none=True)
    completed = fields.Boolean(required=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    is_recurring = fields.Boolean(required=True)
    recurring_task_id = fields.UUID(required=True, allow_none=True)
    notified = fields.Boolean(required=True, metadata={"description": "a due-soon reminder was sent"})


class TaskPage(Page):
    """A page of tasks."""

    items = fields.List(fields.Nested(TaskOut), required=True)


class EventQuery(PageQuery):
    """A page of a task's history."""

    limit = limit(default=100, maximum=500)


class TaskEventOut(Schema):
    """One event of a task's history, as published."""

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True)
    event_timestamp = fields.DateTime(required=True)
    data = fields.Dict(required=True, metadata={"description": "the event's data, as published"})


class TaskEventPage(Page):
    """A page of a task's history."""

    items = fields.List(fields.Nested(TaskEventOut), required=True)
