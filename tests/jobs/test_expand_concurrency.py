"""Two expansions of the same shard at once: no duplicate, no error, the outcome of one in-order pass."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import psycopg

from tests.jobs.support import Db, at_once
from todoflow.jobs.expand import ExpandResult, expand

SERIES = 1200


def _populate(db: Db) -> None:
    users = [db.user(tz) for tz in ("UTC", "America/New_York", "Asia/Tokyo")]
    db.conn.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, recurrence_interval, start_date, next_due_at,
                                        created_at)
           SELECT (%s::uuid[])[1 + i %% 3], 'c' || i, 'daily', 1, '2026-01-01', '2026-01-01', '2025-12-31T00:00Z'
           FROM generate_series(1, %s) AS i""",
        (users, SERIES),
    )


def _assert_consistent(db: Db, days: int) -> None:
    count, distinct = db.conn.execute(
        "SELECT count(*), count(DISTINCT (recurring_task_id, due_date)) FROM tasks"
    ).fetchone()
    assert count == distinct == SERIES * days
    per_topic = dict(
        db.conn.execute(
            "SELECT topic, count(DISTINCT payload->'data'->>'task_id') FROM event_outbox GROUP BY topic"
        ).fetchall()
    )
    assert per_topic == {"task-created": SERIES * days, "recurring-task-due": SERIES * days}
    assert db.conn.execute("SELECT count(*) FROM event_outbox").fetchone()[0] == 2 * SERIES * days
    states = db.conn.execute("SELECT DISTINCT next_index, next_due_at FROM recurring_tasks").fetchall()
    assert states == [(days, date(2026, 1, 1 + days))]


def test_two_expansions_of_one_shard_at_once(db: Db) -> None:
    _populate(db)
    as_of = datetime(2026, 1, 10, 16, tzinfo=UTC)  # Jan 10 locally in all three zones (Tokyo: Jan 11 01:00!)
    tokyo_extra = SERIES // 3  # Tokyo's users are on Jan 11
    a, b = at_once(
        lambda: expand(db.url, as_of, cap=50, chunk_size=40),
        lambda: expand(db.url, as_of, cap=50, chunk_size=40),
    )
    assert a.created + b.created == SERIES * 10 + tokyo_extra
    assert a.events + b.events == 2 * (a.created + b.created)
    # The same outcome as one run: bring Tokyo's back to a common day count by a run for Jan 11 everywhere.
    expand(db.url, datetime(2026, 1, 11, 14, tzinfo=UTC))
    _assert_consistent(db, 11)


def test_overlapping_expansions_with_different_as_of_equal_the_later_one(db: Db) -> None:
    _populate(db)
    early, late = datetime(2026, 1, 5, 5, tzinfo=UTC), datetime(2026, 1, 12, 4, tzinfo=UTC)
    results = at_once(
        lambda: expand(db.url, late, chunk_size=25),
        lambda: expand(db.url, early, chunk_size=25),
        lambda: expand(db.url, late, chunk_size=60),
    )
    # New York is still on Jan 11 at 04:00Z on Jan 12; the others are on Jan 12.
    assert sum(r.created for r in results) == SERIES * 12 - SERIES // 3
    expand(db.url, datetime(2026, 1, 12, 14, tzinfo=UTC))
    _assert_consistent(db, 12)


def test_expansions_wait_for_a_series_locked_elsewhere_instead_of_skipping_it(db: Db) -> None:
    """A series held by another transaction (say the API pausing it) is waited for, then expanded once."""
    _populate(db)
    as_of = datetime(2026, 1, 3, 14, tzinfo=UTC)
    with psycopg.connect(db.url) as holder:
        held = holder.execute(
            "SELECT id FROM recurring_tasks ORDER BY id OFFSET %s LIMIT 20 FOR UPDATE", (SERIES // 2,)
        ).fetchall()
        done: list[list[ExpandResult]] = []
        runner = threading.Thread(
            target=lambda: done.append(
                at_once(lambda: expand(db.url, as_of, chunk_size=100), lambda: expand(db.url, as_of, chunk_size=100))
            )
        )
        runner.start()
        deadline = time.monotonic() + 30
        waiting = 0
        while waiting < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            waiting = db.conn.execute(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE application_name = 'todoflow-expand-recurrences' AND wait_event_type = 'Lock'"""
            ).fetchone()[0]
        assert waiting == 2, "both expansions should be waiting on the held series"
        holder.commit()
        runner.join(60)
    assert sum(r.created for r in done[0]) == SERIES * 3
    assert len(held) == 20
    _assert_consistent(db, 3)
