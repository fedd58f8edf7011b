"""The reminders of what an expansion creates follow at once: recurrence_expansion sweeps after its shards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.airflow


def test_instances_due_within_the_window_are_notified_by_the_expansion_run(
    pg: psycopg.Connection[Any], run_dag: Callable[..., dict[str, Any]]
) -> None:
    as_of = datetime(2026, 3, 10, 9, tzinfo=UTC)
    user = pg.execute(
        "INSERT INTO users (email, password_hash, timezone) VALUES ('r@example.com', 'x', 'Asia/Tokyo') RETURNING id"
    ).fetchone()[0]
    # Daily since Mar 8 (Tokyo), created before it: the run as of Mar 10 18:00 Tokyo creates Mar 8, 9 and 10.
    daily = pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, start_date, next_due_at, created_at)
           VALUES (%s, 'daily', 'daily', '2026-03-08', '2026-03-08', '2026-03-01') RETURNING id""",
        (user,),
    ).fetchone()[0]
    # Weekly from Mar 17: nothing due yet. A plain task next month: outside the 24h window.
    pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, start_date, next_due_at, created_at)
           VALUES (%s, 'weekly', 'weekly', '2026-03-17', '2026-03-17', '2026-03-01')""",
        (user,),
    )
    later = pg.execute(
        "INSERT INTO tasks (user_id, title, due_date) VALUES (%s, 'later', '2026-04-10') RETURNING id", (user,)
    ).fetchone()[0]

    run = run_dag("recurrence_expansion", as_of, TODOFLOW_EXPANSION_SHARDS="2")

    assert run["state"] == "success", run["log"][-3000:]
    states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in run["task_instances"]}
    assert states[("sweep_due", -1)] == "success"
    created = pg.execute(
        "SELECT id, due_date::text FROM tasks WHERE recurring_task_id = %s ORDER BY due_date", (daily,)
    ).fetchall()
    assert [d for _, d in created] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    notes = pg.execute("SELECT task_id, message FROM notifications ORDER BY task_id").fetchall()
    assert notes == [
        (created[0][0], "Overdue since 2026-03-08"),
        (created[1][0], "Overdue since 2026-03-09"),
        (created[2][0], "Due today"),
    ]
    assert pg.execute("SELECT notified FROM tasks WHERE id = %s", (later,)).fetchone()[0] is False
    # Each reminder's event is as of the expansion's own instant.
    events = pg.execute("SELECT payload->'data'->>'as_of' FROM event_outbox WHERE topic = 'task-due-soon'").fetchall()
    assert len(events) == 3
    assert {datetime.fromisoformat(e[0]) for e in events} == {as_of}
