"""A user's delivery preferences."""

from __future__ import annotations

from apiflask import Schema
from marshmallow import fields


class NotificationSettingsPatch(Schema):
    email_reminders = fields.Boolean(metadata={"description": "task-due-soon reminders by email"})
    webhook_reminders = fields.Boolean(metadata={"description": "task-due-soon events to your webhooks"})


class NotificationSettingsOut(Schema):
    email_reminders = fields.Boolean(required=True)
    webhook_reminders = fields.Boolean(required=True)
