"""The in-app inbox."""

from __future__ import annotations

from apiflask import Schema
from marshmallow import fields

from todoflow.api.schemas.common import PageQuery, page_of


class NotificationQuery(PageQuery):
    """A page of notifications, optionally only unread or only read ones."""

    unread = fields.Boolean(metadata={"description": "true: only unread; false: only read"})


class NotificationOut(Schema):
    """A notification in the in-app inbox."""

    id = fields.UUID(required=True)
    task_id = fields.Integer(required=True, allow_none=True, metadata={"description": "null for notices about no task"})
    kind = fields.String(required=True)
    title = fields.String(required=True)
    message = fields.String(required=True)
    due_date = fields.Date(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(required=True, allow_none=True)


NotificationPage = page_of(NotificationOut, "Notification")
