"""Repeat from completion (issue 13): the next instance counts from completing the open one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.api.support import ApiUser
from tests.jobs.support import at_once, check_event
from todoflow.api import series, task_store
from todoflow.core.settings import sqlalchemy_url
from todoflow.jobs.expand import expand


def _series(client: Any, user: ApiUser, **body: Any) -> dict[str, Any]:
    payload = {"title": "water the plants", "start_date": "2030-01-07", "repeat_from": "completion", **body}
    if "rrule" not in body:
        payload.setdefault("recurrence_type", "daily")
        payload.setdefault("recurrence_interval", 7)
    response = client.post("/api/recurring-tasks", json=payload, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _instances(pg: psycopg.Connection[Any], rid: str) -> list[tuple[Any, ...]]:
    return pg.execute(
        """SELECT id, due_date, completed, deleted_at IS NOT NULL FROM tasks WHERE recurring_task_id = %s
           ORDER BY due_date""",
        (rid,),
    ).fetchall()


def _open(pg: psycopg.Connection[Any], rid: str) -> list[tuple[Any, ...]]:
    return [row for row in _instances(pg, rid) if not row[2] and not row[3]]


def test_expansion_creates_only_the_first_instance(client: Any, alice: ApiUser, pg: Any, clean_db: str) -> None:
    created = _series(client, alice)
    assert created["recurrence_description"] == "every 7 days, counted from each completion"
    assert expand(clean_db, datetime(2030, 1, 6, 12, tzinfo=UTC)).created == 0
    assert expand(clean_db, datetime(2030, 1, 7, 12, tzinfo=UTC)).created == 1
    for day in (8, 20, 31):
        assert expand(clean_db, datetime(2030, 1, day, 12, tzinfo=UTC)).created == 0
    assert [row[1] for row in _instances(pg, created["id"])] == [date(2030, 1, 7)]


def test_completing_creates_the_next_in_the_same_transaction(
    client: Any, alice: ApiUser, pg: Any, clean_db: str, outbox: Any
) -> None:
    rid = _series(client, alice)["id"]
    expand(clean_db, datetime(2030, 1, 7, 12, tzinfo=UTC))
    ((task_id, *_),) = _open(pg, rid)
    before = len(outbox())
    assert client.post(f"/api/tasks/{task_id}/complete", headers=alice.headers).status_code == 200
    today = datetime.now(UTC).date()
    # Completed today (2026 here), one interval later; and always after the previous due date (2030-01-07).
    expected = today + timedelta(days=7)
    while expected <= date(2030, 1, 7):
        expected += timedelta(days=7)
    ((new_id, due, *_),) = _open(pg, rid)
    assert due == expected
    topics = [row["topic"] for row in outbox()[before:]]
    assert topics == ["task-completed", "task-created", "recurring-task-due"]
    due_event = check_event({**outbox()[-1], "event_id": outbox()[-1]["payload"]["event_id"]})
    assert due_event["task_id"] == new_id and due_event["occurrence_index"] == 1
    fetched = client.get(f"/api/recurring-tasks/{rid}", headers=alice.headers).get_json()
    assert fetched["next_due_at"] == expected.isoformat()
    # Completing again, reopening and completing the old instance: nothing moves.
    client.post(f"/api/tasks/{task_id}/complete", headers=alice.headers)
    client.post(f"/api/tasks/{task_id}/reopen", headers=alice.headers)
    client.post(f"/api/tasks/{task_id}/complete", headers=alice.headers)
    assert [row[1] for row in _instances(pg, rid)] == [date(2030, 1, 7), expected]
    # And the expansion never creates one ahead.
    assert expand(clean_db, datetime(2031, 1, 1, tzinfo=UTC)).created == 0


def test_deleting_the_open_instance_skips_it(client: Any, alice: ApiUser, pg: Any, clean_db: str) -> None:
    rid = _series(client, alice, rrule="FREQ=WEEKLY;BYDAY=MO,TH", start_date="2030-01-07")
    rid = rid["id"]
    expand(clean_db, datetime(2030, 1, 7, 12, tzinfo=UTC))
    ((task_id, *_),) = _open(pg, rid)
    assert client.delete(f"/api/tasks/{task_id}", headers=alice.headers).status_code == 204
    ((_, due, *_),) = _open(pg, rid)
    assert due > date(2030, 1, 7) and due.weekday() in (0, 3)


def test_count_ends_a_completion_series(client: Any, alice: ApiUser, pg: Any, clean_db: str) -> None:
    rid = _series(client, alice, rrule="FREQ=DAILY;COUNT=2")["id"]
    expand(clean_db, datetime(2030, 1, 7, 12, tzinfo=UTC))
    for _ in range(3):
        for task_id, *_ in _open(pg, rid):
            client.post(f"/api/tasks/{task_id}/complete", headers=alice.headers)
    assert len(_instances(pg, rid)) == 2 and _open(pg, rid) == []
    assert client.get(f"/api/recurring-tasks/{rid}", headers=alice.headers).get_json()["is_active"] is False


def test_two_concurrent_completions_create_one_next_instance(
    app: Any, client: Any, alice: ApiUser, pg: Any, clean_db: str
) -> None:
    for round_ in range(8):
        rid = _series(client, alice, title=f"race {round_}")["id"]
        expand(clean_db, datetime(2030, 1, 7, 12, tzinfo=UTC))
        ((task_id, *_),) = _open(pg, rid)
        complete, delete = f"/api/tasks/{task_id}/complete", f"/api/tasks/{task_id}"
        clients = [app.test_client() for _ in range(3)]
        calls = [
            lambda c=clients[0], u=complete: c.post(u, headers=alice.headers).status_code,
            lambda c=clients[1], u=complete: c.post(u, headers=alice.headers).status_code,
            lambda c=clients[2], u=delete: c.delete(u, headers=alice.headers).status_code,
        ]
        statuses = at_once(*calls[: 2 + round_ % 2])
        # A delete that wins the race makes the completions 404 (the task is gone); otherwise both succeed.
        assert set(statuses[:2]) <= {200, 404} and statuses[2:] in ([], [204]), statuses
        assert len(_open(pg, rid)) == 1, _instances(pg, rid)
        assert len(_instances(pg, rid)) == 2
        pg.execute("UPDATE recurring_tasks SET is_active = false WHERE id = %s", (rid,))


@pytest.fixture
def session(clean_db: str) -> Iterator[Session]:
    engine = create_engine(sqlalchemy_url(clean_db))
    with Session(engine) as s:
        yield s
    engine.dispose()


def _complete_at(session: Session, pg: Any, rid: str, at: datetime) -> date:
    """Complete the open instance at instant `at` through the API's own path; the new open due date."""
    ((task_id, *_),) = _open(pg, rid)
    stmt = select(*task_store.COLUMNS).where(task_store.tasks.c.id == task_id)
    task = session.execute(stmt).mappings().one()
    series.instance_done(session, task, at)
    session.execute(
        task_store.tasks.update().where(task_store.tasks.c.id == task_id).values(completed=True, completed_at=at)
    )
    session.commit()
    ((_, due, *_),) = _open(pg, rid)
    return due


@pytest.mark.parametrize(
    ("zone", "body", "completions"),
    [
        # New York leaves EST on Sunday 2030-03-10 at 02:00. Each completion: (UTC instant, expected next due).
        (
            "America/New_York",
            {"recurrence_type": "daily", "recurrence_interval": 1, "start_date": "2030-03-08"},
            [
                (datetime(2030, 3, 9, 4, 30, tzinfo=UTC), date(2030, 3, 9)),  # Mar 8 23:30 EST -> the 9th
                (datetime(2030, 3, 10, 4, 59, tzinfo=UTC), date(2030, 3, 10)),  # Mar 9 23:59 EST
                (datetime(2030, 3, 10, 6, 30, tzinfo=UTC), date(2030, 3, 11)),  # Mar 10 01:30 EST
                (datetime(2030, 3, 11, 3, 30, tzinfo=UTC), date(2030, 3, 12)),  # Mar 10 23:30 EDT
                (datetime(2030, 3, 12, 4, 30, tzinfo=UTC), date(2030, 3, 13)),  # Mar 12 00:30 EDT
            ],
        ),
        # Berlin leaves CET on 2030-03-31; a weekly rule counted from each completion.
        (
            "Europe/Berlin",
            {"rrule": "FREQ=WEEKLY;BYDAY=MO,TH", "start_date": "2030-03-25"},
            [
                (datetime(2030, 3, 30, 23, 30, tzinfo=UTC), date(2030, 4, 1)),  # Mar 31 00:30 CET (Sun) -> Mon
                (datetime(2030, 3, 31, 22, 30, tzinfo=UTC), date(2030, 4, 4)),  # Apr 1 00:30 CEST (Mon) -> Thu
                (datetime(2030, 4, 4, 21, 59, tzinfo=UTC), date(2030, 4, 8)),  # Apr 4 23:59 CEST (Thu) -> Mon
            ],
        ),
        # The same instants on both sides of the date line give different local days.
        (
            "Pacific/Kiritimati",
            {"recurrence_type": "weekly", "recurrence_interval": 1, "start_date": "2030-01-07"},
            [(datetime(2030, 1, 7, 11, 0, tzinfo=UTC), date(2030, 1, 15))],  # Jan 8 01:00 local
        ),
        (
            "Pacific/Pago_Pago",
            {"recurrence_type": "weekly", "recurrence_interval": 1, "start_date": "2030-01-07"},
            [(datetime(2030, 1, 7, 11, 0, tzinfo=UTC), date(2030, 1, 14))],  # Jan 7 00:00 local
        ),
        # Monthly from a completion on the 31st clamps like the seed's type (Jan 31 -> Feb 28).
        (
            "UTC",
            {"recurrence_type": "monthly", "recurrence_interval": 1, "start_date": "2030-01-05"},
            [(datetime(2030, 1, 31, 18, tzinfo=UTC), date(2030, 2, 28))],
        ),
    ],
)
def test_next_due_counts_from_the_local_completion_day(
    client: Any,
    make_user: Any,
    pg: Any,
    clean_db: str,
    session: Session,
    zone: str,
    body: dict[str, Any],
    completions: list[tuple[datetime, date]],
) -> None:
    user = make_user(timezone=zone)
    rid = _series(client, user, **body)["id"]
    start = date.fromisoformat(body["start_date"])
    expand(clean_db, datetime.combine(start, datetime.min.time(), ZoneInfo(zone)) + timedelta(hours=12))
    assert len(_open(pg, rid)) == 1
    for at, expected in completions:
        assert _complete_at(session, pg, rid, at) == expected, (at, at.astimezone(ZoneInfo(zone)))
    assert len(_instances(pg, rid)) == len(completions) + 1
