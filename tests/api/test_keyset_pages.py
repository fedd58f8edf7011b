"""Cursor (keyset) pages: every row exactly once in every sort, cursors bound to their list, indexes used."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import psycopg
import pytest
from sqlalchemy.dialects import postgresql

from tests.api.support import ApiUser, error_of
from todoflow.api import pagination, task_store

TASK_SORTS = [(sort, order) for sort in ("created_at", "due_date", "priority") for order in ("asc", "desc")]


def _seed_tasks(pg: psycopg.Connection[Any], user: ApiUser) -> list[dict[str, Any]]:
    """17 live tasks with ties in every sort key and nulls in the nullable ones, plus a deleted one."""
    priorities = [row[0] for row in pg.execute("SELECT id FROM priorities ORDER BY level")]
    rows = []
    for n in range(17):
        due = None if n % 4 == 0 else date(2030, 1, 1 + n % 3)
        priority = None if n % 5 == 0 else priorities[n % len(priorities)]
        created = f"2030-01-0{1 + n % 2}T00:00:00Z"  # many tasks share a creation instant
        row = pg.execute(
            """INSERT INTO tasks (user_id, title, due_date, priority_id, completed, completed_at, created_at)
               VALUES (%s, %s, %s, %s, %s, CASE WHEN %s THEN now() END, %s)
               RETURNING id, due_date, priority_id, created_at, completed""",
            (user.id, f"task {n}", due, priority, n % 3 == 0, n % 3 == 0, created),
        ).fetchone()
        assert row is not None
        rows.append(dict(zip(("id", "due_date", "priority_id", "created_at", "completed"), row, strict=True)))
    pg.execute(
        "INSERT INTO tasks (user_id, title, deleted_at) VALUES (%s, 'deleted', now())",
        (user.id,),
    )
    level = {pid: position for position, pid in enumerate(priorities)}
    for row in rows:
        row["level"] = level.get(row["priority_id"])
    return rows


def _expected(rows: list[dict[str, Any]], sort: str, order: str) -> list[int]:
    """The order the API promises: the sort key (nulls last either way), then the id, all in one direction."""
    column = {"created_at": "created_at", "due_date": "due_date", "priority": "level"}[sort]
    present = sorted((r for r in rows if r[column] is not None), key=lambda r: (r[column], r["id"]))
    absent = sorted((r for r in rows if r[column] is None), key=lambda r: r["id"])
    if order == "desc":
        present.reverse()
        absent.reverse()
    return [r["id"] for r in present + absent]


def _walk(client: Any, user: ApiUser, path: str, query: str, limit: int) -> list[Any]:
    """Every id of a list, page by page by cursor; each page's next_cursor is null only on the last."""
    ids: list[Any] = []
    url = f"{path}?{query}&limit={limit}"
    for _ in range(100):
        response = client.get(url, headers=user.headers)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert page["total"] is None and len(page["items"]) <= limit
        ids += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return ids
        assert len(page["items"]) == limit
        url = f"{path}?{query}&limit={limit}&cursor={page['next_cursor']}"
    raise AssertionError("the cursor walk did not end")


@pytest.mark.parametrize(("sort", "order"), TASK_SORTS)
def test_cursor_walk_covers_every_task_once_in_order(
    client: Any, alice: ApiUser, bob: ApiUser, pg: psycopg.Connection[Any], sort: str, order: str
) -> None:
    rows = _seed_tasks(pg, alice)
    _seed_tasks(pg, bob)
    expected = _expected(rows, sort, order)
    query = f"sort_by={sort}&sort_order={order}"
    for limit in (1, 4, 17, 20):
        assert _walk(client, alice, "/api/tasks", query, limit) == expected, limit
    # Offset pages keep the same order, and a cursor taken from an offset page goes on from there.
    offset_page = client.get(f"/api/tasks?{query}&limit=5&offset=5&total=true", headers=alice.headers).get_json()
    assert [t["id"] for t in offset_page["items"]] == expected[5:10] and offset_page["total"] == len(rows)
    rest = client.get(f"/api/tasks?{query}&limit=100&cursor={offset_page['next_cursor']}", headers=alice.headers)
    assert [t["id"] for t in rest.get_json()["items"]] == expected[10:]
    # With a filter too.
    open_ids = [i for i in expected if not next(r for r in rows if r["id"] == i)["completed"]]
    assert _walk(client, alice, "/api/tasks", f"{query}&completed=false", 3) == open_ids


def test_cursor_walks_of_the_other_lists(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    """Series, notifications, deliveries and a task's history page by cursor too, ties broken by id."""
    for n in range(5):
        body = {"title": f"s{n}", "recurrence_type": "daily", "recurrence_interval": 1, "start_date": "2099-01-01"}
        assert client.post("/api/recurring-tasks", json=body, headers=alice.headers).status_code == 201
    series = pg.execute("SELECT id FROM recurring_tasks ORDER BY next_due_at, id").fetchall()
    assert _walk(client, alice, "/api/recurring-tasks", "sort_by=next_due_at", 2) == [str(r[0]) for r in series]
    assert _walk(client, alice, "/api/recurring-tasks", "sort_order=desc", 2) == [str(r[0]) for r in series][::-1]

    for n in range(5):
        pg.execute(
            "INSERT INTO notifications (user_id, title, message, created_at) VALUES (%s, %s, 'm', '2030-01-01Z')",
            (alice.id, f"n{n}"),
        )
    inbox = [str(r[0]) for r in pg.execute("SELECT id FROM notifications ORDER BY created_at DESC, id DESC")]
    assert _walk(client, alice, "/api/notifications", "unread=true", 2) == inbox

    task = client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).get_json()
    for _ in range(5):
        pg.execute(
            """INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
               VALUES (%s, %s, %s, 'task-updated', '{}', '2030-01-01Z')""",
            (uuid.uuid4(), task["id"], alice.id),
        )
    history = [str(r[0]) for r in pg.execute("SELECT event_id FROM task_event_log ORDER BY created_at, id")]
    walked = _walk_events(client, alice, f"/api/tasks/{task['id']}/events")
    assert walked == history


def _walk_events(client: Any, user: ApiUser, path: str) -> list[str]:
    ids: list[str] = []
    url = f"{path}?limit=2"
    while url:
        page = client.get(url, headers=user.headers).get_json()
        ids += [item["event_id"] for item in page["items"]]
        url = f"{path}?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    return ids


def test_a_cursor_is_bound_to_its_owner_and_query(
    client: Any, alice: ApiUser, bob: ApiUser, pg: psycopg.Connection[Any]
) -> None:
    _seed_tasks(pg, alice)
    _seed_tasks(pg, bob)
    cursor = client.get("/api/tasks?limit=2&sort_by=due_date", headers=alice.headers).get_json()["next_cursor"]
    assert cursor

    foreign = client.get(f"/api/tasks?limit=2&sort_by=due_date&cursor={cursor}", headers=bob.headers)
    assert foreign.status_code == 400 and error_of(foreign)["code"] == "invalid_cursor"
    assert "another list" in error_of(foreign)["message"] and "items" not in foreign.get_json()

    for query in (
        "sort_by=created_at",
        "sort_by=due_date&sort_order=asc&completed=true",
        "sort_by=due_date&sort_order=asc",
    ):
        other = client.get(f"/api/tasks?limit=2&{query}&cursor={cursor}", headers=alice.headers)
        assert other.status_code == 400 and error_of(other)["code"] == "invalid_cursor", query
    elsewhere = client.get(f"/api/notifications?cursor={cursor}", headers=alice.headers)
    assert elsewhere.status_code == 400 and error_of(elsewhere)["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "cursor",
    ["x", "not.base64!", "e30.AAAA", "", "." * 50, "%E2%98%83", "eyJhIjoxfQ.c2ln"],
)
def test_bad_cursors_answer_400(client: Any, alice: ApiUser, cursor: str) -> None:
    response = client.get(f"/api/tasks?cursor={cursor}", headers=alice.headers)
    assert response.status_code == 400
    assert error_of(response)["code"] in ("invalid_cursor", "validation_error")


def test_a_tampered_cursor_answers_400(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    _seed_tasks(pg, alice)
    cursor = client.get("/api/tasks?limit=2", headers=alice.headers).get_json()["next_cursor"]
    payload, signature = cursor.split(".")
    for changed in (
        payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature,
        payload + "." + signature[::-1],
    ):
        response = client.get(f"/api/tasks?limit=2&cursor={changed}", headers=alice.headers)
        assert response.status_code == 400 and error_of(response)["code"] == "invalid_cursor"
        assert "next_cursor exactly" in error_of(response)["message"]
    both = client.get(f"/api/tasks?limit=2&offset=2&cursor={cursor}", headers=alice.headers)
    assert both.status_code == 400 and "either cursor or offset" in error_of(both)["message"]


@pytest.mark.parametrize(("sort", "order"), TASK_SORTS)
def test_every_cursor_page_of_tasks_is_an_index_range(
    app: Any, alice: ApiUser, bob: ApiUser, pg: psycopg.Connection[Any], sort: str, order: str
) -> None:
    """EXPLAIN of each segment statement after a cursor: an index scan in the wanted order, no Sort node."""
    # Enough rows, of several owners, for the planner's estimates to mean something.
    pg.execute(
        """INSERT INTO tasks (user_id, title, due_date, priority_id, created_at)
           SELECT u.id, 't', CASE WHEN n % 4 > 0 THEN date '2030-01-01' + n % 90 END,
                  CASE WHEN n % 5 > 0 THEN (SELECT min(id) FROM priorities) + n % 4 END,
                  timestamptz '2030-01-01' + n * interval '1 minute'
           FROM users u, generate_series(1, 5000) AS n"""
    )
    pg.execute("ANALYZE tasks")
    middle_id = pg.execute("SELECT (min(id) + max(id)) / 2 FROM tasks").fetchone()[0]  # type: ignore[index]
    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    with app.test_request_context("/api/tasks"):
        from todoflow.api.extensions import db

        query = {"sort_by": sort, "sort_order": order}
        priority_ids = tuple(db.session.execute(task_store.PRIORITY_IDS).scalars())
        base, order_spec, params = task_store.list_query(uuid.UUID(str(alice.id)), query, priority_ids)
        for index, segment in enumerate(order_spec.segments):
            statement = pagination.segment_statement(base, order_spec, index, True)
            compiled = statement.compile(dialect=dialect)
            values = {f"_key{i}": _middle(key, middle_id) for i, key in enumerate(segment.keys)}
            bound = {**compiled.params, **params, **values, "_limit": 21}
            plan = "\n".join(row[0] for row in pg.execute("EXPLAIN " + str(compiled), bound))
            assert "Index" in plan and "Sort" not in plan, plan


def _middle(key: Any, middle_id: int) -> Any:
    """A position in the middle of the seeded rows (a page from the middle of the list)."""
    kind = key.type.python_type
    if kind is int:
        return middle_id
    if kind is date:
        return date(2030, 2, 15)
    return "2030-01-02T12:00:00+00:00"
