"""Connections and SQL building blocks shared by the jobs (events are built in SQL for set-based inserts)."""

from __future__ import annotations

from typing import Any

import psycopg

from todoflow.core.settings import get_settings, libpq_url

# Lower bound of every shard key: UUIDs compare bytewise, so the nil UUID sorts first.
NIL_UUID = "00000000-0000-0000-0000-000000000000"
# The largest UTC offset in the IANA database (Pacific/Kiritimati); bounds any owner's local date.
MAX_UTC_OFFSET_HOURS = 14


def connect(database_url: str | None, application_name: str) -> psycopg.Connection[Any]:
    """An autocommit connection (each unit of work opens its own transaction) in UTC."""
    return psycopg.connect(
        libpq_url(database_url or get_settings().database_url),
        autocommit=True,
        application_name=application_name,
        options="-c TimeZone=UTC",
    )


def latest_local_date(instant: str) -> str:
    """SQL: a date no owner's local date of the instant exceeds (its UTC date 14 h later): an index-friendly bound."""
    return f"((({instant}) AT TIME ZONE 'UTC') + interval '{MAX_UTC_OFFSET_HOURS} hours')::date"


def iso_utc(expr: str) -> str:
    """SQL rendering a timestamptz as the envelope's date-time string (ISO 8601, UTC, 'Z')."""
    return f"""to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


# A CTE named `stamp`, evaluated once per statement: the transaction time (`at`) and its envelope string
# (`ts`), and what event ids are made of (see event_id).
STAMP_CTE = f"""stamp AS MATERIALIZED (
    SELECT now() AS at, {iso_utc("now()")} AS ts, gen_random_uuid()::text AS salt,
           lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') AS ms
)"""


def event_id(seed: str) -> str:
    """SQL: a fresh event id shaped as a UUIDv7, from the `stamp` CTE and a seed unique within the statement.

    48 bits of the statement's millisecond time, then 74 bits of md5(per-statement random salt, seed).
    Unique like gen_random_uuid() (the outbox's unique event_id would refuse a clash), but about six times
    cheaper here (gen_random_uuid reads the kernel's strong RNG for each row) and time-ordered, so the
    outbox's event_id index grows at its right edge instead of at random pages.
    """
    digest = f"left(md5(stamp.salt || ':' || ({seed})), 20)"
    return f"(stamp.ms || overlay(overlay({digest} placing '7' from 1 for 1) placing '8' from 5 for 1))::uuid"


def envelope(event_id: str, event_type: str, data: str) -> str:
    """SQL building the envelope of core/events.envelope from SQL expressions (a JSONB object); needs `stamp`."""
    return (
        f"jsonb_build_object('event_id', ({event_id})::text, 'event_type', {event_type}, "
        f"'event_timestamp', stamp.ts, 'data', {data})"
    )


def shard_predicate(column: str) -> str:
    """SQL: the row's shard (see shard_of) equals %(shard)s out of %(shards)s."""
    return f"(('x' || left(({column})::text, 8))::bit(32)::bigint %% %(shards)s) = %(shard)s"


def shard_of(recurring_task_id: object, shards: int) -> int:
    """The shard of a recurring task: its id's first 32 bits, unsigned, modulo shards (twin of shard_predicate)."""
    return int(str(recurring_task_id)[:8], 16) % shards


def occurrence_events(created: str, due: str) -> str:
    """SQL CTEs `events` and `written`: the task-created and recurring-task-due events of the created tasks.

    created and due name the CTEs (or tables) of the tasks just inserted and of the occurrences they came from;
    the statement needs the `stamp` CTE and the %(as_of_text)s parameter.
    """
    return f"""
events AS (
    -- One pass of task-created, then one of recurring-task-due: each task's pair stays in order per key.
    -- Not materialized: the envelopes stream straight into the outbox instead of through a spilled tuplestore.
    SELECT {event_id("'c' || c.id")} AS event_id, 'task-created' AS event_type, c.user_id,
           jsonb_build_object(
               'task_id', c.id, 'user_id', c.user_id, 'title', c.title, 'description', c.description,
               'priority_id', c.priority_id, 'due_date', c.due_date, 'completed', false, 'completed_at', NULL,
               'is_recurring', true, 'recurring_task_id', c.recurring_task_id,
               'created_at', stamp.ts, 'updated_at', stamp.ts
           ) AS data
    FROM {created} c CROSS JOIN stamp
    UNION ALL
    SELECT {event_id("'d' || c.id")}, 'recurring-task-due', c.user_id,
           jsonb_build_object(
               'recurring_task_id', c.recurring_task_id, 'task_id', c.id, 'user_id', c.user_id,
               'title', c.title, 'due_date', c.due_date, 'occurrence_index', d.n, 'as_of', %(as_of_text)s::text
           )
    FROM {created} c JOIN {due} d ON d.recurring_task_id = c.recurring_task_id AND d.due_date = c.due_date
         CROSS JOIN stamp
),
written AS (
    INSERT INTO event_outbox (event_id, topic, message_key, payload)
    SELECT event_id, event_type, user_id::text, {envelope("event_id", "event_type", "data")}
    FROM events CROSS JOIN stamp
    RETURNING 1
)"""
