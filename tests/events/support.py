"""Helpers of the event tests: outbox writers, a Kafka tail reader, relay processes."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import OFFSET_END, Consumer, Message, TopicPartition
from sqlalchemy import Engine

from tests.support import ServiceProcess, service_environment
from todoflow.core.events import TASK_CREATED
from todoflow.core.outbox import write_event


def task_data(user_id: str, task_id: int, title: str | None = None) -> dict[str, Any]:
    """A task as the task-* schemas describe it."""
    now = datetime.now(UTC)
    return {
        "task_id": task_id,
        "user_id": user_id,
        "title": title or f"task {task_id}",
        "description": "",
        "priority_id": None,
        "due_date": None,
        "completed": False,
        "completed_at": None,
        "is_recurring": False,
        "recurring_task_id": None,
        "created_at": now,
        "updated_at": now,
    }


def write_task_events(
    engine: Engine, events: Iterable[tuple[str, int]], per_transaction: int = 1, event_type: str = TASK_CREATED
) -> list[dict[str, Any]]:
    """Write (user_id, task_id) events through core.outbox.write_event, per_transaction to a commit."""
    written: list[dict[str, Any]] = []
    pending = list(events)
    for start in range(0, len(pending), per_transaction):
        with engine.begin() as conn:
            for user_id, task_id in pending[start : start + per_transaction]:
                written.append(write_event(conn, event_type, task_data(user_id, task_id), key=user_id))
    return written


def outbox_counts(database_url: str) -> tuple[int, int]:
    """(published, unpublished) rows in the outbox."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(published_at), count(*) - count(published_at) FROM event_outbox").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class Received:
    """One message read back from Kafka."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, bytes]
    event: dict[str, Any]
    raw: bytes


class KafkaTail:
    """Reads what is written to topics after it was created (positions taken at the end)."""

    def __init__(self, bootstrap: str, topics: Sequence[str]):
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"tail-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        assignment = []
        for topic in topics:
            partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
            for partition in partitions:
                _low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                assignment.append(TopicPartition(topic, partition, high if high >= 0 else OFFSET_END))
        self.consumer.assign(assignment)
        self.received: list[Received] = []

    def _poll(self, timeout: float) -> None:
        for message in self.consumer.consume(num_messages=1000, timeout=timeout):
            if message.error():
                raise RuntimeError(message.error())
            self.received.append(_received(message))

    def collect(self, count: int, timeout: float, where: Callable[[Received], bool] = lambda r: True) -> list[Received]:
        """Read until count matching messages arrived (or fail after timeout); returns all matching."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [r for r in self.received if where(r)]
            if len(matching) >= count:
                return matching
            self._poll(0.2)
        matching = [r for r in self.received if where(r)]
        raise AssertionError(f"only {len(matching)} of {count} messages arrived within {timeout:.0f}s")

    def settle(self, quiet: float = 1.5) -> list[Received]:
        """Read until nothing new arrives for `quiet` seconds; returns everything read."""
        last = len(self.received)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet:
            self._poll(0.2)
            if len(self.received) != last:
                last, quiet_since = len(self.received), time.monotonic()
        return self.received

    def close(self) -> None:
        self.consumer.close()


def _received(message: Message) -> Received:
    key = message.key()
    raw = message.value() or b""
    return Received(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=key.decode() if isinstance(key, bytes) else key,
        headers={k: v for k, v in (message.headers() or [])},
        event=json.loads(raw),
        raw=raw,
    )


def first_occurrences(received: Iterable[Received]) -> list[Received]:
    """Messages with duplicates (same event_id) after the first dropped, in arrival order."""
    seen: set[str] = set()
    out = []
    for r in received:
        if r.event["event_id"] not in seen:
            seen.add(r.event["event_id"])
            out.append(r)
    return out


def task_ids_by_key(received: Iterable[Received]) -> dict[str, list[int]]:
    """Each key's task ids in the order Kafka holds them (per partition order is per key order)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for r in sorted(received, key=lambda r: (r.topic, r.partition, r.offset)):
        by_key[r.key or ""].append(r.event["data"]["task_id"])
    return by_key


class RelayProcess(ServiceProcess):
    """`todoflow relay` as a real child process with its own log file."""

    def __init__(self, env: dict[str, str], log: Path):
        super().__init__("relay", env, log)

    def wait_active(self, timeout: float = 30.0) -> None:
        """Wait until this relay holds the lock."""
        self.wait_for_log("holding the relay lock: active", timeout)


def relay_environment(database_url: str, bootstrap: str, statsd_port: int, **overrides: str) -> dict[str, str]:
    """Environment of a relay under test: our database and broker, quick retries, our StatsD."""
    quick = {
        "RELAY_BACKOFF_INITIAL_SECONDS": "0.2",
        "RELAY_BACKOFF_MAX_SECONDS": "2",
        "RELAY_MESSAGE_TIMEOUT_MS": "4000",
        "RELAY_METRICS_INTERVAL_SECONDS": "0.5",
        "RELAY_STANDBY_POLL_SECONDS": "0.3",
    }
    return service_environment(database_url, bootstrap, statsd_port, **(quick | overrides))
