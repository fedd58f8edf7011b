"""The event-log writer: Kafka events land in task_event_log once, offsets move only after the DB commit."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.jobs.support import Db, cli_env, metrics_received, run_cli
from todoflow.core.consumer import ConsumedMessage, consume
from todoflow.core.event_schemas import validate_event
from todoflow.core.events import TOPICS, envelope
from todoflow.core.outbox import to_json_data
from todoflow.jobs.event_log import log_events, write_event_log


def _task_data(task_id: int, user_id: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "task_id": task_id,
        "user_id": user_id,
        "title": f"task {task_id}",
        "description": "",
        "priority_id": 2,
        "due_date": date(2026, 3, 10),
        "completed": False,
        "completed_at": None,
        "is_recurring": False,
        "recurring_task_id": None,
        "created_at": now,
        "updated_at": now,
    } | extra


def event_of(event_type: str, task_id: int, user_id: str) -> dict[str, Any]:
    """A valid envelope of event_type about task_id."""
    now = datetime.now(UTC)
    if event_type == "task-due-soon":
        data = {
            "task_id": task_id,
            "user_id": user_id,
            "title": "t",
            "due_date": date(2026, 3, 10),
            "notification_id": uuid.uuid4(),
            "as_of": now,
            "window_hours": 24,
        }
    elif event_type == "recurring-task-due":
        data = {
            "recurring_task_id": uuid.uuid4(),
            "task_id": task_id,
            "user_id": user_id,
            "title": "t",
            "due_date": date(2026, 3, 10),
            "occurrence_index": 3,
            "as_of": now,
        }
    elif event_type == "task-deleted":
        data = _task_data(task_id, user_id, deleted_at=now)
    elif event_type == "task-completed":
        data = _task_data(task_id, user_id, completed=True, completed_at=now)
    else:
        data = _task_data(task_id, user_id)
    event = envelope(event_type, to_json_data(data))
    validate_event(event)
    return event


@pytest.fixture
def group(kafka_bootstrap: str) -> Iterator[str]:
    """A consumer group whose committed offsets start at the current end of every topic (other tests share them)."""
    name = f"test-jobs-{uuid.uuid4().hex[:10]}"
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": name, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        ends = []
        for topic in TOPICS:
            for partition in metadata.topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                ends.append(TopicPartition(topic, partition, high))
        consumer.commit(offsets=ends, asynchronous=False)
    finally:
        consumer.close()
    yield name


def produce(kafka_bootstrap: str, events: list[dict[str, Any]]) -> None:
    """Publish the events as the relay does: topic = event type, key = user id."""
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    for event in events:
        producer.produce(event["event_type"], json.dumps(event).encode(), key=event["data"]["user_id"].encode())
        producer.poll(0)
    assert producer.flush(30) == 0


def committed(kafka_bootstrap: str, group: str) -> list[tuple[str, int, int]]:
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        wanted = [TopicPartition(t, p) for t in TOPICS for p in metadata.topics[t].partitions]
        return sorted((tp.topic, tp.partition, tp.offset) for tp in consumer.committed(wanted, timeout=10))
    finally:
        consumer.close()


def logged(db: Db, event_ids: list[str]) -> dict[str, int]:
    """event_id -> rows in task_event_log, for the given ids."""
    rows = db.conn.execute(
        "SELECT event_id::text, count(*) FROM task_event_log WHERE event_id = ANY(%s::uuid[]) GROUP BY 1",
        (event_ids,),
    ).fetchall()
    return dict(rows)


def drain(db: Db, group: str, event_ids: list[str], messages: int | None = None, timeout: float = 90) -> None:
    """Run the writer until every given event is logged (other tests' events may be interleaved)."""
    deadline = time.monotonic() + timeout
    while len(logged(db, event_ids)) < len(set(event_ids)):
        assert time.monotonic() < deadline, "events not logged in time"
        write_event_log(db.url, max_messages=messages or len(event_ids), max_seconds=10, batch_size=100, group_id=group)


def test_events_are_logged_once_even_when_delivered_twice(db: Db, kafka_bootstrap: str, group: str) -> None:
    user = str(uuid.uuid4())
    events = [event_of(t, task_id, user) for task_id in range(1, 11) for t in TOPICS]
    duplicates = events[::3]
    produce(kafka_bootstrap, events + duplicates)
    ids = [e["event_id"] for e in events]

    drain(db, group, ids, messages=len(events) + len(duplicates))

    assert logged(db, ids) == dict.fromkeys(ids, 1)
    rows = db.conn.execute(
        """SELECT event_id::text, task_id, user_id::text, event_type, event_data, event_timestamp
           FROM task_event_log WHERE event_id = ANY(%s::uuid[])""",
        (ids,),
    ).fetchall()
    by_id = {e["event_id"]: e for e in events}
    for event_id, task_id, user_id, event_type, data, timestamp in rows:
        event = by_id[event_id]
        assert (task_id, user_id, event_type) == (event["data"]["task_id"], user, event["event_type"])
        assert data == event["data"]
        assert timestamp == datetime.fromisoformat(event["event_timestamp"])

    # Delivered a third time in a later run: still once.
    produce(kafka_bootstrap, events[:12])
    result = write_event_log(db.url, max_messages=12, max_seconds=15, batch_size=100, group_id=group)
    assert result.messages >= 12
    assert result.duplicates >= 12
    assert logged(db, ids) == dict.fromkeys(ids, 1)


def test_a_deleted_tasks_history_stays_readable(db: Db, kafka_bootstrap: str, group: str) -> None:
    user = db.user()
    task_id = db.conn.execute(
        "INSERT INTO tasks (user_id, title) VALUES (%s, 'short-lived') RETURNING id", (user,)
    ).fetchone()[0]
    events = [event_of(t, task_id, str(user)) for t in ("task-created", "task-updated", "task-deleted")]
    produce(kafka_bootstrap, events)
    db.conn.execute("DELETE FROM tasks WHERE id = %s", (task_id,))  # even a hard delete keeps the history
    drain(db, group, [e["event_id"] for e in events])
    history = db.conn.execute(
        "SELECT event_type FROM task_event_log WHERE task_id = %s ORDER BY event_timestamp", (task_id,)
    ).fetchall()
    assert [h[0] for h in history] == ["task-created", "task-updated", "task-deleted"]


def test_offsets_are_committed_only_after_the_database_commit(db: Db, kafka_bootstrap: str, group: str) -> None:
    user = str(uuid.uuid4())
    events = [event_of("task-created", task_id, user) for task_id in range(1, 51)]
    ids = [e["event_id"] for e in events]
    produce(kafka_bootstrap, events)
    before = committed(kafka_bootstrap, group)

    def crash_after_insert(conn: psycopg.Connection[Any], messages: list[ConsumedMessage]) -> None:
        assert log_events(conn, messages) == len(messages)
        raise RuntimeError("pod killed before the commit")

    with pytest.raises(RuntimeError, match="pod killed"):
        consume(group, TOPICS, crash_after_insert, max_messages=50, max_seconds=20, database_url=db.url)

    assert logged(db, ids) == {}
    assert committed(kafka_bootstrap, group) == before
    assert (
        db.conn.execute("SELECT count(*) FROM consumed_events WHERE consumer_group = %s", (group,)).fetchone()[0] == 0
    )

    drain(db, group, ids)
    assert logged(db, ids) == dict.fromkeys(ids, 1)
    assert committed(kafka_bootstrap, group) != before


WRITER_LIMITS = ("--batch-size", "20", "--max-messages", "3000", "--max-seconds", "120")


def test_a_killed_writer_resumes_without_loss_or_duplicates(db: Db, kafka_bootstrap: str, group: str) -> None:
    user = str(uuid.uuid4())
    events = [event_of(TOPICS[i % 6], i, user) for i in range(1, 3001)]
    ids = [e["event_id"] for e in events]
    produce(kafka_bootstrap, events)
    stats = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stats.bind(("127.0.0.1", 0))
    writer = subprocess.Popen(
        [sys.executable, "-m", "todoflow.cli", "write-event-log", "--group", group, *WRITER_LIMITS],
        env=cli_env(db.url, stats),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not logged(db, ids) and time.monotonic() < deadline:
            time.sleep(0.02)
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(30)
        stats.close()
    assert writer.returncode == -signal.SIGKILL
    partial = sum(logged(db, ids).values())
    assert 0 < partial < len(ids)

    drain(db, group, ids)
    assert logged(db, ids) == dict.fromkeys(ids, 1)


def test_an_event_logged_before_is_ignored_even_without_the_groups_dedupe_record(db: Db) -> None:
    user = str(uuid.uuid4())
    messages = [
        ConsumedMessage(event=event_of(t, 7, user), topic=t, partition=0, offset=i, key=user)
        for i, t in enumerate(TOPICS)
    ]
    with db.conn.transaction():
        assert log_events(db.conn, messages) == 6
    with db.conn.transaction():
        assert log_events(db.conn, messages) == 0
    assert db.conn.execute("SELECT count(*) FROM task_event_log WHERE task_id = 7").fetchone()[0] == 6


def test_the_command_reports_its_counts(db: Db, kafka_bootstrap: str, group: str) -> None:
    user = str(uuid.uuid4())
    events = [event_of("task-updated", task_id, user) for task_id in range(1, 4)]
    produce(kafka_bootstrap, events + events[:1])
    stats = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stats.bind(("127.0.0.1", 0))
    stats.settimeout(0.5)
    try:
        result = run_cli(
            ["write-event-log", "--group", group, "--max-messages", "4", "--max-seconds", "30"], db.url, stats
        )
        metrics = metrics_received(stats)
    finally:
        stats.close()
    assert result.returncode == 0, result.stderr
    assert "event_log done" in result.stderr
    assert metrics["todoflow.jobs.event_log.messages"] == "4|c"
    counted = sum(
        int(metrics[f"todoflow.jobs.event_log.{name}"].split("|")[0]) for name in ("logged", "duplicates", "invalid")
    )
    assert counted == 4
    assert metrics["todoflow.jobs.event_log.runs"] == "1|c"
    assert metrics["todoflow.jobs.event_log.duration"].endswith("|ms")
    ids = [e["event_id"] for e in events]
    drain(db, group, ids)  # a no-op unless another test's events took some of the 4 messages
    assert logged(db, ids) == dict.fromkeys(ids, 1)


def test_a_caught_up_writer_stops_before_its_time_limit(db: Db, kafka_bootstrap: str, group: str) -> None:
    user = str(uuid.uuid4())
    events = [event_of("task-created", task_id, user) for task_id in range(1, 6)]
    produce(kafka_bootstrap, events)
    started = time.monotonic()
    result = write_event_log(
        db.url, max_messages=1_000_000, max_seconds=300, batch_size=100, group_id=group, idle_seconds=2
    )
    # Neither limit was reached: the run ended because nothing new arrived once it had caught up.
    assert result.messages < 1_000_000 and time.monotonic() - started < 300
    assert logged(db, [e["event_id"] for e in events]) == {e["event_id"]: 1 for e in events}
