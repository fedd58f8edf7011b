"""Recurring tasks: the seed's seven endpoints, the fixed rule, end dates, pause and resume."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from tests.api.support import ApiUser, error_of

SEED_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "priority_id",
    "recurrence_type",
    "recurrence_interval",
    "start_date",
    "end_date",
    "last_created_at",
    "next_due_at",
    "is_active",
    "created_at",
    "updated_at",
}
WEEKLY = {
    "title": "Weekly Team Meeting",
    "description": "Standup with the team every Monday",
    "priority_id": 2,
    "recurrence_type": "weekly",
    "recurrence_interval": 1,
    "start_date": "2025-01-06",
    "end_date": "2025-12-31",
}
# The same series starting in the future: created as is (the creation policy moves only past start dates).
FUTURE_WEEKLY = {**WEEKLY, "start_date": "2030-01-07", "end_date": "2030-12-30"}


def _create(client: Any, user: ApiUser, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/recurring-tasks", json={**WEEKLY, **overrides}, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_matches_the_seed(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    created = _create(client, alice, **FUTURE_WEEKLY)
    # Issue 13 adds the rule, what the next instance counts from, and the English description.
    assert set(created) == SEED_FIELDS | {"rrule", "repeat_from", "recurrence_description"}
    assert created["rrule"] is None and created["repeat_from"] == "due"
    assert created["recurrence_description"] == "weekly"
    assert {k: created[k] for k in FUTURE_WEEKLY} == FUTURE_WEEKLY
    assert created["user_id"] == alice.id
    assert created["next_due_at"] == "2030-01-07" and created["is_active"] is True
    assert created["last_created_at"] is None
    assert pg.execute("SELECT next_index FROM recurring_tasks").fetchone()[0] == 0


def test_create_defaults(client: Any, alice: ApiUser) -> None:
    body = {"title": "t", "recurrence_type": "daily", "recurrence_interval": 3, "start_date": "2030-05-05"}
    created = client.post("/api/recurring-tasks", json=body, headers=alice.headers).get_json()
    assert created["priority_id"] == 2 and created["description"] == "" and created["end_date"] is None


def test_create_validation(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    cases = [
        ({"recurrence_interval": 0}, "recurrence_interval"),
        ({"recurrence_interval": 53}, "recurrence_interval"),
        ({"recurrence_interval": "2"}, "recurrence_interval"),
        ({"recurrence_type": "hourly"}, "recurrence_type"),
        ({"end_date": "2025-01-05"}, "end_date"),
        ({"start_date": "2025-02-30"}, "start_date"),
        ({"start_date": "1999-12-31"}, "start_date"),
        ({"title": ""}, "title"),
        ({"title": "t" * 501}, "title"),
        ({"description": "d" * 2001}, "description"),
        ({"priority_id": 77}, "priority_id"),
        ({"next_due_at": "2025-01-01"}, "next_due_at"),
        ({"is_active": False}, "is_active"),
    ]
    for overrides, field in cases:
        response = client.post("/api/recurring-tasks", json={**WEEKLY, **overrides}, headers=alice.headers)
        assert response.status_code == 400, overrides
        assert field in error_of(response)["details"]["json"], (overrides, response.get_json())
    missing = {k: v for k, v in WEEKLY.items() if k != "recurrence_interval"}
    assert client.post("/api/recurring-tasks", json=missing, headers=alice.headers).status_code == 400
    assert pg.execute("SELECT count(*) FROM recurring_tasks").fetchone()[0] == 0


def test_list_filters_sorts_and_pages(client: Any, alice: ApiUser, bob: ApiUser) -> None:
    a = _create(client, alice, start_date="2030-03-01", end_date=None)
    b = _create(client, alice, start_date="2030-01-01", end_date=None)
    c = _create(client, alice, start_date="2030-02-01", end_date=None)
    _create(client, bob)
    client.post(f"/api/recurring-tasks/{c['id']}/pause", headers=alice.headers)

    def ids(query: str = "") -> list[str]:
        response = client.get(f"/api/recurring-tasks?{query}", headers=alice.headers)
        assert response.status_code == 200
        return [r["id"] for r in response.get_json()["items"]]

    assert ids() == [b["id"], c["id"], a["id"]]  # next_due_at ascending by default
    assert ids("sort_order=desc") == [a["id"], c["id"], b["id"]]
    assert ids("sort_by=created_at") == [a["id"], b["id"], c["id"]]
    assert ids("is_active=false") == [c["id"]]
    assert ids("is_active=true") == [b["id"], a["id"]]
    page = client.get("/api/recurring-tasks?limit=1&offset=1&total=true", headers=alice.headers).get_json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1) and [r["id"] for r in page["items"]] == [c["id"]]
    for query in ("sort_by=title", "limit=0", "limit=101", "offset=-1", "is_active=perhaps"):
        assert client.get(f"/api/recurring-tasks?{query}", headers=alice.headers).status_code == 400, query


def test_get(client: Any, alice: ApiUser) -> None:
    created = _create(client, alice)
    assert client.get(f"/api/recurring-tasks/{created['id']}", headers=alice.headers).get_json() == created
    missing = client.get("/api/recurring-tasks/00000000-0000-0000-0000-000000000000", headers=alice.headers)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert client.get("/api/recurring-tasks/not-a-uuid", headers=alice.headers).status_code == 404


def test_update_changes_only_the_allowed_fields(client: Any, alice: ApiUser) -> None:
    created = _create(client, alice, **FUTURE_WEEKLY)
    response = client.put(
        f"/api/recurring-tasks/{created['id']}",
        json={"title": "Updated title", "end_date": "2030-06-30", "priority_id": None},
        headers=alice.headers,
    )
    assert response.status_code == 200
    updated = response.get_json()
    assert (updated["title"], updated["end_date"], updated["priority_id"]) == ("Updated title", "2030-06-30", None)
    assert updated["description"] == created["description"] and updated["is_active"] is True
    for rule_change in ({"recurrence_type": "daily"}, {"recurrence_interval": 2}, {"start_date": "2025-02-01"}):
        rejected = client.put(f"/api/recurring-tasks/{created['id']}", json=rule_change, headers=alice.headers)
        assert rejected.status_code == 400, rule_change
    before_start = client.put(
        f"/api/recurring-tasks/{created['id']}", json={"end_date": "2025-01-01"}, headers=alice.headers
    )
    assert before_start.status_code == 400 and "end_date" in error_of(before_start)["details"]["json"]
    assert client.get(f"/api/recurring-tasks/{created['id']}", headers=alice.headers).get_json() == updated


def test_an_end_date_before_next_due_ends_the_series(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    created = _create(client, alice)
    pg.execute("UPDATE recurring_tasks SET next_index = 4, next_due_at = '2025-02-03'")
    ended = client.put(f"/api/recurring-tasks/{created['id']}", json={"end_date": "2025-01-31"}, headers=alice.headers)
    assert ended.status_code == 200
    assert ended.get_json()["is_active"] is False and ended.get_json()["end_date"] == "2025-01-31"
    # Nothing is left to resume before the end date.
    resumed = client.post(f"/api/recurring-tasks/{created['id']}/resume", headers=alice.headers)
    assert resumed.status_code == 409 and error_of(resumed)["code"] == "series_ended"
    clear = client.put(f"/api/recurring-tasks/{created['id']}", json={"end_date": None}, headers=alice.headers)
    assert clear.get_json()["end_date"] is None


def test_delete_keeps_the_generated_tasks(
    client: Any, alice: ApiUser, pg: psycopg.Connection[Any], outbox: Any
) -> None:
    created = _create(client, alice)
    for day in ("2025-01-06", "2025-01-13"):
        pg.execute(
            """INSERT INTO tasks (user_id, title, due_date, is_recurring, recurring_task_id)
               VALUES (%s, 'Weekly Team Meeting', %s, true, %s)""",
            (alice.id, day, created["id"]),
        )
    response = client.delete(f"/api/recurring-tasks/{created['id']}", headers=alice.headers)
    assert response.status_code == 204
    assert client.get(f"/api/recurring-tasks/{created['id']}", headers=alice.headers).status_code == 404
    tasks = client.get("/api/tasks?total=true", headers=alice.headers).get_json()
    assert tasks["total"] == 2 and all(t["recurring_task_id"] is None for t in tasks["items"])
    events = [row["payload"] for row in outbox()]
    assert [e["event_type"] for e in events] == ["task-updated", "task-updated"]
    assert all(e["data"]["recurring_task_id"] is None for e in events)
    assert client.delete(f"/api/recurring-tasks/{created['id']}", headers=alice.headers).status_code == 404


def test_pause_and_resume_skip_missed_occurrences(client: Any, make_user: Any, pg: psycopg.Connection[Any]) -> None:
    # Two time zones 25 hours apart: at any instant at least one of them is not on UTC's date.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        user = make_user(timezone=zone)
        today = datetime.now(ZoneInfo(zone)).date()
        start = today - timedelta(days=30)
        created = _create(client, user, recurrence_type="daily", start_date=str(start), end_date=None)
        paused = client.post(f"/api/recurring-tasks/{created['id']}/pause", headers=user.headers)
        assert paused.status_code == 200 and paused.get_json()["is_active"] is False
        assert client.post(f"/api/recurring-tasks/{created['id']}/pause", headers=user.headers).status_code == 200
        resumed = client.post(f"/api/recurring-tasks/{created['id']}/resume", headers=user.headers)
        assert resumed.status_code == 200
        body = resumed.get_json()
        assert body["is_active"] is True
        assert body["next_due_at"] == str(datetime.now(ZoneInfo(zone)).date()), zone
        index = pg.execute("SELECT next_index FROM recurring_tasks WHERE id = %s", (created["id"],)).fetchone()[0]
        assert start + timedelta(days=index) == date.fromisoformat(body["next_due_at"])
        # Missed occurrences are skipped, not created.
        assert (
            pg.execute("SELECT count(*) FROM tasks WHERE recurring_task_id = %s", (created["id"],)).fetchone()[0] == 0
        )


def test_resume_lands_on_an_occurrence_of_the_rule(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    # Monthly on the 31st: occurrences clamp to month ends and come back to the 31st.
    created = _create(client, alice, recurrence_type="monthly", start_date="2024-01-31", end_date=None)
    client.post(f"/api/recurring-tasks/{created['id']}/pause", headers=alice.headers)
    due = date.fromisoformat(
        client.post(f"/api/recurring-tasks/{created['id']}/resume", headers=alice.headers).get_json()["next_due_at"]
    )
    today = datetime.now(ZoneInfo("UTC")).date()
    assert due >= today
    next_month = (due.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert due == next_month - timedelta(days=1), "a month-end occurrence"
    previous_month_end = due.replace(day=1) - timedelta(days=1)
    assert previous_month_end < today, "the first month end on or after today"


def test_resume_never_moves_next_due_backwards(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    today = datetime.now(ZoneInfo("UTC")).date()
    created = _create(client, alice, recurrence_type="daily", start_date=str(today - timedelta(days=10)), end_date=None)
    # The expansion already created occurrences up to 5 days ahead.
    pg.execute("UPDATE recurring_tasks SET next_index = 16, next_due_at = %s", (today + timedelta(days=6),))
    client.post(f"/api/recurring-tasks/{created['id']}/pause", headers=alice.headers)
    resumed = client.post(f"/api/recurring-tasks/{created['id']}/resume", headers=alice.headers).get_json()
    assert resumed["next_due_at"] == str(today + timedelta(days=6))


def test_resume_of_an_active_series_changes_nothing(client: Any, alice: ApiUser) -> None:
    created = _create(client, alice, **FUTURE_WEEKLY)
    resumed = client.post(f"/api/recurring-tasks/{created['id']}/resume", headers=alice.headers)
    assert resumed.status_code == 200 and resumed.get_json() == created


def test_a_past_start_date_is_first_due_on_the_creation_day(
    client: Any, make_user: Any, pg: psycopg.Connection[Any]
) -> None:
    """Creation policy: no occurrence before the day of creation in the owner's zone; start_date stays the anchor."""
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # 25 hours apart: never both on UTC's date
        user = make_user(timezone=zone)
        today = datetime.now(ZoneInfo(zone)).date()
        daily = _create(client, user, recurrence_type="daily", start_date="2000-01-01", end_date=None)
        assert daily["next_due_at"] == str(today) and daily["is_active"] is True, zone
        assert daily["start_date"] == "2000-01-01"
        index = pg.execute("SELECT next_index FROM recurring_tasks WHERE id = %s", (daily["id"],)).fetchone()[0]
        assert date(2000, 1, 1) + timedelta(days=index) == today
        month_end = _create(client, user, recurrence_type="monthly", start_date="2000-01-31", end_date=None)
        due = date.fromisoformat(month_end["next_due_at"])
        assert due >= today and (due + timedelta(days=1)).day == 1, "the first month end on or after today"
    # A series whose end date is already behind it has nothing left: created inactive.
    ended = _create(client, make_user(), recurrence_type="daily", start_date="2020-01-01", end_date="2020-12-31")
    assert ended["is_active"] is False and ended["next_due_at"] > ended["end_date"]
