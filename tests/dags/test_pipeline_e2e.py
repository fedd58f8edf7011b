"""End to end, all real: the API, the relay, Kafka, PostgreSQL and the three DAGs run with dag.test().

A user and a recurring task are created through the API; recurrence_expansion creates the due instances
and their task-created and recurring-task-due events reach Kafka through the outbox and the relay;
event_log writes them into the history served by GET /api/tasks/{id}/events; due_date_sweep fills the
inbox served by GET /api/notifications and publishes task-due-soon.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from todoflow.core.events import RECURRING_TASK_DUE, TASK_CREATED, TASK_DUE_SOON, TOPICS
from todoflow.quality.checks import check_names

pytestmark = pytest.mark.airflow

PASSWORD = "correct horse battery staple"
TIMEZONE = "America/New_York"


class Tail:
    """Reads what is published to topics from now on (assigned partitions from their current ends, no group)."""

    def __init__(self, bootstrap: str, topics: tuple[str, ...]) -> None:
        self.consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": f"tail-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )
        partitions = end_offsets(self.consumer, topics)
        self.consumer.assign(partitions)
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, match: Callable[[dict[str, Any]], bool], count: int, timeout: float = 60.0) -> list[dict]:
        """The events matching, once count of them arrived (or whatever arrived by the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len([e for e in self.seen if match(e)]) < count:
            message = self.consumer.poll(0.5)
            if message is None or message.error():
                continue
            try:
                event = json.loads(message.value())
            except ValueError:
                continue  # other suites publish malformed messages on purpose (consumers must survive them)
            if isinstance(event, dict) and isinstance(event.get("data"), dict):
                self.seen.append(event)
        return [e for e in self.seen if match(e)]

    def close(self) -> None:
        self.consumer.close()


def end_offsets(consumer: Consumer, topics: tuple[str, ...]) -> list[TopicPartition]:
    metadata = consumer.list_topics(timeout=15)
    partitions = []
    for topic in topics:
        for partition in sorted(metadata.topics[topic].partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
            partitions.append(TopicPartition(topic, partition, high))
    return partitions


def position_group(bootstrap: str, group: str, ahead: int = 0) -> None:
    """Commit the group's offsets at the topics' current ends (plus ahead): it starts with what comes next."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        offsets = [TopicPartition(tp.topic, tp.partition, tp.offset + ahead) for tp in end_offsets(consumer, TOPICS)]
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


@pytest.fixture
def relay(clean_db: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`todoflow relay` publishing the test database's outbox to the local Kafka."""
    log = tmp_path / "relay.log"
    env = {**os.environ, "DATABASE_URL": clean_db, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("todoflow")), "relay"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    print(log.read_text(errors="replace")[-3000:])


@pytest.fixture
def api(client: Any) -> Any:
    """The real app's test client (tests/conftest.py), named for what it stands for here."""
    return client


def _user_headers(api: Any) -> dict[str, str]:
    email = f"pipeline-{uuid.uuid4().hex[:10]}@example.com"
    registered = api.post("/api/auth/register", json={"email": email, "password": PASSWORD, "timezone": TIMEZONE})
    assert registered.status_code == 201, registered.get_json()
    login = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    return {"Authorization": f"Bearer {login.get_json()['access_token']}"}


def _states(run: dict[str, Any]) -> dict[tuple[str, int], str]:
    return {(ti["task_id"], ti["map_index"]): ti["state"] for ti in run["task_instances"]}


@pytest.mark.timeout(900)
def test_recurring_task_to_history_and_notifications(
    api: Any, relay: subprocess.Popen[bytes], kafka_bootstrap: str, run_dag: Callable[..., dict[str, Any]]
) -> None:
    as_of = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    today = as_of.astimezone(ZoneInfo(TIMEZONE)).date()
    start = today - timedelta(days=2)
    expected_dates = [str(start + timedelta(days=n)) for n in range(3)]
    group = f"todoflow-event-log-e2e-{uuid.uuid4().hex[:10]}"
    position_group(kafka_bootstrap, group)
    tail = Tail(kafka_bootstrap, TOPICS)
    env = {
        "TODOFLOW_EXPANSION_SHARDS": "2",
        "TODOFLOW_EVENT_LOG_GROUP": group,
        "TODOFLOW_EVENT_LOG_MAX_SECONDS": "20",
    }
    try:
        headers = _user_headers(api)
        created = api.post(
            "/api/recurring-tasks",
            headers=headers,
            json={"title": "Water the plants", "recurrence_type": "daily", "recurrence_interval": 1,
                  "start_date": str(start)},
        )  # fmt: skip
        assert created.status_code == 201, created.get_json()
        rid = created.get_json()["id"]
        # Created two days ago and never expanded since (an outage): the expansion catches up from the
        # creation day (the creation policy never goes earlier than that day).
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(
                """UPDATE recurring_tasks SET created_at = created_at - interval '2 days', next_due_at = start_date,
                       next_index = 0 WHERE id = %s""",
                (rid,),
            )

        # recurrence_expansion: two shards, then the asset for the quality checks and the sweep.
        run = run_dag("recurrence_expansion", as_of, **env)
        assert run["state"] == "success"
        assert _states(run) == {
            ("expand_recurrences", 0): "success",
            ("expand_recurrences", 1): "success",
            ("mark_schedules_expanded", -1): "success",
            ("sweep_due", -1): "success",
        }
        assert run["asset_events"] == [{"uri": "todoflow://schedules/expanded", "extra": {"as_of": as_of.isoformat()}}]
        listed = api.get(f"/api/tasks?recurring_task_id={rid}&sort_by=due_date&sort_order=asc", headers=headers)
        assert listed.status_code == 200, listed.get_json()
        instances = listed.get_json()["items"]
        assert [t["due_date"] for t in instances] == expected_dates
        task_ids = {t["id"] for t in instances}
        # Their reminders followed at once: the expansion's own sweep, before any due_date_sweep run.
        at_once = api.get("/api/notifications", headers=headers).get_json()["items"]
        assert sorted(n["task_id"] for n in at_once) == sorted(task_ids)
        # Task ids restart with every clean database: the owner tells this run's events from older ones.
        user_id = api.get("/api/auth/me", headers=headers).get_json()["id"]

        def ours(e: dict[str, Any]) -> bool:
            return e["data"].get("user_id") == user_id and e["data"].get("task_id") in task_ids

        # Their events reach Kafka through the outbox and the relay.
        created_events = tail.wait_for(lambda e: e["event_type"] == TASK_CREATED and ours(e), 3)
        due_events = tail.wait_for(
            lambda e: e["event_type"] == RECURRING_TASK_DUE and e["data"]["recurring_task_id"] == rid, 3
        )
        assert sorted(e["data"]["due_date"] for e in created_events) == expected_dates
        assert sorted(e["data"]["task_id"] for e in due_events) == sorted(task_ids)
        assert {datetime.fromisoformat(e["data"]["as_of"]) for e in due_events} == {as_of}

        # Rerunning the same interval changes nothing.
        rerun = run_dag("recurrence_expansion", as_of, **env)
        assert rerun["state"] == "success"
        again = api.get(f"/api/tasks?recurring_task_id={rid}&total=true", headers=headers).get_json()
        assert again["total"] == 3

        # event_log writes them into each task's history, with the reminder the expansion's sweep sent.
        run = run_dag("event_log", as_of, **env)
        assert run["state"] == "success"
        assert _states(run) == {("pending_events", -1): "success", ("write_event_log", -1): "success"}
        for task in instances:
            history = api.get(f"/api/tasks/{task['id']}/events", headers=headers)
            assert history.status_code == 200, history.get_json()
            types = sorted(e["event_type"] for e in history.get_json()["items"])
            assert types == [RECURRING_TASK_DUE, TASK_CREATED, TASK_DUE_SOON], task

        # The overdue and due-today instances were notified by the expansion's own sweep, once: the
        # due_date_sweep run after it finds nothing left.
        run = run_dag("due_date_sweep", as_of, **env)
        assert run["state"] == "success"
        inbox = api.get("/api/notifications", headers=headers)
        assert inbox.status_code == 200, inbox.get_json()
        notes = inbox.get_json()["items"]
        assert sorted((n["task_id"], n["due_date"]) for n in notes) == sorted(
            (t["id"], t["due_date"]) for t in instances
        )
        due_soon = tail.wait_for(lambda e: e["event_type"] == TASK_DUE_SOON and ours(e), 3)
        assert sorted(e["data"]["notification_id"] for e in due_soon) == sorted(n["id"] for n in notes)

        rerun = run_dag("due_date_sweep", as_of, **env)
        assert rerun["state"] == "success"
        assert api.get("/api/notifications?total=true", headers=headers).get_json()["total"] == 3

        # schedule_quality: the data the real jobs left behind passes every expectation, checked later on
        # (two hours on, every tolerance has passed, so nothing is excused as "still in progress").
        later = as_of + timedelta(hours=2)
        run = run_dag("schedule_quality", later, **env)
        assert run["state"] == "success", run["log"][-3000:]
        assert f"{len(check_names())} passed, 0 failed" in run["log"]  # every check, issue 13's rule check too

        # A history that no longer reconciles with the instances fails the run, naming the expectation.
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(
                "DELETE FROM task_event_log WHERE task_id = %s AND event_type = 'recurring-task-due'",
                (instances[0]["id"],),
            )
        run = run_dag("schedule_quality", later, **env, TODOFLOW_QUALITY_RETRIES="0")
        assert run["state"] == "failed"
        assert _states(run) == {("check_schedules", -1): "failed"}
        assert "FAILED instances_reconcile_with_event_log: 1 offending row(s)" in run["log"]
    finally:
        tail.close()


def test_event_log_run_stops_before_the_job_when_nothing_is_pending(
    kafka_bootstrap: str, run_dag: Callable[..., dict[str, Any]]
) -> None:
    group = f"todoflow-event-log-idle-{uuid.uuid4().hex[:10]}"
    # Committed far past the ends: whatever others publish meanwhile, this group has nothing to read.
    position_group(kafka_bootstrap, group, ahead=10**9)
    run = run_dag("event_log", datetime.now(UTC), TODOFLOW_EVENT_LOG_GROUP=group)
    assert run["state"] == "success"
    assert _states(run) == {("pending_events", -1): "success", ("write_event_log", -1): "skipped"}
    assert f"consumer group {group} lag per topic" in run["log"]
