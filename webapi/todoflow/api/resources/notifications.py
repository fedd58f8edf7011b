"""The in-app inbox filled by the due-date sweep."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required
from marshmallow import RAISE

from todoflow.api import notification_store, write_limit
from todoflow.api.domain_errors import found
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation
from todoflow.api.schemas.notifications import NotificationOut, NotificationPage, NotificationQuery
from todoflow.api.tokens import current_user_id

bp = APIBlueprint("notifications", __name__, url_prefix="/api/notifications", tag="Notifications")


@bp.get("")
@operation(bp, "List notifications, newest first")
@jwt_required()
@bp.input(NotificationQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, NotificationPage)
def list_notifications(query: dict[str, Any]) -> Any:
    return notification_store.page(db.session, current_user_id(), query)


@bp.post("/<uuid:nid>/read")
@operation(bp, "Mark a notification read")
@jwt_required()
@write_limit.limited
@output(bp, NotificationOut)
def read_notification(nid: uuid.UUID) -> Any:
    row = found(notification_store.mark_read(db.session, current_user_id(), nid), "notification")
    db.session.commit()
    return row
