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


def _json_value(value: Any) -> Any:
    """Return value as the event's JSON carries it: datetimes in UTC with Z, dates and UUIDs as strings."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return utc_z(value)
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    raise TypeError(f"cannot serialize {type(value).__name__}")


def to_json_data(data: dict[str, Any]) -> dict[str, Any]:
    """Return data with dates, datetimes and UUIDs as the strings the schemas expect.

    Converted in place of a json.dumps/json.loads round trip: the event is then dumped once, for the row.
    """
    return _json_value(data)


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
