"""A user's delivery preferences."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from marshmallow import fields


class JsonBoolean(fields.Boolean):
    """A boolean as JSON has it: true or false only (not 0, 1, "yes" or "true")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class NotificationSettingsPatch(Schema):
    """Reminder delivery preferences to change: only those present change."""

    email_reminders = JsonBoolean(metadata={"description": "task-due-soon reminders by email"})
    webhook_reminders = JsonBoolean(metadata={"description": "task-due-soon events to your webhooks"})


class NotificationSettingsOut(Schema):
    """A user's reminder delivery preferences."""

    email_reminders = fields.Boolean(required=True)
    webhook_reminders = fields.Boolean(required=True)
