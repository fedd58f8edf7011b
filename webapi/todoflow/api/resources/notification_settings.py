"""A user's delivery preferences: reminders by email and to webhooks (both on by default)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import request
from flask_jwt_extended import jwt_required

from todoflow.api import errors, webhook_store
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation
from todoflow.api.schemas.notification_settings import NotificationSettingsOut, NotificationSettingsPatch
from todoflow.api.tokens import current_user_id

bp = APIBlueprint("notification_settings", __name__, url_prefix="/api/auth/me", tag="Auth")


@bp.get("/notification-settings")
@operation(bp, "Your reminder delivery preferences")
@bp.doc(operation_id="getNotificationSettings")
@jwt_required()
@output(bp, NotificationSettingsOut)
def get_notification_settings() -> Any:
    return webhook_store.notification_settings(db.session, current_user_id())


@bp.patch("/notification-settings")
@operation(bp, "Change your reminder delivery preferences", body=True)
@bp.doc(operation_id="updateNotificationSettings")
@jwt_required()
@bp.input(NotificationSettingsPatch, arg_name="data")
@output(bp, NotificationSettingsOut)
def update_notification_settings(data: dict[str, Any]) -> Any:
    if not request.get_data(cache=True):
        # The document requires a body: an absent one is a client error, not an empty change.
        raise errors.api_error(400, "missing_body", "request body is required (a JSON object)")
    row = webhook_store.change_notification_settings(db.session, current_user_id(), data)
    db.session.commit()
    return row
