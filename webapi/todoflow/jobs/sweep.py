"""`todoflow sweep-due`: notify the owners of open tasks due soon (overdue included), each task once.

As-of semantics. A run acts as of an instant T (Airflow: the data interval's end). A task is due within
the window when its due_date is on or before the date of T + window in its owner's time zone
(users.timezone); earlier dates (overdue) are included. Open means not completed, not deleted, not yet
notified, with a due date: exactly the rows of the partial index ix_tasks_sweep_open_unnotified.

Each batch is one transaction and one statement: pick open due tasks FOR UPDATE SKIP LOCKED, set
notified = true, insert the notification (unique per task, kind and due date) and the task-due-soon
event. Overlapping sweeps split the work between them (a locked task belongs to the sweep holding it) and
a rerun finds nothing left, so each task is notified exactly once.

Tasks that cannot be processed (an owner's zone PostgreSQL does not know, an infinite due date: see
guards.py) are left out of the statement, logged with their ids and counted (skipped_rows).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from todoflow.core.timefmt import utc_z
from todoflow.jobs.guards import known_zones, local_date, log_skipped, task_problem
from todoflow.jobs.options import add_as_of, add_count, add_duration
from todoflow.jobs.reporting import report
from todoflow.jobs.sql import STAMP_CTE, connect, envelope, event_id, latest_local_date

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_BATCH_SIZE = 10_000
KIND = "task-due-soon"

_HORIZON = "(%(as_of)s::timestamptz + %(window)s::interval)"
_OPEN = "NOT t.completed AND NOT t.notified AND t.deleted_at IS NULL AND t.due_date IS NOT NULL"
# Index-friendly bound: no local date is later than the UTC date of the horizon + 14 h.
_LATEST_DUE = latest_local_date(_HORIZON)

# Open tasks that might be due but cannot be processed (see guards): skipped, logged and counted.
SKIPPED = f"""
SELECT t.id, t.user_id::text, {task_problem()} AS problem
FROM tasks t JOIN users u ON u.id = t.user_id
WHERE {_OPEN} AND t.due_date <= {_LATEST_DUE} AND {task_problem()} IS NOT NULL
ORDER BY t.id
"""

SWEEP_BATCH = f"""
WITH {STAMP_CTE},
picked AS MATERIALIZED (
    SELECT t.id, {local_date("%(as_of)s::timestamptz", "u.timezone")} AS today
    FROM tasks t JOIN users u ON u.id = t.user_id
    WHERE {_OPEN}
      AND t.due_date <= {_LATEST_DUE}
      AND {task_problem()} IS NULL
      AND t.due_date <= {local_date(_HORIZON, "u.timezone")}
    ORDER BY t.due_date
    LIMIT %(batch)s
    FOR UPDATE OF t SKIP LOCKED
),
marked AS (
    UPDATE tasks t SET notified = true
    FROM picked p
    WHERE t.id = p.id AND NOT t.notified
    RETURNING t.id, t.user_id, t.title, t.due_date, p.today
),
noted AS (
    INSERT INTO notifications (user_id, task_id, kind, title, message, due_date)
    SELECT m.user_id, m.id, '{KIND}', m.title,
           CASE WHEN m.due_date < m.today THEN 'Overdue since ' || to_char(m.due_date, 'YYYY-MM-DD')
                WHEN m.due_date = m.today THEN 'Due today'
                ELSE 'Due on ' || to_char(m.due_date, 'YYYY-MM-DD') END,
           m.due_date
    FROM marked m ORDER BY m.id
    ON CONFLICT (task_id, kind, due_date) DO NOTHING
    RETURNING id, task_id, user_id, title, due_date
),
events AS MATERIALIZED (
    SELECT {event_id("n.task_id")} AS event_id, n.user_id, n.task_id,
           jsonb_build_object(
               'task_id', n.task_id, 'user_id', n.user_id, 'title', n.title, 'due_date', n.due_date,
               'notification_id', n.id, 'as_of', %(as_of_text)s::text, 'window_hours', %(window_hours)s::float8
           ) AS data
    FROM noted n CROSS JOIN stamp
),
written AS (
    INSERT INTO event_outbox (event_id, topic, message_key, payload)
    SELECT event_id, '{KIND}', user_id::text, {envelope("event_id", f"'{KIND}'::text", "data")}
    FROM events CROSS JOIN stamp ORDER BY task_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM noted), (SELECT count(*) FROM written)
"""


@dataclass
class SweepResult:
    """What one sweep did."""

    notified: int = 0  # tasks marked notified
    notifications: int = 0  # inbox rows created
    events: int = 0  # task-due-soon events written
    batches: int = 0  # transactions
    skipped_rows: int = 0  # open tasks that might be due but cannot be processed (logged by id; see guards)

    def counts(self) -> dict[str, int]:
        """The figures as StatsD counter names and values."""
        return asdict(self)


def batch_params(as_of: datetime, window: timedelta, batch_size: int, zones: list[str]) -> dict[str, Any]:
    """The parameters of SWEEP_BATCH and SKIPPED; zones: the time zones the server knows (guards.known_zones)."""
    return {
        "zones": zones,
        "as_of": as_of,
        "as_of_text": utc_z(as_of, "microseconds"),
        "window": window,
        "window_hours": window.total_seconds() / 3600,
        "batch": batch_size,
    }


def sweep(
    database_url: str | None,
    as_of: datetime,
    window: timedelta = DEFAULT_WINDOW,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SweepResult:
    """Notify every open task due on or before the local date of as_of + window; returns the counts."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if window <= timedelta(0) or batch_size < 1:
        raise ValueError("window must be positive and batch_size >= 1")
    result = SweepResult()
    with connect(database_url, "todoflow-sweep-due") as conn:
        # Not prepared: the zone list must stay a constant of each plan (a hashed lookup, see guards).
        params = batch_params(as_of, window, batch_size, known_zones(conn))
        rows = conn.execute(SKIPPED, params, prepare=False).fetchall()
        result.skipped_rows = log_skipped(log, "task(s)", rows)
        while True:
            with conn.transaction():
                row = conn.execute(SWEEP_BATCH, params, prepare=False).fetchone()
            assert row is not None
            marked, noted, written = (int(v) for v in row)
            if marked == 0:
                break
            result.batches += 1
            result.notified += marked
            result.notifications += noted
            result.events += written
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow sweep-due`."""
    add_as_of(parser)
    add_duration(parser, "--window", DEFAULT_WINDOW, "notify tasks due up to the local date of T + it", positive=True)
    add_count(parser, "--batch-size", DEFAULT_BATCH_SIZE, "tasks per transaction")


def run(args: argparse.Namespace) -> int:
    """Notify owners of open tasks due within the window of --as-of; the exit code."""
    log.info("sweeping tasks due within %s of %s", args.window, args.as_of.isoformat())
    return report("sweep", lambda: sweep(None, args.as_of, args.window, args.batch_size), SweepResult.counts)
