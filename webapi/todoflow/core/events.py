"""The event envelope and the topics: one definition for the API, the relay and the jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from todoflow.core.timefmt import utc_z

TASK_CREATED = "task-created"
TASK_UPDATED = "task-updated"
TASK_COMPLETED = "task-completed"
TASK_DELETED = "task-deleted"
TASK_DUE_SOON = "task-due-soon"
RECURRING_TASK_DUE = "recurring-task-due"

# One topic per event type, named as in the seed plan.
TOPICS: tuple[str, ...] = (
    TASK_CREATED,
    TASK_UPDATED,
    TASK_COMPLETED,
    TASK_DELETED,
    TASK_DUE_SOON,
    RECURRING_TASK_DUE,
)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def envelope(
    event_type: str,
    data: dict[str, Any],
    *,
    event_id: uuid.UUID | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The seed's envelope: {event_id, event_type, event_timestamp, data}."""
    if event_type not in TOPICS:
        raise ValueError(f"unknown event type {event_type!r}")
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "event_type": event_type,
        "event_timestamp": utc_z(timestamp or utc_now()),
        "data": data,
    }

# Where the delivery service puts deliveries it gave up on (not an event type: its own message shape).
DEAD_LETTER_TOPIC = "delivery-dead-letter"
# Every topic the project creates.
ALL_TOPICS: tuple[str, ...] = (*TOPICS, DEAD_LETTER_TOPIC)
