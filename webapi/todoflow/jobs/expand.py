"""`todoflow expand-recurrences`: create the due occurrences of recurring tasks, as of an instant.

As-of semantics. A run acts as of an instant T (Airflow: the data interval's end; a manual run: its
logical date). For each active series of the shard, "due" means due on or before T's date in the
owner's time zone (users.timezone): the local date is (T AT TIME ZONE tz)::date. Occurrence n is
todoflow_occurrence(start_date, type, interval, n), always from the anchor, so month ends never drift.

What a run does, per series: create every occurrence n >= next_index with due date <= min(local date,
end_date) that does not exist yet (title, description, priority copied), write one task-created and one
recurring-task-due event per created task to the outbox, then advance next_index/next_due_at to the
first occurrence not created (never backwards), set last_created_at, and set is_active false once the
series has passed its end_date. All of it in one transaction per chunk of series.

Catch-up policy. After an outage a series catches up the occurrences it missed, oldest first, at most
`cap` (--max-per-task, default 100) per series per run; a series with more stays behind with next_due_at
at the first missing occurrence and the following runs continue, so nothing is skipped and no run does
unbounded work (a transaction holds at most chunk_size x cap new tasks). Occurrences missed while a series
was paused are never created: resuming (the API) moves next_due_at to the first occurrence on or after today.

Creation policy. A series never gets occurrences before the day it was created (created_at in the owner's
zone), whatever its start_date: the first occurrence considered is the first on or after that day (or
next_index if later). start_date stays the anchor of the pattern, exactly as on resume; the API's create
path sets next_due_at there too. So a series started in 2000 begins today instead of flooding 9,800 tasks,
and only an outage after creation is caught up (within the cap).

Rows that cannot be processed (an owner's zone PostgreSQL does not know, infinite dates, a corrupt index:
see guards.py) are left out of the statements, logged with their ids and counted (skipped_rows), so one
user's bad row never stops the run for everyone else.

Idempotence and concurrency. Only series with next_due_at <= local as-of date are touched, so a rerun, a
run for an earlier as-of or a backfill in any order changes nothing already done. Series rows are locked
FOR UPDATE in id order, waiting rather than skipping: two runs of one shard at once serialize per series
and the later one sees the advanced next_index, so together they leave exactly the rows of the run with
the later as-of, without error or deadlock; the unique (recurring_task_id, due_date) with ON CONFLICT DO
NOTHING is the last guard (only inserted rows produce events).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

from todoflow.core.timefmt import utc_z
from todoflow.jobs.expand_rules import expand_rules
from todoflow.jobs.guards import known_zones, local_date, log_skipped, series_problem
from todoflow.jobs.options import add_as_of, add_count
from todoflow.jobs.reporting import report
from todoflow.jobs.series_chunks import CANDIDATE, DUE, UPTO, chunks, lock_chunk, next_chunk
from todoflow.jobs.sql import STAMP_CTE, connect, occurrence_events, shard_predicate

log = logging.getLogger(__name__)

DEFAULT_CAP = 100
DEFAULT_CHUNK_SIZE = 2000

# Issue 13: rule-based and completion-based series are expanded by expand_rules.py instead.
_DUE = f"{DUE} AND r.rrule IS NULL AND r.repeat_from = 'due'"

# The series of the shard that might be due but cannot be processed: skipped, logged and counted.
SKIPPED = f"""
SELECT r.id::text, r.user_id::text, {series_problem()} AS problem
FROM recurring_tasks r JOIN users u ON u.id = r.user_id
WHERE {CANDIDATE} AND {series_problem()} IS NOT NULL
ORDER BY r.id
"""

NEXT_CHUNK = next_chunk(_DUE)

# A series whose next occurrence already lies past its end_date (e.g. end_date moved earlier) is over.
END_FINISHED = f"""
UPDATE recurring_tasks r SET is_active = false, updated_at = now()
WHERE r.is_active AND r.end_date IS NOT NULL AND r.next_due_at > r.end_date AND {shard_predicate("r.id")}
"""

# The owner's local date of the series' creation (guarded like LOCAL_AS_OF; DUE excludes unknown zones).
_CREATED_DAY = local_date("r.created_at", "u.timezone")


def _occurrence_of(row: str, n: str) -> str:
    return f"todoflow_occurrence({row}.start_date, {row}.recurrence_type, {row}.recurrence_interval, {n})"


def _steps(row: str, day: str) -> str:
    """SQL: the largest n whose occurrence can be on or before day.

    Exact for days and weeks; for months and years occurrence n falls in day's month or year (or earlier) and may
    still lie after day.
    """
    return f"""(CASE {row}.recurrence_type
        WHEN 'daily' THEN ({day} - {row}.start_date) / {row}.recurrence_interval
        WHEN 'weekly' THEN ({day} - {row}.start_date) / (7 * {row}.recurrence_interval)
        WHEN 'monthly' THEN ((extract(year FROM {day})::int - extract(year FROM {row}.start_date)::int) * 12
                             + extract(month FROM {day})::int - extract(month FROM {row}.start_date)::int)
                            / {row}.recurrence_interval
        WHEN 'yearly' THEN (extract(year FROM {day})::int - extract(year FROM {row}.start_date)::int)
                           / {row}.recurrence_interval
    END)"""


_LOCK_CHUNK = lock_chunk(
    "r.id, r.user_id, r.title, r.description, r.priority_id, r.recurrence_type, r.recurrence_interval, "
    f"r.start_date, r.next_index, {UPTO} AS upto, {_CREATED_DAY} AS created_day",
    _DUE,
)

# One chunk, one transaction: lock the due series, insert their occurrences, write the events, advance.
EXPAND_CHUNK = f"""
WITH {STAMP_CTE},
locked AS MATERIALIZED ({_LOCK_CHUNK}),
starts AS (
    -- Creation policy: the first occurrence considered is the first on or after the series' creation day
    -- (in the owner's zone), or next_index if later. The anchor stays start_date.
    SELECT l.*, GREATEST(l.next_index, CASE WHEN l.created_day <= l.start_date THEN 0 ELSE
               {_steps("l", "l.created_day")}
               + CASE WHEN {_occurrence_of("l", _steps("l", "l.created_day"))} < l.created_day THEN 1 ELSE 0 END
           END) AS first_n
    FROM locked l
),
bounded AS (
    -- The largest n whose occurrence can be <= upto (exact for days and weeks, one too many at most for
    -- months and years, filtered below), so generate_series never walks past the cap or the as-of date.
    SELECT s.*, LEAST(s.first_n + %(cap)s - 1, {_steps("s", "s.upto")}) AS last_n
    FROM starts s
),
due AS MATERIALIZED (
    SELECT o.* FROM (
        SELECT b.id AS recurring_task_id, b.user_id, b.title, b.description, b.priority_id, b.upto, g.n,
               {_occurrence_of("b", "g.n")} AS due_date
        FROM bounded b CROSS JOIN LATERAL generate_series(b.first_n, b.last_n) AS g(n)
    ) AS o
    WHERE o.due_date <= o.upto
),
created AS (
    -- created_at = updated_at = now(), as their defaults, so the events can carry stamp.ts.
    INSERT INTO tasks (user_id, title, description, priority_id, due_date, is_recurring, recurring_task_id,
                       created_at, updated_at)
    SELECT due.user_id, due.title, due.description, due.priority_id, due.due_date, true, due.recurring_task_id,
           stamp.at, stamp.at
    FROM due CROSS JOIN stamp ORDER BY due.recurring_task_id, due.n
    ON CONFLICT (recurring_task_id, due_date) DO NOTHING
    RETURNING id, user_id, title, description, priority_id, due_date, recurring_task_id, created_at, updated_at
),
advance AS (
    SELECT b.id, b.upto, b.first_n + count(d.n)::int AS new_index
    FROM bounded b LEFT JOIN due d ON d.recurring_task_id = b.id
    GROUP BY b.id, b.upto, b.first_n
),
made AS (
    SELECT recurring_task_id AS id, count(*) AS tasks FROM created GROUP BY recurring_task_id
),
advanced AS (
    UPDATE recurring_tasks r SET
        next_index = GREATEST(r.next_index, a.new_index),
        next_due_at = GREATEST(r.next_due_at, {_occurrence_of("r", "a.new_index")}),
        is_active = r.end_date IS NULL OR GREATEST(r.next_due_at, {_occurrence_of("r", "a.new_index")}) <= r.end_date,
        last_created_at = CASE WHEN m.tasks > 0 THEN now() ELSE r.last_created_at END,
        updated_at = now()
    FROM advance a LEFT JOIN made m ON m.id = a.id
    WHERE r.id = a.id
    -- upto rides along: counting the series still behind needs no join (row estimates of CTEs are guesses,
    -- and a nested loop over two chunks of 2,000 series would cost seconds).
    RETURNING r.id, r.is_active, r.next_due_at, a.upto
),
{occurrence_events("created", "due")}
SELECT (SELECT count(*) FROM locked),
       (SELECT count(*) FROM created),
       (SELECT count(*) FROM written),
       (SELECT count(*) FROM advanced WHERE NOT is_active),
       (SELECT count(*) FROM advanced WHERE is_active AND next_due_at <= upto)
"""


@dataclass
class ExpandResult:
    """What one expansion run did."""

    series: int = 0  # due series processed
    created: int = 0  # task instances created
    events: int = 0  # outbox events written (2 per created task)
    ended: int = 0  # series set inactive because they passed their end_date
    behind: int = 0  # series that hit the cap and still have due occurrences (the next run continues)
    chunks: int = 0  # transactions
    skipped_rows: int = 0  # series that might be due but cannot be processed (logged by id; see guards)

    def counts(self) -> dict[str, int]:
        """The counts by name, for the run's report."""
        return asdict(self)


def expand(
    database_url: str | None,
    as_of: datetime,
    shard: int = 0,
    shards: int = 1,
    cap: int = DEFAULT_CAP,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ExpandResult:
    """Create the occurrences of shard `shard` of `shards` due as of `as_of` (an aware datetime)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if shards < 1 or not 0 <= shard < shards:
        raise ValueError(f"shard must be in [0, {shards}) and shards >= 1")
    if cap < 1 or chunk_size < 1:
        raise ValueError("cap and chunk_size must be >= 1")
    params: dict[str, Any] = {
        "as_of": as_of,
        "as_of_text": utc_z(as_of, "microseconds"),
        "shard": shard,
        "shards": shards,
        "cap": cap,
        "chunk": chunk_size,
    }
    result = ExpandResult()
    with connect(database_url, "todoflow-expand-recurrences") as conn:
        # Not prepared: the zone list must stay a constant of each plan (a hashed lookup, see guards).
        params["zones"] = known_zones(conn)
        result.skipped_rows = _report_skipped(conn, params)
        with conn.transaction():
            result.ended += conn.execute(END_FINISHED, params).rowcount
        for chunk in chunks(conn, NEXT_CHUNK, params):
            result.chunks += 1
            _expand_chunk(conn, chunk, result)
        expand_rules(conn, params, result)
    return result


def _report_skipped(conn: psycopg.Connection[Any], params: dict[str, Any]) -> int:
    """Log every series of the shard this run cannot process (with its owner and why); returns how many."""
    return log_skipped(log, "recurring task(s)", conn.execute(SKIPPED, params, prepare=False).fetchall())


def _expand_chunk(conn: psycopg.Connection[Any], params: dict[str, Any], result: ExpandResult) -> None:
    with conn.transaction():
        row = conn.execute(EXPAND_CHUNK, params, prepare=False).fetchone()
    assert row is not None
    series, created, events, ended, behind = (int(v) for v in row)
    result.series += series
    result.created += created
    result.events += events
    result.ended += ended
    result.behind += behind
    log.debug("chunk (%s, %s]: %d series, %d created", params["lo"], params["hi"], series, created)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the expand command's options to parser."""
    add_as_of(parser)
    parser.add_argument("--shard", type=int, default=0, help="this run's shard, 0 <= K < N (default 0)")
    add_count(parser, "--shards", 1, "number of shards N")
    add_count(parser, "--max-per-task", DEFAULT_CAP, "catch-up cap: most occurrences created per series per run")
    add_count(parser, "--chunk-size", DEFAULT_CHUNK_SIZE, "series per transaction")


def run(args: argparse.Namespace) -> int:
    """Run the expand command with the parsed args; the process exit code."""
    if not 0 <= args.shard < args.shards:
        log.error("--shard must be in [0, %d)", args.shards)
        return 2
    log.info("expanding shard %d/%d as of %s", args.shard, args.shards, args.as_of.isoformat())
    return report(
        "expand",
        lambda: expand(None, args.as_of, args.shard, args.shards, args.max_per_task, args.chunk_size),
        ExpandResult.counts,
    )
