"""An object is visible only to its owner: another user gets 404 (like an unknown id) and nothing changes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.api.support import ApiUser, error_of

TASK_CALLS = [
    ("get", "/api/tasks/{task}", None),
    ("patch", "/api/tasks/{task}", {"title": "stolen"}),
    ("put", "/api/tasks/{task}", {"title": "stolen"}),
    ("delete", "/api/tasks/{task}", None),
    ("post", "/api/tasks/{task}/complete", None),
    ("post", "/api/tasks/{task}/reopen", None),
    ("get", "/api/tasks/{task}/events", None),
]
RECURRING_CALLS = [
    ("get", "/api/recurring-tasks/{series}", None),
    ("put", "/api/recurring-tasks/{series}", {"title": "stolen", "end_date": "2025-01-07"}),
    ("delete", "/api/recurring-tasks/{series}", None),
    ("post", "/api/recurring-tasks/{series}/pause", None),
    ("post", "/api/recurring-tasks/{series}/resume", None),
]
NOTIFICATION_CALLS = [("post", "/api/notifications/{notification}/read", None)]
SNAPSHOTS = {
    "task": "SELECT to_jsonb(t) FROM tasks t WHERE id = %s",
    "series": "SELECT to_jsonb(r) FROM recurring_tasks r WHERE id = %s",
    "notification": "SELECT to_jsonb(n) FROM notifications n WHERE id = %s",
}


@pytest.fixture
def owned(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> dict[str, str]:
    """One of each object, all Alice's; the task is completed and the series paused so every call would act."""
    task = client.post("/api/tasks", json={"title": "mine", "due_date": "2030-01-01"}, headers=alice.headers).get_json()
    client.post(f"/api/tasks/{task['id']}/complete", headers=alice.headers)
    body = {"title": "s", "recurrence_type": "daily", "recurrence_interval": 1, "start_date": "2025-01-06"}
    series = client.post("/api/recurring-tasks", json=body, headers=alice.headers).get_json()
    client.post(f"/api/recurring-tasks/{series['id']}/pause", headers=alice.headers)
    notification = pg.execute(
        """INSERT INTO notifications (user_id, task_id, title, message, due_date)
           VALUES (%s, %s, 'mine', 'due', '2030-01-01') RETURNING id::text""",
        (alice.id, task["id"]),
    ).fetchone()[0]
    return {"task": str(task["id"]), "series": series["id"], "notification": notification}


@pytest.mark.parametrize(("method", "path", "body"), TASK_CALLS + RECURRING_CALLS + NOTIFICATION_CALLS)
def test_another_user_gets_404_and_changes_nothing(
    client: Any,
    bob: ApiUser,
    owned: dict[str, str],
    pg: psycopg.Connection[Any],
    outbox: Any,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    before = {kind: pg.execute(sql, (owned[kind],)).fetchone()[0] for kind, sql in SNAPSHOTS.items()}
    events_before = len(outbox())
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(path.format(**owned), headers=bob.headers, **kwargs)
    assert response.status_code == 404
    unknown = getattr(client, method)(
        path.format(
            task="987654321",
            series="5f0c9a0e-0000-4000-8000-000000000000",
            notification="5f0c9a0e-0000-4000-8000-000000000000",
        ),
        headers=bob.headers,
        **kwargs,
    )
    # Indistinguishable from an id that does not exist.
    assert unknown.status_code == 404 and error_of(response) == error_of(unknown)
    after = {kind: pg.execute(sql, (owned[kind],)).fetchone()[0] for kind, sql in SNAPSHOTS.items()}
    assert after == before
    assert len(outbox()) == events_before


def test_lists_show_only_the_owners_objects(client: Any, bob: ApiUser, owned: dict[str, str]) -> None:
    for path in ("/api/tasks", "/api/recurring-tasks", "/api/notifications"):
        listing = client.get(f"{path}?total=true", headers=bob.headers).get_json()
        assert listing["total"] == 0 and listing["items"] == [], path
    assert (
        client.get(f"/api/tasks?recurring_task_id={owned['series']}&total=true", headers=bob.headers).get_json()[
            "total"
        ]
        == 0
    )
