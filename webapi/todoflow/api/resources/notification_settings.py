"""A user's delivery preferences: reminders by email and to webhooks (both on by default)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import request

from todoflow.api import errors, webhook_store
from todoflow.api.extensions import db
from todoflow.api.resources import endpoint
from todoflow.api.schemas.notification_settings import NotificationSettingsOut, NotificationSettingsPatch
from todoflow.api.tokens import current_user_id

bp = APIBlueprint("notification_settings", __name__, url_prefix="/api/auth/me", tag="Auth")


@endpoint(
    bp,
    "GET",
    "/notification-settings",
    "Your reminder delivery preferences",
    out=NotificationSettingsOut,
    operation_id="getNotificationSettings",
)
def get_notification_settings() -> Any:
    """Answer the current user's reminder delivery preferences."""
    return webhook_store.notification_settings(db.session, current_user_id())


@endpoint(
    bp,
    "PATCH",
    "/notification-settings",
    "Change your reminder delivery preferences",
    out=NotificationSettingsOut,
    body=NotificationSettingsPatch,
    operation_id="updateNotificationSettings",
)
def update_notification_settings(data: dict[str, Any]) -> Any:
    """Change the current user's reminder delivery preferences."""
    if not request.get_data(cache=True):
        # The document requires a body: an absent one is a client error, not an empty change.
        raise errors.api_error(400, "missing_body", "request body is required (a JSON object)")
    row = webhook_store.change_notification_settings(db.session, current_user_id(), data)
    db.session.commit()
    return row
