"""Tasks: create, read, list (filters, sorting, pages), change, complete/reopen, soft delete, history."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from tests.api.support import ApiUser, error_of

TASK_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "priority_id",
    "due_date",
    "completed",
    "completed_at",
    "is_recurring",
    "recurring_task_id",
    "notified",
    "created_at",
    "updated_at",
}


def _create(client: Any, user: ApiUser, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/tasks", json={"title": "a task", **fields}, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_and_get(client: Any, alice: ApiUser) -> None:
    task = _create(client, alice, title="Buy milk", description="2 litres", priority_id=3, due_date="2030-01-15")
    assert set(task) == TASK_FIELDS
    assert task["user_id"] == alice.id
    assert (task["title"], task["description"], task["priority_id"], task["due_date"]) == (
        "Buy milk",
        "2 litres",
        3,
        "2030-01-15",
    )
    assert task["completed"] is False and task["completed_at"] is None and task["notified"] is False
    assert client.get(f"/api/tasks/{task['id']}", headers=alice.headers).get_json() == task


def test_create_defaults(client: Any, alice: ApiUser) -> None:
    task = _create(client, alice, title="Just a title")
    assert task["description"] == "" and task["priority_id"] is None and task["due_date"] is None


def test_create_validation(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    cases = [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"title": "ok", "description": "d" * 2001}, "description"),
        ({"title": "ok", "due_date": "2030-02-30"}, "due_date"),
        ({"title": "ok", "due_date": "tomorrow"}, "due_date"),
        ({"title": "ok", "priority_id": "3"}, "priority_id"),
        ({"title": "ok", "priority_id": 1.5}, "priority_id"),
        ({"title": "ok", "priority_id": 10**20}, "priority_id"),
        ({"title": "ok", "priority_id": 99}, "priority_id"),
        ({"title": 5}, "title"),
        ({"title": "ok", "completed": True}, "completed"),
        ({"title": "ok", "user_id": str(uuid.uuid4())}, "user_id"),
        ({"title": "nul \x00 byte"}, "title"),
        ({"description": "no title"}, "title"),
    ]
    for body, field in cases:
        response = client.post("/api/tasks", json=body, headers=alice.headers)
        assert response.status_code == 400, (body, response.get_json())
        error = error_of(response)
        assert field in error["details"]["json"], (body, error)
    assert pg.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0
    assert client.post("/api/tasks", json={"title": "x" * 500}, headers=alice.headers).status_code == 201


def test_lone_surrogate_in_title_is_400(client: Any, alice: ApiUser) -> None:
    body = '{"title": "bad \\ud800 text"}'
    response = client.post("/api/tasks", data=body, content_type="application/json", headers=alice.headers)
    assert response.status_code == 400 and "title" in error_of(response)["details"]["json"]


def test_list_pages_and_total(client: Any, alice: ApiUser, bob: ApiUser) -> None:
    ids = [_create(client, alice, title=f"task {n}")["id"] for n in range(25)]
    _create(client, bob, title="bob's")
    first = client.get("/api/tasks?total=true", headers=alice.headers).get_json()
    assert (first["total"], first["limit"], first["offset"]) == (25, 20, 0)
    # Newest first by default.
    assert [t["id"] for t in first["items"]] == ids[::-1][:20]
    second = client.get("/api/tasks?limit=20&offset=20", headers=alice.headers).get_json()
    assert [t["id"] for t in second["items"]] == ids[::-1][20:]
    past_the_end = client.get("/api/tasks?offset=100&total=true", headers=alice.headers).get_json()
    assert past_the_end["items"] == [] and past_the_end["total"] == 25
    assert client.get("/api/tasks?limit=100&total=true", headers=bob.headers).get_json()["total"] == 1


def test_list_filters(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    early = _create(client, alice, title="early", due_date="2030-01-01", priority_id=1)
    late = _create(client, alice, title="late", due_date="2030-06-01", priority_id=4)
    undated = _create(client, alice, title="undated")
    client.post(f"/api/tasks/{late['id']}/complete", headers=alice.headers)
    series = uuid.uuid4()
    pg.execute(
        """INSERT INTO recurring_tasks (id, user_id, title, recurrence_type, start_date, next_due_at)
           VALUES (%s, %s, 'series', 'daily', '2030-01-01', '2030-01-01')""",
        (series, alice.id),
    )
    pg.execute("UPDATE tasks SET recurring_task_id = %s, is_recurring = true WHERE id = %s", (series, early["id"]))

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/tasks?{query}", headers=alice.headers)
        assert response.status_code == 200, response.get_json()
        return {t["id"] for t in response.get_json()["items"]}

    assert ids("completed=true") == {late["id"]}
    assert ids("completed=false") == {early["id"], undated["id"]}
    assert ids("priority_id=4") == {late["id"]}
    assert ids("due_before=2030-01-01") == {early["id"]}
    assert ids("due_after=2030-01-02") == {late["id"]}
    assert ids("due_after=2030-01-01&due_before=2030-06-01") == {early["id"], late["id"]}
    assert ids(f"recurring_task_id={series}") == {early["id"]}


def test_list_sorting(client: Any, alice: ApiUser) -> None:
    a = _create(client, alice, title="a", due_date="2030-03-01", priority_id=2)
    b = _create(client, alice, title="b", due_date="2030-01-01", priority_id=4)
    c = _create(client, alice, title="c")

    def order(query: str) -> list[int]:
        return [t["id"] for t in client.get(f"/api/tasks?{query}", headers=alice.headers).get_json()["items"]]

    assert order("sort_by=due_date&sort_order=asc") == [b["id"], a["id"], c["id"]]
    assert order("sort_by=due_date&sort_order=desc") == [a["id"], b["id"], c["id"]]
    assert order("sort_by=priority&sort_order=desc") == [b["id"], a["id"], c["id"]]
    assert order("sort_by=priority&sort_order=asc") == [a["id"], b["id"], c["id"]]
    assert order("sort_by=created_at&sort_order=asc") == [a["id"], b["id"], c["id"]]


def test_list_query_validation(client: Any, alice: ApiUser) -> None:
    for query, field in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("limit=abc", "limit"),
        ("sort_by=title", "sort_by"),
        ("sort_order=up", "sort_order"),
        ("due_before=2030-13-01", "due_before"),
        ("completed=maybe", "completed"),
        ("recurring_task_id=nope", "recurring_task_id"),
        ("priority_id=99999999999999999999", "priority_id"),
    ]:
        response = client.get(f"/api/tasks?{query}", headers=alice.headers)
        assert response.status_code == 400, query
        assert field in error_of(response)["details"]["query"], query


def test_patch_changes_only_given_fields(client: Any, alice: ApiUser) -> None:
    task = _create(client, alice, title="old", description="keep", priority_id=1, due_date="2030-01-01")
    response = client.patch(
        f"/api/tasks/{task['id']}", json={"title": "new", "priority_id": None}, headers=alice.headers
    )
    assert response.status_code == 200
    changed = response.get_json()
    assert (changed["title"], changed["description"], changed["priority_id"], changed["due_date"]) == (
        "new",
        "keep",
        None,
        "2030-01-01",
    )
    assert changed["updated_at"] > task["updated_at"]
    bad = client.patch(f"/api/tasks/{task['id']}", json={"title": ""}, headers=alice.headers)
    assert bad.status_code == 400
    assert client.get(f"/api/tasks/{task['id']}", headers=alice.headers).get_json()["title"] == "new"


def test_put_replaces_fields(client: Any, alice: ApiUser) -> None:
    task = _create(client, alice, title="old", description="gone", priority_id=1, due_date="2030-01-01")
    response = client.put(f"/api/tasks/{task['id']}", json={"title": "replaced"}, headers=alice.headers)
    assert response.status_code == 200
    replaced = response.get_json()
    assert (replaced["title"], replaced["description"], replaced["priority_id"], replaced["due_date"]) == (
        "replaced",
        "",
        None,
        None,
    )
    assert (
        client.put(f"/api/tasks/{task['id']}", json={"description": "no title"}, headers=alice.headers).status_code
        == 400
    )


def test_changing_the_due_date_rearms_the_reminder(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    task = _create(client, alice, due_date="2030-01-01")
    pg.execute("UPDATE tasks SET notified = true WHERE id = %s", (task["id"],))
    same = client.patch(
        f"/api/tasks/{task['id']}", json={"due_date": "2030-01-01", "title": "t2"}, headers=alice.headers
    )
    assert same.get_json()["notified"] is True
    moved = client.patch(f"/api/tasks/{task['id']}", json={"due_date": "2030-02-01"}, headers=alice.headers)
    assert moved.get_json()["notified"] is False and moved.get_json()["due_date"] == "2030-02-01"


def test_complete_and_reopen(client: Any, alice: ApiUser) -> None:
    task = _create(client, alice)
    done = client.post(f"/api/tasks/{task['id']}/complete", headers=alice.headers)
    assert done.status_code == 200
    assert done.get_json()["completed"] is True and done.get_json()["completed_at"] is not None
    again = client.post(f"/api/tasks/{task['id']}/complete", headers=alice.headers).get_json()
    assert again["completed_at"] == done.get_json()["completed_at"]
    reopened = client.post(f"/api/tasks/{task['id']}/reopen", headers=alice.headers).get_json()
    assert reopened["completed"] is False and reopened["completed_at"] is None


def test_delete_is_soft_and_hides_the_task(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    task = _create(client, alice)
    assert client.delete(f"/api/tasks/{task['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"/api/tasks/{task['id']}", headers=alice.headers).status_code == 404
    assert client.get("/api/tasks?total=true", headers=alice.headers).get_json()["total"] == 0
    for method, path in [
        ("patch", f"/api/tasks/{task['id']}"),
        ("put", f"/api/tasks/{task['id']}"),
        ("delete", f"/api/tasks/{task['id']}"),
        ("post", f"/api/tasks/{task['id']}/complete"),
        ("post", f"/api/tasks/{task['id']}/reopen"),
    ]:
        kwargs = {"json": {"title": "x"}} if method in ("patch", "put") else {}
        response = getattr(client, method)(path, headers=alice.headers, **kwargs)
        assert response.status_code == 404, (method, path)
        assert error_of(response)["code"] == "not_found"
    assert pg.execute("SELECT deleted_at IS NOT NULL FROM tasks WHERE id = %s", (task["id"],)).fetchone()[0]


def test_unknown_ids_are_404(client: Any, alice: ApiUser) -> None:
    for path in ("/api/tasks/999999", f"/api/tasks/{2**63}", f"/api/tasks/{10**30}", "/api/tasks/0"):
        response = client.get(path, headers=alice.headers)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"
    assert client.patch(f"/api/tasks/{10**30}", json={"title": "x"}, headers=alice.headers).status_code == 404
    assert client.get(f"/api/tasks/{10**30}/events", headers=alice.headers).status_code == 404


def _log_event(pg: psycopg.Connection[Any], task_id: int, user_id: str, event_type: str, at: str) -> str:
    event_id = str(uuid.uuid4())
    pg.execute(
        """INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (event_id, task_id, user_id, event_type, json.dumps({"task_id": task_id, "title": event_type}), at),
    )
    return event_id


def test_history_oldest_first_and_kept_after_delete(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    task = _create(client, alice)
    other = _create(client, alice)
    second = _log_event(pg, task["id"], alice.id, "task-updated", "2030-01-02T00:00:00Z")
    first = _log_event(pg, task["id"], alice.id, "task-created", "2030-01-01T00:00:00Z")
    _log_event(pg, other["id"], alice.id, "task-created", "2030-01-01T00:00:00Z")
    history = client.get(f"/api/tasks/{task['id']}/events?total=true", headers=alice.headers).get_json()
    assert history["total"] == 2
    assert [e["event_id"] for e in history["items"]] == [first, second]
    assert history["items"][0]["event_type"] == "task-created"
    assert history["items"][0]["data"] == {"task_id": task["id"], "title": "task-created"}
    client.delete(f"/api/tasks/{task['id']}", headers=alice.headers)
    third = _log_event(pg, task["id"], alice.id, "task-deleted", "2030-01-03T00:00:00Z")
    after = client.get(f"/api/tasks/{task['id']}/events", headers=alice.headers).get_json()
    assert [e["event_id"] for e in after["items"]] == [first, second, third]
    paged = client.get(f"/api/tasks/{task['id']}/events?limit=1&offset=1&total=true", headers=alice.headers).get_json()
    assert [e["event_id"] for e in paged["items"]] == [second] and paged["total"] == 3


def test_history_of_a_task_without_events_is_empty(client: Any, alice: ApiUser) -> None:
    task = _create(client, alice)
    history = client.get(f"/api/tasks/{task['id']}/events", headers=alice.headers).get_json()
    assert history == {"items": [], "total": None, "limit": 100, "offset": 0, "next_cursor": None}
