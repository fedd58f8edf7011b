"""The in-app inbox filled by the due-date sweep."""

from __future__ import annotations

import uuid
from typing import Any, cast

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required
from marshmallow import RAISE
from sqlalchemy import Table, func, select, update

from todoflow.api import errors, write_limit
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation
from todoflow.api.schemas.notifications import NotificationOut, NotificationPage, NotificationQuery
from todoflow.api.tokens import current_user_id
from todoflow.core.models import Notification

bp = APIBlueprint("notifications", __name__, url_prefix="/api/notifications", tag="Notifications")

notifications = cast(Table, Notification.__table__)
COLUMNS = (
    notifications.c.id,
    notifications.c.task_id,
    notifications.c.kind,
    notifications.c.title,
    notifications.c.message,
    notifications.c.due_date,
    notifications.c.created_at,
    notifications.c.read_at,
)


@bp.get("")
@operation(bp, "List notifications, newest first")
@bp.doc(operation_id="listNotifications")
@jwt_required()
@bp.input(NotificationQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, NotificationPage)
def list_notifications(query: dict[str, Any]) -> Any:
    where = [notifications.c.user_id == current_user_id()]
    if "unread" in query:
        where.append(notifications.c.read_at.is_(None) if query["unread"] else notifications.c.read_at.is_not(None))
    stmt = (
        select(*COLUMNS, func.count().over().label("total"))
        .where(*where)
        .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
        .limit(query["limit"])
        .offset(query["offset"])
    )
    rows = db.session.execute(stmt).mappings().all()
    if rows:
        total = rows[0]["total"]
    else:
        total = db.session.execute(select(func.count()).select_from(notifications).where(*where)).scalar_one()
    return {"items": rows, "total": total, "limit": query["limit"], "offset": query["offset"]}


@bp.post("/<uuid:nid>/read")
@operation(bp, "Mark a notification read")
@bp.doc(operation_id="markNotificationRead")
@jwt_required()
@write_limit.limited
@output(bp, NotificationOut)
def read_notification(nid: uuid.UUID) -> Any:
    stmt = (
        update(notifications)
        .where(notifications.c.id == nid, notifications.c.user_id == current_user_id())
        .values(read_at=func.coalesce(notifications.c.read_at, func.now()))
        .returning(*COLUMNS)
    )
    row = db.session.execute(stmt).mappings().first()
    if row is None:
        raise errors.not_found("notification")
    db.session.commit()
    return row
