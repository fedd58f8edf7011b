"""Task changes through the real API reach Kafka through the outbox and the relay: one event each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.events.support import KafkaTail, Received, RelayProcess, first_occurrences, outbox_counts, task_ids_by_key
from tests.support import StatsdListener, wait_until
from todoflow.api import create_app
from todoflow.core.event_schemas import validate_event
from todoflow.core.events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_UPDATED, TOPICS
from todoflow_dev.devstack.kafka import Broker

PASSWORD = "correct horse battery"


@dataclass
class User:
    id: str
    headers: dict[str, str]


@pytest.fixture
def make_user(client: FlaskClient) -> Callable[[], User]:
    def _make() -> User:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        registered = client.post("/api/auth/register", json={"email": email, "password": PASSWORD, "timezone": "UTC"})
        assert registered.status_code == 201, registered.get_json()
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.get_json()
        token = login.get_json()["access_token"]
        return User(registered.get_json()["id"], {"Authorization": f"Bearer {token}"})

    return _make


def _check(message: Received, event_type: str, user: User, task: dict[str, Any]) -> None:
    """The message is the event_type event of task, keyed by its owner, valid against its schema."""
    assert message.topic == event_type
    assert message.key == user.id
    assert message.headers["event_type"] == event_type.encode()
    assert message.headers["content-type"] == b"application/json"
    assert message.event["event_type"] == event_type
    validate_event(message.event)
    data = message.event["data"]
    assert data["task_id"] == task["id"]
    assert data["user_id"] == user.id
    for field in ("title", "description", "priority_id", "due_date", "completed", "is_recurring"):
        assert data[field] == task[field], field


def test_every_task_change_through_the_api_publishes_exactly_one_event(
    client: FlaskClient,
    make_user: Callable[[], User],
    tail: Callable[..., KafkaTail],
    start_relay: Callable[..., RelayProcess],
    clean_db: str,
) -> None:
    reader = tail(*TOPICS)
    start_relay().wait_active()
    alice, bob = make_user(), make_user()
    seen = 0

    def expect_event(event_type: str, task: dict[str, Any]) -> Received:
        nonlocal seen
        seen += 1
        message = reader.collect(seen, timeout=20, where=lambda r: r.key == alice.id)[-1]
        _check(message, event_type, alice, task)
        return message

    created = client.post("/api/tasks", json={"title": "water plants", "due_date": "2030-05-01"}, headers=alice.headers)
    assert created.status_code == 201
    task = created.get_json()
    tid = task["id"]
    expect_event(TASK_CREATED, task)

    patched = client.patch(f"/api/tasks/{tid}", json={"title": "water the plants"}, headers=alice.headers)
    assert patched.status_code == 200
    expect_event(TASK_UPDATED, patched.get_json())
    # The same values again change nothing, so no event.
    assert (
        client.patch(f"/api/tasks/{tid}", json={"title": "water the plants"}, headers=alice.headers).status_code == 200
    )

    replaced = client.put(
        f"/api/tasks/{tid}", json={"title": "water plants", "description": "all of them"}, headers=alice.headers
    )
    assert replaced.status_code == 200
    expect_event(TASK_UPDATED, replaced.get_json())

    completed = client.post(f"/api/tasks/{tid}/complete", headers=alice.headers)
    assert completed.status_code == 200
    message = expect_event(TASK_COMPLETED, completed.get_json())
    assert message.event["data"]["completed_at"] is not None
    assert client.post(f"/api/tasks/{tid}/complete", headers=alice.headers).status_code == 200  # already: no event

    reopened = client.post(f"/api/tasks/{tid}/reopen", headers=alice.headers)
    assert reopened.status_code == 200
    expect_event(TASK_UPDATED, reopened.get_json())

    # Reads, failures and other users' attempts change nothing and publish nothing.
    assert client.get(f"/api/tasks/{tid}", headers=alice.headers).status_code == 200
    assert client.get("/api/tasks", headers=alice.headers).status_code == 200
    assert client.patch(f"/api/tasks/{tid}", json={"title": "mine"}, headers=bob.headers).status_code == 404
    assert client.delete(f"/api/tasks/{tid}", headers=bob.headers).status_code == 404
    assert client.post("/api/tasks", json={"description": "no title"}, headers=alice.headers).status_code == 400
    assert client.patch(f"/api/tasks/{tid}", json={"title": ""}, headers=alice.headers).status_code == 400

    before_delete = client.get(f"/api/tasks/{tid}", headers=alice.headers).get_json()
    assert client.delete(f"/api/tasks/{tid}", headers=alice.headers).status_code == 204
    message = expect_event(TASK_DELETED, before_delete)
    assert message.event["data"]["deleted_at"] is not None
    assert client.delete(f"/api/tasks/{tid}", headers=alice.headers).status_code == 404  # gone: no event

    everything = reader.settle()
    assert len(everything) == 6, [(r.topic, r.key) for r in everything]
    assert [r.topic for r in everything] == [
        TASK_CREATED,
        TASK_UPDATED,
        TASK_UPDATED,
        TASK_COMPLETED,
        TASK_UPDATED,
        TASK_DELETED,
    ]
    assert len({r.event["event_id"] for r in everything}) == 6
    assert outbox_counts(clean_db) == (6, 0)


def test_kafka_down_500_tasks_through_the_api_all_arrive_in_per_user_order(
    client: FlaskClient,
    make_user: Callable[[], User],
    broker: Broker,
    statsd_listener: StatsdListener,
    tail: Callable[..., KafkaTail],
    start_relay: Callable[..., RelayProcess],
    clean_db: str,
) -> None:
    users = [make_user() for _ in range(5)]
    # 100 tasks per user in a few seconds is over the default write rate (issue 11); this test is about Kafka.
    client = create_app({"WRITE_BURST": 1000}).test_client()
    reader = tail(TASK_CREATED)
    relay = start_relay(RELAY_MESSAGE_TIMEOUT_MS="3000")
    relay.wait_active()
    created: dict[str, list[int]] = {u.id: [] for u in users}
    broker.stop()
    try:
        assert not broker.is_running()
        for n in range(100):
            for user in users:
                response = client.post("/api/tasks", json={"title": f"task {n}"}, headers=user.headers)
                assert response.status_code == 201, response.get_json()
                created[user.id].append(response.get_json()["id"])
        assert outbox_counts(clean_db) == (0, 500), "the outbox holds every change while Kafka is away"
        wait_until(
            lambda: len([v for v in statsd_listener.values("todoflow.relay.backoff_seconds", "g") if v]) >= 2,
            60,
            "two failed attempts",
        )
        backoffs = [v for v in statsd_listener.values("todoflow.relay.backoff_seconds", "g") if v]
        assert backoffs[:2] == [0.2, 0.4], "exponential backoff between attempts"
        assert sum(statsd_listener.values("todoflow.relay.errors.publish", "c")) >= 2
        wait_until(
            lambda: 500 in statsd_listener.values("todoflow.relay.outbox.lag", "g"), 10, "the lag gauge to show 500"
        )
        assert max(statsd_listener.values("todoflow.relay.outbox.oldest_age_seconds", "g")) > 1
        assert outbox_counts(clean_db) == (0, 500), "nothing that failed was marked published"
        assert relay.alive()
    finally:
        broker.start()
    wait_until(lambda: outbox_counts(clean_db) == (500, 0), 90, "the backlog to drain after Kafka returned")
    reader.collect(500, timeout=60, where=lambda r: r.key in created)
    unique = first_occurrences(r for r in reader.settle() if r.key in created)
    assert len(unique) == 500
    assert task_ids_by_key(unique) == created, "every user's events arrive in the order the tasks were created"
    wait_until(lambda: 0 in statsd_listener.values("todoflow.relay.outbox.lag", "g"), 10, "lag gauge back to 0")
