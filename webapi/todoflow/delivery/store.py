"""The delivery service's SQL: fan-out of events into deliveries, claiming due attempts, recording outcomes.

A delivery is one event towards one endpoint, unique on (event_id, endpoint): however many times and by
however many replicas an event is consumed, it has one row and so one delivery id. Workers claim due
pending rows with FOR UPDATE SKIP LOCKED and keep them locked while they send, so no two workers (of
any replica) ever attempt the same delivery at once; a worker that dies releases its rows with its
connection and they are attempted again (at least once, same delivery id).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from todoflow.core.consumer import ConsumedMessage
from todoflow.core.events import TASK_DUE_SOON

NOTIFY_CHANNEL = "todoflow_deliveries"
PING = "ping"

FAN_OUT_WEBHOOKS = """
INSERT INTO deliveries (user_id, webhook_id, channel, endpoint, event_id, event_type, payload)
SELECT w.user_id, w.id, 'webhook', 'webhook:' || w.id, e.event_id, e.event_type, e.payload
FROM unnest(%(event_ids)s::uuid[], %(user_ids)s::uuid[], %(types)s::text[], %(payloads)s::jsonb[])
     AS e(event_id, user_id, event_type, payload)
JOIN webhooks w ON w.user_id = e.user_id AND w.active AND e.event_type = ANY(w.events)
LEFT JOIN notification_settings s ON s.user_id = e.user_id
WHERE e.event_type <> %(reminder)s OR coalesce(s.webhook_reminders, true)
ON CONFLICT (event_id, endpoint) DO NOTHING
"""

FAN_OUT_EMAIL = """
INSERT INTO deliveries (user_id, channel, endpoint, event_id, event_type, payload)
SELECT u.id, 'email', 'email', e.event_id, e.event_type, e.payload
FROM unnest(%(event_ids)s::uuid[], %(user_ids)s::uuid[], %(types)s::text[], %(payloads)s::jsonb[])
     AS e(event_id, user_id, event_type, payload)
JOIN users u ON u.id = e.user_id
LEFT JOIN notification_settings s ON s.user_id = e.user_id
WHERE e.event_type = %(reminder)s AND coalesce(s.email_reminders, true)
ON CONFLICT (event_id, endpoint) DO NOTHING
"""

CLAIM = """
SELECT d.id, d.channel, d.webhook_id, d.user_id, d.event_id, d.event_type, d.payload, d.attempts, d.created_at,
       w.url, w.secret, w.active AS webhook_active, u.email
FROM deliveries d
LEFT JOIN webhooks w ON w.id = d.webhook_id
JOIN users u ON u.id = d.user_id
WHERE d.state = 'pending' AND d.next_attempt_at <= now()
ORDER BY d.next_attempt_at
LIMIT %s
FOR UPDATE OF d SKIP LOCKED
"""

DELIVERED = """
UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_status_code = %s, last_error = NULL,
       next_attempt_at = NULL, delivered_at = now()
WHERE id = %s
"""

RETRY = """
UPDATE deliveries SET attempts = attempts + 1, last_status_code = %s, last_error = %s,
       next_attempt_at = now() + make_interval(secs => %s)
WHERE id = %s
"""

FAILED = """
UPDATE deliveries SET state = 'failed', attempts = attempts + %s, last_status_code = coalesce(%s, last_status_code),
       last_error = %s, next_attempt_at = NULL, failed_at = now()
WHERE id = %s
"""

WEBHOOK_SUCCEEDED = "UPDATE webhooks SET consecutive_failures = 0 WHERE id = %s AND consecutive_failures <> 0"

WEBHOOK_FAILED = """
WITH old AS (SELECT id, active FROM webhooks WHERE id = %(id)s FOR UPDATE)
UPDATE webhooks w SET consecutive_failures = w.consecutive_failures + 1,
       active = w.active AND w.consecutive_failures + 1 < %(limit)s,
       deactivated_reason = CASE WHEN w.active AND w.consecutive_failures + 1 >= %(limit)s THEN %(reason)s
                                 ELSE w.deactivated_reason END,
       updated_at = now()
FROM old
WHERE w.id = old.id
RETURNING old.active AND NOT w.active AS just_deactivated, w.user_id, w.url
"""

DEACTIVATION_NOTICE = """
INSERT INTO notifications (user_id, kind, title, message) VALUES (%s, 'webhook-deactivated', %s, %s)
"""

DEAD_LETTERS = """
SELECT id, channel, endpoint, webhook_id, user_id, event_id, event_type, payload, attempts, last_status_code,
       last_error, created_at, failed_at
FROM deliveries
WHERE state = 'failed' AND dead_lettered_at IS NULL
ORDER BY failed_at
LIMIT %s
FOR UPDATE SKIP LOCKED
"""

MARK_DEAD_LETTERED = "UPDATE deliveries SET dead_lettered_at = now() WHERE id = ANY(%s::uuid[])"

BACKLOG = """
SELECT count(*),
       count(*) FILTER (WHERE next_attempt_at <= now()),
       coalesce(extract(epoch FROM now() - min(created_at)), 0)
FROM deliveries WHERE state = 'pending'
"""


@dataclass(frozen=True)
class Claimed:
    """A due delivery held (row-locked) by one worker, with what it needs to attempt it."""

    id: uuid.UUID
    channel: str
    webhook_id: uuid.UUID | None
    user_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str | None
    secret: str | None
    webhook_active: bool | None
    email: str


def fan_out(conn: psycopg.Connection[Any], messages: list[ConsumedMessage]) -> int:
    """Insert one pending delivery per (event, matching endpoint) in conn's transaction; returns the rows made."""
    if not messages:
        return 0
    params = {
        "event_ids": [m.event["event_id"] for m in messages],
        "user_ids": [m.event["data"]["user_id"] for m in messages],
        "types": [m.event["event_type"] for m in messages],
        "payloads": [json.dumps(m.event) for m in messages],
        "reminder": TASK_DUE_SOON,
    }
    created = conn.execute(FAN_OUT_WEBHOOKS, params).rowcount
    if any(m.event["event_type"] == TASK_DUE_SOON for m in messages):
        created += conn.execute(FAN_OUT_EMAIL, params).rowcount
    if created:
        # Delivered at commit: wakes every replica's workers at once.
        conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return created


def claim(conn: psycopg.Connection[Any], limit: int) -> list[Claimed]:
    """Lock up to limit due pending deliveries that no other worker holds (inside conn's transaction)."""
    # Columns named as Claimed's fields.
    with conn.cursor(row_factory=class_row(Claimed)) as cur:
        return cur.execute(CLAIM, (limit,)).fetchall()


def backlog(conn: psycopg.Connection[Any]) -> tuple[int, int, float]:
    """(pending, due now, age in seconds of the oldest pending delivery)."""
    row = conn.execute(BACKLOG).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2])
