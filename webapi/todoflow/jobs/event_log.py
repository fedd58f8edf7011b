"""`todoflow write-event-log`: write the task events from Kafka into task_event_log, the task history.

One consumer group (default "todoflow-event-log") reads the six topics through core/consumer.consume:
per batch, in one database transaction, the events new to the group are inserted with one multi-row
INSERT ... SELECT FROM unnest(...) ON CONFLICT (event_id) DO NOTHING (an event is logged once even if the
group's dedupe records were purged), then the database commits, and only then the Kafka offsets. A run
stops after --max-messages messages or --max-seconds seconds, whichever comes first. task_id and user_id
come from the event's data; task_event_log has no foreign key, so a deleted task's history stays readable.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from todoflow.core.consumer import ConsumedMessage, consume
from todoflow.core.events import TOPICS
from todoflow.jobs.options import add_count, positive_float
from todoflow.jobs.reporting import report

log = logging.getLogger(__name__)

GROUP_ID = "todoflow-event-log"
DEFAULT_BATCH_SIZE = 2000
# A killed pod's partitions go to the next run after this (Kafka's default, 45 s, would stall it).
KAFKA_CONFIG = {"session.timeout.ms": 10_000}

# Binary parameters (%b): in text form, arrays of JSON strings are escaped character by character.
# A log row's id is its event's id (one row per event), which spares a gen_random_uuid() per row.
INSERT = """
INSERT INTO task_event_log (id, event_id, task_id, user_id, event_type, event_data, event_timestamp)
SELECT e.event_id, e.event_id, e.task_id, e.user_id, e.event_type, e.event_data::jsonb, e.event_timestamp::timestamptz
FROM unnest(%b::uuid[], %b::bigint[], %b::uuid[], %b::text[], %b::text[], %b::text[])
     AS e(event_id, task_id, user_id, event_type, event_data, event_timestamp)
ON CONFLICT (event_id) DO NOTHING
"""


@dataclass
class EventLogResult:
    """What one event-log run did."""

    messages: int = 0  # read from Kafka
    logged: int = 0  # rows inserted into task_event_log
    duplicates: int = 0  # delivered again (dropped by the consumer helper or by the unique event_id)
    invalid: int = 0  # not a valid event: logged and skipped by the consumer helper
    batches: int = 0  # database transactions

    def counts(self) -> dict[str, int]:
        """The figures as StatsD counter names and values."""
        return asdict(self)


def log_events(conn: psycopg.Connection[Any], messages: Sequence[ConsumedMessage]) -> int:
    """Insert the events into task_event_log in the caller's transaction; returns the rows inserted."""
    if not messages:
        return 0
    columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
    for message in messages:
        event = message.event
        data = event["data"]
        for column, value in zip(
            columns,
            (
                event["event_id"],
                data.get("task_id"),
                data.get("user_id"),
                event["event_type"],
                json.dumps(data, separators=(",", ":")),
                event["event_timestamp"],
            ),
            strict=True,
        ):
            column.append(value)
    return conn.execute(INSERT, columns).rowcount


def write_event_log(
    database_url: str | None,
    max_messages: int,
    max_seconds: float,
    batch_size: int = DEFAULT_BATCH_SIZE,
    group_id: str = GROUP_ID,
    kafka_config: dict[str, Any] | None = None,
    idle_seconds: float | None = None,
) -> EventLogResult:
    """Consume the six topics as group_id into task_event_log until max_messages, max_seconds or idle."""
    logged = 0

    def handle(conn: psycopg.Connection[Any], messages: list[ConsumedMessage]) -> None:
        nonlocal logged
        logged += log_events(conn, messages)

    stats = consume(
        group_id,
        TOPICS,
        handle,
        max_messages=max_messages,
        max_seconds=max_seconds,
        batch_size=batch_size,
        database_url=database_url,
        kafka_config=KAFKA_CONFIG | (kafka_config or {}),
        idle_seconds=idle_seconds,
    )
    # handle runs inside the helper's transaction: a batch that rolled back raised out of consume above.
    return EventLogResult(
        messages=stats.messages,
        logged=logged,
        duplicates=stats.duplicates + (stats.processed - logged),
        invalid=stats.invalid,
        batches=stats.batches,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow write-event-log`."""
    add_count(parser, "--max-messages", 100_000, "stop after this many messages")
    parser.add_argument(
        "--max-seconds", type=positive_float, default=60.0, help="stop after this many seconds (default 60)"
    )
    add_count(parser, "--batch-size", DEFAULT_BATCH_SIZE, "messages per database transaction")
    parser.add_argument("--group", default=GROUP_ID, help=f"Kafka consumer group (default {GROUP_ID})")
    parser.add_argument(
        "--idle-seconds",
        type=positive_float,
        default=5.0,
        help="stop once caught up: nothing new for this many seconds (default 5)",
    )


def run(args: argparse.Namespace) -> int:
    """Write the event log from Kafka within the limits given; the exit code."""
    log.info("writing the event log: up to %d messages or %.0fs as %s", args.max_messages, args.max_seconds, args.group)
    return report(
        "event_log",
        lambda: write_event_log(
            None, args.max_messages, args.max_seconds, args.batch_size, args.group, idle_seconds=args.idle_seconds
        ),
        EventLogResult.counts,
    )
