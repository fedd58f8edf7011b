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
