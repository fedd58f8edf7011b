"""Benchmark: the full schedule data-quality suite over 1,000,000 tasks and 100,000 recurring tasks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg

from todoflow.core import db
from todoflow.quality.runner import run_suite
from todoflow_dev.devstack import postgres

SERIES = 100_000
PER_SERIES = 10  # 1,000,000 generated tasks
BENCH_DB = "todoflow_bench_quality"


def _populate(url: str, as_of: datetime) -> float:
    """A consistent schedule as the pipeline leaves it: expanded, swept, logged, relayed (set-based SQL)."""
    created = as_of - timedelta(days=PER_SERIES + 1)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(
            "INSERT INTO users (email, password_hash, timezone, created_at) "
            "SELECT 'bench' || g || '@example.com', 'x', "
            "(ARRAY['UTC','America/New_York','Europe/Berlin','Asia/Tokyo'])[1 + g %% 4], %s "
            "FROM generate_series(1, 1000) g",
            (created,),
        )
        conn.execute(
            """INSERT INTO recurring_tasks (user_id, title, recurrence_type, recurrence_interval, start_date,
                   next_due_at, next_index, created_at, updated_at, last_created_at)
               SELECT u.id, 'series ' || g, 'daily', 1, %(start)s, %(start)s + %(n)s, %(n)s,
                      %(created)s, %(created)s, %(created)s
               FROM generate_series(1, %(series)s) g
               JOIN LATERAL (SELECT id FROM users ORDER BY email OFFSET g %% 1000 LIMIT 1) u ON true""",
            {
                "start": (as_of - timedelta(days=PER_SERIES - 1)).date(),
                "n": PER_SERIES,
                "created": created,
                "series": SERIES,
            },
        )
        conn.execute(
            """INSERT INTO tasks (user_id, title, due_date, is_recurring, recurring_task_id, notified,
                                  created_at, updated_at)
               SELECT r.user_id, r.title, r.start_date + n, true, r.id, true, %(created)s, %(created)s
               FROM recurring_tasks r CROSS JOIN generate_series(0, %(n)s - 1) n""",
            {"created": created, "n": PER_SERIES},
        )
        conn.execute(
            """INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
               SELECT gen_random_uuid(), id, user_id, 'recurring-task-due', '{}', created_at FROM tasks"""
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def run() -> str:
    """Build the data once, then time the whole suite (best of 3) and each check's share."""
    url = postgres.recreate_database(BENCH_DB)
    db.upgrade(url)
    as_of = datetime.now(UTC).replace(microsecond=0)
    load_seconds = _populate(url, as_of)
    timings = []
    outcome = None
    for _ in range(3):
        started = time.perf_counter()
        outcome = run_suite(as_of, database_url=url)
        timings.append(time.perf_counter() - started)
    assert outcome is not None and outcome.success, [r.name for r in outcome.failed] if outcome else None
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM recurring_tasks)").fetchone()
        assert row is not None
        tasks, series = row
    postgres.recreate_database(BENCH_DB)  # leave no 1M-row database behind
    return f"""## Data-quality suite (`check-schedules`)

{len(outcome.results)} expectations (Great Expectations 1.x over PostgreSQL, offending rows found by SQL where the
data is) over {tasks:,} tasks, {series:,} recurring tasks and {tasks:,} logged events, all consistent so
every query runs to completion.

| measure | figure | target |
|---|---|---|
| full suite, best of 3 | {min(timings):.1f} s | at most 60 s |
| full suite, all runs | {", ".join(f"{t:.1f} s" for t in timings)} | |
| loading the data set (not part of the suite) | {load_seconds:.0f} s | |
"""
