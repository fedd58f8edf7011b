"""The inbox: list (unread filter, pages) and mark read."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.api.support import ApiUser, error_of


def _notify(pg: psycopg.Connection[Any], user: ApiUser, title: str, created: str) -> str:
    task_id = pg.execute(
        "INSERT INTO tasks (user_id, title) VALUES (%s, %s) RETURNING id", (user.id, title)
    ).fetchone()[0]
    return str(
        pg.execute(
            """INSERT INTO notifications (user_id, task_id, title, message, due_date, created_at)
               VALUES (%s, %s, %s, %s, '2030-01-01', %s) RETURNING id""",
            (user.id, task_id, title, f"{title} is due tomorrow", created),
        ).fetchone()[0]
    )


def test_list_newest_first_with_unread_filter(
    client: Any, alice: ApiUser, bob: ApiUser, pg: psycopg.Connection[Any]
) -> None:
    old = _notify(pg, alice, "old", "2030-01-01T00:00:00Z")
    new = _notify(pg, alice, "new", "2030-01-02T00:00:00Z")
    _notify(pg, bob, "bob's", "2030-01-03T00:00:00Z")
    listed = client.get("/api/notifications?total=true", headers=alice.headers).get_json()
    assert listed["total"] == 2 and [n["id"] for n in listed["items"]] == [new, old]
    item = listed["items"][0]
    assert set(item) == {"id", "task_id", "kind", "title", "message", "due_date", "created_at", "read_at"}
    assert item["kind"] == "task-due-soon" and item["read_at"] is None and item["message"] == "new is due tomorrow"

    read = client.post(f"/api/notifications/{old}/read", headers=alice.headers)
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    again = client.post(f"/api/notifications/{old}/read", headers=alice.headers)
    assert again.get_json()["read_at"] == read.get_json()["read_at"]

    assert [
        n["id"] for n in client.get("/api/notifications?unread=true", headers=alice.headers).get_json()["items"]
    ] == [new]
    assert [
        n["id"] for n in client.get("/api/notifications?unread=false", headers=alice.headers).get_json()["items"]
    ] == [old]
    page = client.get("/api/notifications?limit=1&offset=1&total=true", headers=alice.headers).get_json()
    assert page["total"] == 2 and [n["id"] for n in page["items"]] == [old]


def test_validation_and_unknown_ids(client: Any, alice: ApiUser) -> None:
    for query in ("limit=0", "limit=500", "offset=-3", "unread=sometimes"):
        response = client.get(f"/api/notifications?{query}", headers=alice.headers)
        assert response.status_code == 400 and error_of(response)["code"] == "validation_error", query
    missing = client.post("/api/notifications/00000000-0000-0000-0000-000000000000/read", headers=alice.headers)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
