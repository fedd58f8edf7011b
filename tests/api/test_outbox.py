"""Every change to a task writes exactly one outbox row, in its transaction; a failed change writes none."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.api.support import ApiUser
from todoflow.core.event_schemas import validate_event


def _single_new_row(outbox: Any, before: int) -> dict[str, Any]:
    rows = outbox()
    assert len(rows) == before + 1, rows[before:]
    return rows[-1]


def _check(row: dict[str, Any], event_type: str, user: ApiUser, task: dict[str, Any]) -> dict[str, Any]:
    payload = row["payload"]
    validate_event(payload)  # the envelope and data match core/schemas/<type>.json
    assert row["topic"] == event_type == payload["event_type"]
    assert row["key"] == user.id
    data = payload["data"]
    assert data["task_id"] == task["id"] and data["user_id"] == user.id
    for field in ("title", "description", "priority_id", "due_date", "completed", "is_recurring", "recurring_task_id"):
        assert data[field] == task[field], field
    return data


def test_each_change_writes_one_event(client: Any, alice: ApiUser, outbox: Any) -> None:
    created = client.post("/api/tasks", json={"title": "t", "due_date": "2030-01-01"}, headers=alice.headers).get_json()
    _check(_single_new_row(outbox, 0), "task-created", alice, created)

    steps = [
        ("patch", "", {"title": "t2"}, "task-updated"),
        ("put", "", {"title": "t3", "priority_id": 2}, "task-updated"),
        ("post", "/complete", None, "task-completed"),
        ("post", "/reopen", None, "task-updated"),
    ]
    for count, (method, suffix, body, event_type) in enumerate(steps, start=1):
        kwargs = {"json": body} if body is not None else {}
        response = getattr(client, method)(f"/api/tasks/{created['id']}{suffix}", headers=alice.headers, **kwargs)
        assert response.status_code == 200
        _check(_single_new_row(outbox, count), event_type, alice, response.get_json())

    before = len(outbox())
    task = client.get(f"/api/tasks/{created['id']}", headers=alice.headers).get_json()
    assert client.delete(f"/api/tasks/{created['id']}", headers=alice.headers).status_code == 204
    data = _check(_single_new_row(outbox, before), "task-deleted", alice, task)
    assert data["deleted_at"]


def test_completion_event_carries_the_completion(client: Any, alice: ApiUser, outbox: Any) -> None:
    task = client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).get_json()
    done = client.post(f"/api/tasks/{task['id']}/complete", headers=alice.headers).get_json()
    data = outbox()[-1]["payload"]["data"]
    assert data["completed"] is True and data["completed_at"] == done["completed_at"].replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("post", "", {"title": ""}),
        ("post", "", {"title": "t", "priority_id": 99}),
        ("patch", "/{id}", {"title": "x" * 501}),
        ("patch", "/{id}", {"priority_id": 42}),
        ("put", "/{id}", {"title": "t", "unknown": 1}),
        ("patch", "/999999", {"title": "x"}),
        ("post", "/999999/complete", None),
        ("delete", "/999999", None),
    ],
)
def test_failed_changes_write_nothing(
    client: Any, alice: ApiUser, outbox: Any, pg: psycopg.Connection[Any], method: str, suffix: str, body: Any
) -> None:
    task = client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).get_json()
    before = (len(outbox()), pg.execute("SELECT updated_at FROM tasks WHERE id = %s", (task["id"],)).fetchone())
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(f"/api/tasks{suffix.format(id=task['id'])}", headers=alice.headers, **kwargs)
    assert 400 <= response.status_code < 500
    after = (len(outbox()), pg.execute("SELECT updated_at FROM tasks WHERE id = %s", (task["id"],)).fetchone())
    assert after == before


def test_no_op_changes_write_nothing(client: Any, alice: ApiUser, outbox: Any) -> None:
    task = client.post("/api/tasks", json={"title": "t", "priority_id": 2}, headers=alice.headers).get_json()
    client.post(f"/api/tasks/{task['id']}/complete", headers=alice.headers)
    before = len(outbox())
    assert client.patch(f"/api/tasks/{task['id']}", json={"title": "t"}, headers=alice.headers).status_code == 200
    assert client.patch(f"/api/tasks/{task['id']}", json={}, headers=alice.headers).status_code == 200
    assert client.post(f"/api/tasks/{task['id']}/complete", headers=alice.headers).status_code == 200
    assert len(outbox()) == before


def test_other_users_changes_write_nothing(client: Any, alice: ApiUser, bob: ApiUser, outbox: Any) -> None:
    task = client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).get_json()
    before = len(outbox())
    assert client.patch(f"/api/tasks/{task['id']}", json={"title": "mine"}, headers=bob.headers).status_code == 404
    assert client.delete(f"/api/tasks/{task['id']}", headers=bob.headers).status_code == 404
    assert len(outbox()) == before


def test_event_ids_are_unique_and_the_rows_commit_with_the_change(
    client: Any, alice: ApiUser, outbox: Any, pg: psycopg.Connection[Any]
) -> None:
    for n in range(5):
        client.post("/api/tasks", json={"title": f"t{n}"}, headers=alice.headers)
    rows = outbox()
    assert len({r["payload"]["event_id"] for r in rows}) == 5
    # Same transaction: each outbox row carries the transaction id of its task's insert.
    task_xmins = {r[0] for r in pg.execute("SELECT xmin::text FROM tasks")}
    outbox_xmins = {r[0] for r in pg.execute("SELECT xmin::text FROM event_outbox")}
    assert task_xmins == outbox_xmins
    assert all(uuid.UUID(r["payload"]["event_id"]) for r in rows)
