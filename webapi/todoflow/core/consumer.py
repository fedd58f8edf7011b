"""The one Kafka consumer helper of the pipeline jobs: at-least-once delivery, work done once.

Per batch, in one database transaction, the batch's event ids go into consumed_events (ON CONFLICT
DO NOTHING) and only the ids that were new are handed to `handle`; the database commits, and only
then are the Kafka offsets committed. A crash before the database commit redoes the batch; a crash
between the two commits redelivers events whose ids are already recorded, so they are dropped.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from todoflow.core.event_schemas import InvalidEvent, validate_event
from todoflow.core.kafka import RefusalWatch, client_config, refusal
from todoflow.core.settings import get_settings, libpq_url

log = logging.getLogger(__name__)

RECORD = """
INSERT INTO consumed_events (consumer_group, event_id)
SELECT %s, unnest(%s::uuid[])
ON CONFLICT DO NOTHING
RETURNING event_id
"""

PURGE = """
DELETE FROM consumed_events
WHERE (consumer_group, event_id) IN (
    SELECT consumer_group, event_id FROM consumed_events
    WHERE consumed_at < now() - make_interval(secs => %s)
    LIMIT %s
)
"""


@dataclass(frozen=True)
class ConsumedMessage:
    """One event read from Kafka, with where it came from."""

    event: dict[str, Any]  # the parsed envelope
    topic: str
    partition: int
    offset: int
    key: str | None


@dataclass
class ConsumeStats:
    """What one consume() call did."""

    messages: int = 0  # read from Kafka
    processed: int = 0  # new events handed to `handle`
    duplicates: int = 0  # dropped because consumed_events already had (group, event_id)
    invalid: int = 0  # not JSON / not a valid envelope: logged, counted, skipped (never crash-loop)
    batches: int = 0


def consumer_config(group_id: str, kafka_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A consumer's librdkafka settings for group_id.

    The configured brokers and security (core/kafka.py); manual commits only, from the earliest offset for a new
    group; kafka_config overrides.
    """
    return {
        **client_config(),
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        **(kafka_config or {}),
    }


def parse(message: Message) -> ConsumedMessage:
    """The message as a ConsumedMessage; InvalidEvent if it is not a valid event envelope."""
    try:
        event = json.loads(message.value() or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise InvalidEvent("not a JSON object")
    validate_event(event)
    # The schema's pattern already demands the canonical form; this keeps consumed_events safe regardless.
    uuid.UUID(str(event["event_id"]))
    key = message.key()
    return ConsumedMessage(
        event=event,
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=key.decode("utf-8", "replace") if isinstance(key, bytes) else key,
    )


def _next_offsets(messages: Sequence[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for m in messages:
        where = (m.topic() or "", m.partition() or 0)
        last[where] = max(last.get(where, -1), m.offset() or 0)
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()]


def consume(
    group_id: str,
    topics: Sequence[str],
    handle: Callable[[psycopg.Connection, list[ConsumedMessage]], None],
    *,
    max_messages: int,
    max_seconds: float,
    batch_size: int = 500,
    database_url: str | None = None,
    kafka_config: dict[str, Any] | None = None,
    idle_seconds: float | None = None,
    stop: Callable[[], bool] | None = None,
    poll_seconds: float = 1.0,
) -> ConsumeStats:
    """Consume task events exactly once into the database, batch by batch.

    Consume up to max_messages or max_seconds (or until idle_seconds pass with nothing new once the
    group has its partitions, when idle_seconds is given); per batch, in ONE database transaction: insert the
    batch's event_ids into consumed_events (ON CONFLICT DO NOTHING RETURNING) and call handle(conn, new_ones);
    commit the database; only then commit the Kafka offsets (synchronously). Duplicates (same event_id
    delivered twice, within a batch or across batches/runs) do their work once. A long-running consumer passes
    `stop` (checked between batches) and a short `poll_seconds` (the longest a batch waits to fill up).
    """
    stats = ConsumeStats()
    url = libpq_url(database_url or get_settings().database_url)
    # Client-level errors (a refused login or certificate among them) reach error_cb, not consume().
    watch = RefusalWatch(log)
    consumer = Consumer({"error_cb": watch, **consumer_config(group_id, kafka_config)})
    deadline = time.monotonic() + max_seconds
    last_activity = time.monotonic()
    try:
        consumer.subscribe(list(topics))
        with psycopg.connect(url, autocommit=True) as conn:
            while stats.messages < max_messages and (left := deadline - time.monotonic()) > 0:
                if stop is not None and stop():
                    break
                wanted = min(batch_size, max_messages - stats.messages)
                polled = consumer.consume(num_messages=wanted, timeout=min(left, poll_seconds))
                watch.check()
                batch = [m for m in polled if _usable(m)]
                if not batch:
                    # Idle counts only once the group owns its partitions: joining takes seconds.
                    if not consumer.assignment():
                        last_activity = time.monotonic()
                    elif idle_seconds is not None and time.monotonic() - last_activity >= idle_seconds:
                        log.info("caught up: nothing new for %.1fs", idle_seconds)
                        break
                    continue
                last_activity = time.monotonic()
                stats.messages += len(batch)
                _process(conn, group_id, batch, handle, stats)
                _commit_offsets(consumer, batch)
                stats.batches += 1
    finally:
        consumer.close()
    log.info(
        "consumed %d messages from %s as %s: %d processed, %d duplicates, %d invalid, %d batches",
        stats.messages,
        ",".join(topics),
        group_id,
        stats.processed,
        stats.duplicates,
        stats.invalid,
        stats.batches,
    )
    return stats


def _usable(message: Message) -> bool:
    error = message.error()
    if error is None:
        return True
    if error.fatal():
        raise KafkaException(error)
    # Wrong credentials or an untrusted certificate never heal by retrying: fail the run, saying what to check.
    if (refused := refusal(error)) is not None:
        raise refused
    if error.code() != KafkaError._PARTITION_EOF:
        log.warning("kafka: %s", error)
    return False


def _process(
    conn: psycopg.Connection[Any],
    group_id: str,
    batch: list[Message],
    handle: Callable[[psycopg.Connection, list[ConsumedMessage]], None],
    stats: ConsumeStats,
) -> None:
    parsed: list[ConsumedMessage] = []
    seen: set[str] = set()
    for message in batch:
        try:
            consumed = parse(message)
        except (InvalidEvent, ValueError, KeyError) as exc:
            stats.invalid += 1
            log.error(
                "skipping invalid message %s[%s]@%s: %s", message.topic(), message.partition(), message.offset(), exc
            )
            continue
        event_id = str(uuid.UUID(str(consumed.event["event_id"])))
        if event_id in seen:
            stats.duplicates += 1
            continue
        seen.add(event_id)
        parsed.append(consumed)
    with conn.transaction():
        new_ids: set[str] = set()
        if parsed:
            ids = [str(m.event["event_id"]) for m in parsed]
            new_ids = {str(row[0]) for row in conn.execute(RECORD, (group_id, ids))}
        fresh = [m for m in parsed if str(uuid.UUID(str(m.event["event_id"]))) in new_ids]
        stats.duplicates += len(parsed) - len(fresh)
        if fresh:
            handle(conn, fresh)
    stats.processed += len(fresh)


def _commit_offsets(consumer: Consumer, batch: list[Message]) -> None:
    try:
        consumer.commit(offsets=_next_offsets(batch), asynchronous=False)
    except KafkaException as exc:
        # The work is committed and recorded: a redelivery after a failed commit is dropped as a duplicate.
        log.warning("offset commit failed (events will be redelivered and deduplicated): %s", exc)


def purge_consumed_events(
    database_url: str | None = None, retention_hours: float | None = None, batch_size: int = 5000
) -> int:
    """Delete consumed_events rows older than retention_hours in bounded batches; returns the count.

    The default retention is the topics' retention plus a day: a consumer group reset to the earliest
    offset then still finds every event it could be given again.
    """
    if retention_hours is None:
        retention_hours = get_settings().kafka_retention_ms / 3_600_000 + 24
    url = libpq_url(database_url or get_settings().database_url)
    total = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            deleted = conn.execute(PURGE, (retention_hours * 3600.0, batch_size)).rowcount
            total += deleted
            if deleted < batch_size:
                return total
