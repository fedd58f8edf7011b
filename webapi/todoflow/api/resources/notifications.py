"""The in-app inbox filled by the due-date sweep."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint

from todoflow.api import notification_store
from todoflow.api.domain_errors import found
from todoflow.api.extensions import db
from todoflow.api.resources import endpoint
from todoflow.api.schemas.notifications import NotificationOut, NotificationPage, NotificationQuery
from todoflow.api.tokens import current_user_id

bp = APIBlueprint("notifications", __name__, url_prefix="/api/notifications", tag="Notifications")


@endpoint(
    bp,
    "GET",
    "",
    "List notifications, newest first",
    out=NotificationPage,
    query=NotificationQuery,
    operation_id="listNotifications",
)
def list_notifications(query: dict[str, Any]) -> Any:
    """Answer one page of the current user's notifications."""
    return notification_store.page(db.session, current_user_id(), query)


@endpoint(
    bp,
    "POST",
    "/<uuid:nid>/read",
    "Mark a notification read",
    out=NotificationOut,
    write=True,
    operation_id="markNotificationRead",
)
def read_notification(nid: uuid.UUID) -> Any:
    """Mark one of the current user's notifications read."""
    row = found(notification_store.mark_read(db.session, current_user_id(), nid), "notification")
    db.session.commit()
    return row
