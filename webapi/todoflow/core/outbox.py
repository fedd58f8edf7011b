"""Writes events into the transactional outbox, inside the caller's transaction."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from todoflow.core.event_schemas import validate_event
from todoflow.core.events import envelope
from todoflow.core.timefmt import utc_z

INSERT = text(
    """INSERT INTO event_outbox (event_id, topic, message_key, payload)
       VALUES (:event_id, :topic, :message_key, CAST(:payload AS jsonb))"""
)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return utc_z(value)
    if isinstance(value, date | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def to_json_data(data: dict[str, Any]) -> dict[str, Any]:
    """data with dates, datetimes and UUIDs as the strings the schemas expect."""
    return json.loads(json.dumps(data, default=_json_default))


def write_event(db: Session | Connection, event_type: str, data: dict[str, Any], key: str) -> dict[str, Any]:
    """Validate and add one event to the outbox in db's current transaction; returns the envelope.

    key orders events in Kafka: use the owner's user id so one user's events stay in order.
    """
    event = envelope(event_type, to_json_data(data))
    validate_event(event)
    db.execute(
        INSERT,
        {
            "event_id": event["event_id"],
            "topic": event_type,
            "message_key": key,
            "payload": json.dumps(event),
        },
    )
    return event
