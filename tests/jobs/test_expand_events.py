"""The expansion writes one task-created and one recurring-task-due per created task, valid and in order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from tests.jobs.support import Db, check_event
from todoflow.jobs.expand import expand


def test_each_created_task_has_two_valid_events_in_order(db: Db) -> None:
    alice, bob = db.user("Europe/Berlin"), db.user("America/New_York")
    monthly = db.series(
        alice, "monthly", 1, date(2026, 1, 31), title="Pay rent", description="Transfer to landlord", priority_id=3
    )
    daily = db.series(bob, "daily", 2, date(2026, 3, 1), title="Water plants ✿", priority_id=None)
    as_of = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)

    result = expand(db.url, as_of)

    tasks = {
        row[0]: row
        for row in db.conn.execute(
            """SELECT id, user_id, title, description, priority_id, due_date, recurring_task_id, is_recurring,
                      completed, created_at FROM tasks"""
        ).fetchall()
    }
    assert len(tasks) == result.created == 2 + 5
    events = db.events()
    assert len(events) == result.events == 2 * len(tasks)
    assert Counter(e["topic"] for e in events) == {"task-created": 7, "recurring-task-due": 7}
    assert len({e["event_id"] for e in events}) == len(events)

    seen: dict[int, list[str]] = {}
    for event in events:
        data = check_event(event)
        task = tasks[data["task_id"]]
        seen.setdefault(task[0], []).append(event["topic"])
        assert data["user_id"] == str(task[1])
        assert data["title"] == task[2]
        assert data["due_date"] == task[5].isoformat()
        assert data["recurring_task_id"] == str(task[6])
        if event["topic"] == "task-created":
            assert data["description"] == task[3]
            assert data["priority_id"] == task[4]
            assert (data["is_recurring"], data["completed"], data["completed_at"]) == (True, False, None)
            assert datetime.fromisoformat(data["created_at"]) == task[9]
        else:
            assert data["as_of"] == "2026-03-10T09:30:00.000000Z"
    # Per task, task-created comes first; each task has exactly its pair.
    assert set(map(tuple, seen.values())) == {("task-created", "recurring-task-due")}

    # occurrence_index is n of the anchored series (March 31 is not due yet on March 10).
    indexes = {
        (e["payload"]["data"]["recurring_task_id"], e["payload"]["data"]["occurrence_index"]): e["payload"]["data"][
            "due_date"
        ]
        for e in events
        if e["topic"] == "recurring-task-due"
    }
    assert indexes == {
        (str(monthly), 0): "2026-01-31",
        (str(monthly), 1): "2026-02-28",
        (str(daily), 0): "2026-03-01",
        (str(daily), 1): "2026-03-03",
        (str(daily), 2): "2026-03-05",
        (str(daily), 3): "2026-03-07",
        (str(daily), 4): "2026-03-09",
    }
