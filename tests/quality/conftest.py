"""Fixtures for the data-quality suite: a consistent schedule built in SQL, and ways to break it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.quality.support import AS_OF, CREATED


@pytest.fixture
def schedule(pg: psycopg.Connection[Any]) -> dict[str, Any]:
    """A consistent schedule as the pipeline would leave it at AS_OF: expanded, swept, logged, relayed."""
    user_id = pg.execute(
        "INSERT INTO users (email, password_hash, timezone, created_at) VALUES ('q@example.com', 'x', "
        "'America/New_York', %s) RETURNING id",
        (CREATED,),
    ).fetchone()[0]
    local_today = pg.execute("SELECT (%s::timestamptz AT TIME ZONE 'America/New_York')::date", (AS_OF,)).fetchone()[0]
    series = {}
    # (name, type, interval, start, occurrences already expanded)
    for name, kind, step, start, made in (
        ("daily", "daily", 1, local_today - timedelta(days=5), 6),
        ("weekly", "weekly", 2, local_today - timedelta(days=30), 3),
        ("month_end", "monthly", 1, local_today.replace(day=1) - timedelta(days=400), None),
    ):
        if made is None:  # a month-end anchor: every occurrence up to today
            start = start.replace(day=31) if start.month in (1, 3, 5, 7, 8, 10, 12) else start
            made = pg.execute(
                "SELECT count(*) FROM generate_series(0, 100) n WHERE todoflow_occurrence(%s, 'monthly', 1, n) <= %s",
                (start, local_today),
            ).fetchone()[0]
        next_due = pg.execute("SELECT todoflow_occurrence(%s, %s, %s, %s)", (start, kind, step, made)).fetchone()[0]
        series_id = pg.execute(
            """INSERT INTO recurring_tasks (user_id, title, recurrence_type, recurrence_interval, start_date,
                   next_due_at, next_index, created_at, updated_at, last_created_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (user_id, name, kind, step, start, next_due, made, CREATED, CREATED, CREATED),
        ).fetchone()[0]
        pg.execute(
            """WITH made AS (
                 INSERT INTO tasks (user_id, title, due_date, is_recurring, recurring_task_id, notified,
                                    created_at, updated_at)
                 SELECT %s, %s, todoflow_occurrence(%s, %s, %s, n), true, %s, true, %s, %s
                 FROM generate_series(0, %s - 1) n RETURNING id, user_id)
               INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
               SELECT gen_random_uuid(), id, user_id, 'recurring-task-due', '{}', %s FROM made""",
            (user_id, name, start, kind, step, series_id, CREATED, CREATED, made, CREATED),
        )
        series[name] = series_id
    # A plain open task due next week, not yet notified, and a published outbox event.
    pg.execute(
        "INSERT INTO tasks (user_id, title, due_date, created_at, updated_at) VALUES (%s, 'later', %s, %s, %s)",
        (user_id, local_today + timedelta(days=7), CREATED, CREATED),
    )
    pg.execute(
        """INSERT INTO event_outbox (event_id, topic, message_key, payload, created_at, published_at)
           VALUES (gen_random_uuid(), 'task-created', %s, '{}', %s, %s)""",
        (str(user_id), CREATED, CREATED),
    )
    return {"user_id": user_id, "series": series, "local_today": local_today}


@pytest.fixture
def without_constraint(pg: psycopg.Connection[Any]) -> Iterator[Any]:
    """drop(table, constraint): remove a constraint for one test; it is restored on an emptied database."""
    dropped: list[tuple[str, str, str]] = []

    def drop(table: str, constraint: str) -> None:
        definition = pg.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", (constraint,)
        ).fetchone()[0]
        pg.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
        dropped.append((table, constraint, definition))

    yield drop
    if dropped:
        pg.execute("TRUNCATE tasks, recurring_tasks, users CASCADE")
        for table, constraint, definition in dropped:
            pg.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {definition}")
