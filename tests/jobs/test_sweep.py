"""The due sweep notifies each open task due within its window once, with its inbox row and event."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.jobs.support import Db, at_once, check_event
from todoflow.jobs.sweep import sweep


def _task(db: Db, user: uuid.UUID, due: date | None, title: str = "t", **flags: Any) -> int:
    return db.conn.execute(
        """INSERT INTO tasks (user_id, title, due_date, completed, completed_at, notified, deleted_at)
           VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END, %s, CASE WHEN %s THEN now() END) RETURNING id""",
        (
            user,
            title,
            due,
            flags.get("completed", False),
            flags.get("completed", False),
            flags.get("notified", False),
            flags.get("deleted", False),
        ),
    ).fetchone()[0]


def _notified(db: Db) -> set[int]:
    return {r[0] for r in db.conn.execute("SELECT id FROM tasks WHERE notified").fetchall()}


def test_open_tasks_due_within_the_window_are_notified_overdue_included(db: Db) -> None:
    user = db.user()
    overdue = _task(db, user, date(2026, 3, 1), "File taxes")
    today = _task(db, user, date(2026, 3, 10), "Call mum")
    tomorrow = _task(db, user, date(2026, 3, 11), "Dentist")
    _task(db, user, date(2026, 3, 12), "later")
    _task(db, user, None, "no due date")
    _task(db, user, date(2026, 3, 9), "done", completed=True)
    _task(db, user, date(2026, 3, 9), "deleted", deleted=True)
    already = _task(db, user, date(2026, 3, 9), "already", notified=True)

    result = sweep(db.url, datetime(2026, 3, 10, 12, tzinfo=UTC), timedelta(hours=24))

    assert (result.notified, result.notifications, result.events) == (3, 3, 3)
    assert _notified(db) == {overdue, today, tomorrow, already}
    notes = db.conn.execute(
        "SELECT id, task_id, user_id, kind, title, message, due_date, read_at FROM notifications ORDER BY task_id"
    ).fetchall()
    assert [(n[1], n[2], n[3], n[4], n[5], n[6], n[7]) for n in notes] == [
        (overdue, user, "task-due-soon", "File taxes", "Overdue since 2026-03-01", date(2026, 3, 1), None),
        (today, user, "task-due-soon", "Call mum", "Due today", date(2026, 3, 10), None),
        (tomorrow, user, "task-due-soon", "Dentist", "Due on 2026-03-11", date(2026, 3, 11), None),
    ]
    events = db.events()
    assert [e["topic"] for e in events] == ["task-due-soon"] * 3
    by_task = {n[1]: n for n in notes}
    for event in events:
        data = check_event(event)
        note = by_task[data["task_id"]]
        assert data["notification_id"] == str(note[0])
        assert (data["title"], data["due_date"]) == (note[4], note[6].isoformat())
        assert (data["as_of"], data["window_hours"]) == ("2026-03-10T12:00:00.000000Z", 24)


def test_a_rerun_or_a_wider_window_notifies_nobody_twice(db: Db) -> None:
    user = db.user()
    ids = [_task(db, user, date(2026, 3, 10) + timedelta(days=i)) for i in range(5)]
    as_of = datetime(2026, 3, 10, 8, tzinfo=UTC)
    assert sweep(db.url, as_of).notified == 2
    assert sweep(db.url, as_of).notified == 0
    assert sweep(db.url, as_of - timedelta(days=3)).notified == 0
    assert sweep(db.url, as_of, timedelta(days=3)).notified == 2
    assert _notified(db) == set(ids[:4])
    counts = db.conn.execute("SELECT count(*), count(DISTINCT task_id) FROM notifications").fetchone()
    assert counts == (4, 4)
    assert len(db.events("task-due-soon")) == 4


@pytest.mark.parametrize(
    ("tz", "as_of", "window", "due", "notified"),
    [
        # 24 h after 23:30 EST on Mar 7 is 00:30 EDT on Mar 9 (the day has 23 hours).
        ("America/New_York", datetime(2026, 3, 8, 4, 30, tzinfo=UTC), timedelta(hours=24), date(2026, 3, 9), True),
        ("America/New_York", datetime(2026, 3, 8, 3, 30, tzinfo=UTC), timedelta(hours=24), date(2026, 3, 9), False),
        # 24 h after 23:30 CEST on Oct 24 is 22:30 CET on Oct 25 (the day has 25 hours).
        ("Europe/Berlin", datetime(2026, 10, 24, 21, 30, tzinfo=UTC), timedelta(hours=24), date(2026, 10, 26), False),
        ("Europe/Berlin", datetime(2026, 10, 24, 23, 30, tzinfo=UTC), timedelta(hours=24), date(2026, 10, 26), True),
        # One instant, two calendar days apart.
        ("Pacific/Kiritimati", datetime(2026, 5, 1, 10, 30, tzinfo=UTC), timedelta(hours=1), date(2026, 5, 2), True),
        ("Pacific/Pago_Pago", datetime(2026, 5, 1, 10, 30, tzinfo=UTC), timedelta(hours=1), date(2026, 5, 1), True),
        ("Pacific/Pago_Pago", datetime(2026, 5, 1, 10, 30, tzinfo=UTC), timedelta(minutes=20), date(2026, 5, 1), False),
        ("Pacific/Pago_Pago", datetime(2026, 5, 1, 10, 30, tzinfo=UTC), timedelta(hours=1), date(2026, 5, 2), False),
    ],
)
def test_the_window_ends_on_the_owners_local_date(
    db: Db, tz: str, as_of: datetime, window: timedelta, due: date, notified: bool
) -> None:
    task = _task(db, db.user(tz), due)
    result = sweep(db.url, as_of, window)
    assert result.notified == int(notified)
    assert (task in _notified(db)) is notified


def test_concurrent_sweeps_notify_each_task_once(db: Db) -> None:
    users = [db.user(tz) for tz in ("UTC", "Asia/Tokyo", "America/Los_Angeles")]
    db.conn.execute(
        """INSERT INTO tasks (user_id, title, due_date)
           SELECT (%s::uuid[])[1 + i %% 3], 'task ' || i, DATE '2026-03-01' + (i %% 20)
           FROM generate_series(1, 3000) AS i""",
        (users,),
    )
    as_of = datetime(2026, 3, 12, 12, tzinfo=UTC)
    due = db.conn.execute(
        "SELECT count(*) FROM tasks t JOIN users u ON u.id = t.user_id "
        "WHERE t.due_date <= ((%s::timestamptz + interval '24 hours') AT TIME ZONE u.timezone)::date",
        (as_of,),
    ).fetchone()[0]
    assert 0 < due < 3000

    results = at_once(*(lambda: sweep(db.url, as_of, batch_size=64) for _ in range(4)))

    assert sum(r.notified for r in results) == due
    assert sum(r.events for r in results) == due
    assert len(_notified(db)) == due
    assert db.conn.execute("SELECT count(*), count(DISTINCT task_id) FROM notifications").fetchone() == (due, due)
    events = db.events("task-due-soon")
    assert len({e["payload"]["data"]["task_id"] for e in events}) == len(events) == due
    assert sweep(db.url, as_of).notified == 0


def test_a_task_locked_elsewhere_is_left_to_the_next_sweep(db: Db) -> None:
    user = db.user()
    free, busy = _task(db, user, date(2026, 3, 10)), _task(db, user, date(2026, 3, 10))
    as_of = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with psycopg.connect(db.url) as holder:
        holder.execute("SELECT 1 FROM tasks WHERE id = %s FOR UPDATE", (busy,))
        assert sweep(db.url, as_of).notified == 1
        assert _notified(db) == {free}
    assert sweep(db.url, as_of).notified == 1
    assert _notified(db) == {free, busy}


def test_a_new_due_date_gets_its_own_reminder(db: Db) -> None:
    user = db.user()
    task = _task(db, user, date(2026, 3, 10))
    sweep(db.url, datetime(2026, 3, 10, tzinfo=UTC))
    # The API postpones the task and re-arms the reminder.
    db.conn.execute("UPDATE tasks SET due_date = '2026-03-20', notified = false WHERE id = %s", (task,))
    assert sweep(db.url, datetime(2026, 3, 10, tzinfo=UTC)).notified == 0
    result = sweep(db.url, datetime(2026, 3, 19, 12, tzinfo=UTC))
    assert (result.notified, result.notifications, result.events) == (1, 1, 1)
    dates = db.conn.execute("SELECT due_date FROM notifications ORDER BY due_date").fetchall()
    assert dates == [(date(2026, 3, 10),), (date(2026, 3, 20),)]


def test_the_sweep_reads_the_partial_index(db: Db) -> None:
    from todoflow.jobs.guards import known_zones
    from todoflow.jobs.sweep import SWEEP_BATCH, batch_params

    user = db.user()
    db.conn.execute(
        """INSERT INTO tasks (user_id, title, due_date, notified)
           SELECT %s, 't', DATE '2020-01-01' + (i %% 3000), i %% 50 <> 0 FROM generate_series(1, 50000) i""",
        (user,),
    )
    db.conn.execute("ANALYZE tasks")
    params = batch_params(datetime(2026, 3, 10, tzinfo=UTC), timedelta(hours=24), 10_000, known_zones(db.conn))
    plan = db.conn.execute("EXPLAIN " + SWEEP_BATCH, params).fetchall()
    assert "ix_tasks_sweep_open_unnotified" in "\n".join(r[0] for r in plan)
