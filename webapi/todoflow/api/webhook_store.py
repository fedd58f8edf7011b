"""Webhooks, their deliveries and users' notification settings in SQL."""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from sqlalchemy import RowMapping, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from todoflow.api import pagination
from todoflow.api.domain_errors import Conflict
from todoflow.core.events import utc_now
from todoflow.core.models import Delivery, NotificationSettings, Webhook
from todoflow.core.timefmt import utc_z
from todoflow.delivery.signing import new_secret
from todoflow.delivery.store import NOTIFY_CHANNEL, PING

webhooks = cast(Table, Webhook.__table__)
deliveries = cast(Table, Delivery.__table__)
settings = cast(Table, NotificationSettings.__table__)

MAX_WEBHOOKS_PER_USER = 25

COLUMNS = (
    webhooks.c.id,
    webhooks.c.url,
    webhooks.c.events,
    webhooks.c.description,
    webhooks.c.active,
    webhooks.c.consecutive_failures,
    webhooks.c.deactivated_reason,
    webhooks.c.created_at,
    webhooks.c.updated_at,
)
DELIVERY_COLUMNS = (
    deliveries.c.id,
    deliveries.c.event_id,
    deliveries.c.event_type,
    deliveries.c.state,
    deliveries.c.attempts,
    deliveries.c.last_status_code,
    deliveries.c.last_error,
    deliveries.c.next_attempt_at,
    deliveries.c.created_at,
    deliveries.c.delivered_at,
)


def _owned(user_id: uuid.UUID, wid: uuid.UUID) -> tuple[Any, Any]:
    return webhooks.c.id == wid, webhooks.c.user_id == user_id


def count(session: Session, user_id: uuid.UUID) -> int:
    """The number of webhooks the user has."""
    return session.execute(select(func.count()).where(webhooks.c.user_id == user_id)).scalar_one()


def create(session: Session, user_id: uuid.UUID, fields: dict[str, Any]) -> RowMapping:
    """A new active webhook with a fresh secret (returned with it); Conflict webhook_limit past the per-user cap."""
    # Serialize creations per user so two concurrent requests cannot both pass the cap.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"webhooks:{user_id}"))))
    if count(session, user_id) >= MAX_WEBHOOKS_PER_USER:
        raise Conflict(f"at most {MAX_WEBHOOKS_PER_USER} webhooks per user", code="webhook_limit")
    stmt = (
        insert(webhooks).values(user_id=user_id, secret=new_secret(), **fields).returning(*COLUMNS, webhooks.c.secret)
    )
    return session.execute(stmt).mappings().one()


def list_all(session: Session, user_id: uuid.UUID) -> list[RowMapping]:
    """The user's webhooks, oldest first."""
    stmt = select(*COLUMNS).where(webhooks.c.user_id == user_id).order_by(webhooks.c.created_at, webhooks.c.id)
    return list(session.execute(stmt).mappings().all())


def get(session: Session, user_id: uuid.UUID, wid: uuid.UUID) -> RowMapping | None:
    """The user's webhook with this id, or None."""
    return session.execute(select(*COLUMNS).where(*_owned(user_id, wid))).mappings().first()


def change(session: Session, user_id: uuid.UUID, wid: uuid.UUID, fields: dict[str, Any]) -> RowMapping | None:
    """Change the given fields; re-activating resets the failure count and the deactivation reason."""
    if not fields:
        return get(session, user_id, wid)
    values: dict[str, Any] = {**fields, "updated_at": func.now()}
    if fields.get("active") is True:
        values.update(consecutive_failures=0, deactivated_reason=None)
    stmt = update(webhooks).where(*_owned(user_id, wid)).values(values).returning(*COLUMNS)
    return session.execute(stmt).mappings().first()


def rotate_secret(session: Session, user_id: uuid.UUID, wid: uuid.UUID) -> RowMapping | None:
    """Give the webhook a fresh signing secret (returned with it); None if it is not the user's."""
    stmt = (
        update(webhooks)
        .where(*_owned(user_id, wid))
        .values(secret=new_secret(), updated_at=func.now())
        .returning(*COLUMNS, webhooks.c.secret)
    )
    return session.execute(stmt).mappings().first()


def remove(session: Session, user_id: uuid.UUID, wid: uuid.UUID) -> bool:
    """Delete the webhook and, with it, its deliveries (pending ones are never sent)."""
    deleted = session.execute(delete(webhooks).where(*_owned(user_id, wid)).returning(webhooks.c.id)).first()
    return deleted is not None


def ping(session: Session, user_id: uuid.UUID, wid: uuid.UUID) -> RowMapping | None:
    """Queue a `ping` delivery due now and wake the delivery service; None if the webhook is not the user's."""
    if get(session, user_id, wid) is None:
        return None
    event_id = uuid.uuid4()
    payload = {
        "event_id": str(event_id),
        "event_type": PING,
        "event_timestamp": utc_z(utc_now()),
        "data": {"webhook_id": str(wid), "user_id": str(user_id)},
    }
    stmt = (
        insert(deliveries)
        .values(
            user_id=user_id,
            webhook_id=wid,
            channel="webhook",
            endpoint=f"webhook:{wid}",
            event_id=event_id,
            event_type=PING,
            payload=json.loads(json.dumps(payload)),
        )
        .returning(*DELIVERY_COLUMNS)
    )
    row = session.execute(stmt).mappings().one()
    session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
    return row


DELIVERIES = select(*DELIVERY_COLUMNS).where(deliveries.c.webhook_id == bindparam("webhook_id"))
DELIVERIES_IN_STATE = DELIVERIES.where(deliveries.c.state == bindparam("state"))
NEWEST_FIRST = pagination.by_keys((deliveries.c.created_at, deliveries.c.id), True)


def delivery_page(session: Session, wid: uuid.UUID, query: dict[str, Any]) -> dict[str, Any]:
    """One page of the webhook's deliveries, newest first; query["state"] (optional) filters by state."""
    state = query.get("state")
    base = DELIVERIES if state is None else DELIVERIES_IN_STATE
    bound = pagination.fingerprint("deliveries", wid, state)
    return pagination.paginate(session, base, NEWEST_FIRST, query, bound, {"webhook_id": wid, "state": state})


DEFAULT_SETTINGS = {"email_reminders": True, "webhook_reminders": True}


def notification_settings(session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    """The user's reminder delivery preferences (the defaults until first changed)."""
    stmt = select(settings.c.email_reminders, settings.c.webhook_reminders).where(settings.c.user_id == user_id)
    row = session.execute(stmt).mappings().first()
    return dict(row) if row is not None else dict(DEFAULT_SETTINGS)


def change_notification_settings(session: Session, user_id: uuid.UUID, fields: dict[str, Any]) -> dict[str, Any]:
    """Change the given reminder delivery preferences and return all of them."""
    if not fields:
        return notification_settings(session, user_id)
    stmt = (
        pg_insert(settings)
        .values(user_id=user_id, **{**DEFAULT_SETTINGS, **fields})
        .on_conflict_do_update(index_elements=[settings.c.user_id], set_={**fields, "updated_at": func.now()})
        .returning(settings.c.email_reminders, settings.c.webhook_reminders)
    )
    return dict(session.execute(stmt).mappings().one())
