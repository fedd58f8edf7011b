"""Expansion of issue 13's series: rule-based (RRULE) ones, and the first instance of completion-based ones.

Same guarantees as the seed types' set-based path in expand.py (as-of semantics in the owner's time zone,
idempotent reruns and backfills in any order, next_due_at never moving backwards, end_date, the catch-up
cap, pause/resume), with the dates computed in Python: per chunk of due series (locked FOR UPDATE in id
order, as in expand.py), dateutil's rrule gives each series' occurrences from next_due_at on (index
next_index, ...) up to min(local as-of, end_date) and at most `cap` of them; then one statement inserts
every task of the chunk set-based from arrays, writes their task-created and recurring-task-due events and
advances each series. COUNT and UNTIL end a series after its last occurrence (is_active false, next_due_at
left on that last occurrence).

A completion-based series (repeat_from = 'completion') gets only its first instance here, once due; every
later one is created by completing (or deleting) the open one in the API. Expansion never creates one ahead:
it only creates the instance due on next_due_at when no task for that date exists.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row

from todoflow.core import rrule
from todoflow.jobs.series_chunks import DUE, UPTO, chunks, lock_chunk, next_chunk
from todoflow.jobs.sql import STAMP_CTE, occurrence_events

log = logging.getLogger(__name__)

# Guarded like the seed path (jobs/guards.py): an owner's zone PostgreSQL does not know, or an infinite date,
# leaves the series out (never due here); expand.py's SKIPPED query logs, counts and reports it.
_RULE_DUE = f"r.rrule IS NOT NULL AND r.repeat_from = 'due' AND {DUE}"

NEXT_RULE_CHUNK = next_chunk(_RULE_DUE)
LOCK_RULE_CHUNK = lock_chunk(
    f"r.id, r.rrule, r.start_date, r.end_date, r.next_index, r.next_due_at, {UPTO} AS upto", _RULE_DUE
)


# One chunk's occurrences (computed in Python) inserted set-based; the series advanced to what Python found.
APPLY_RULE_CHUNK = f"""
WITH {STAMP_CTE},
due AS MATERIALIZED (
    SELECT o.recurring_task_id, r.user_id, r.title, r.description, r.priority_id, o.n, o.due_date
    FROM unnest(%(o_id)s::uuid[], %(o_n)s::int[], %(o_date)s::date[]) AS o(recurring_task_id, n, due_date)
    JOIN recurring_tasks r ON r.id = o.recurring_task_id
),
created AS (
    INSERT INTO tasks (user_id, title, description, priority_id, due_date, is_recurring, recurring_task_id,
                       created_at, updated_at)
    SELECT due.user_id, due.title, due.description, due.priority_id, due.due_date, true, due.recurring_task_id,
           stamp.at, stamp.at
    FROM due CROSS JOIN stamp ORDER BY due.recurring_task_id, due.n
    ON CONFLICT (recurring_task_id, due_date) DO NOTHING
    RETURNING id, user_id, title, description, priority_id, due_date, recurring_task_id
),
made AS (
    SELECT recurring_task_id AS id, count(*) AS tasks FROM created GROUP BY recurring_task_id
),
advanced AS (
    UPDATE recurring_tasks r SET
        next_index = GREATEST(r.next_index, a.new_index),
        next_due_at = GREATEST(r.next_due_at, a.new_due),
        is_active = a.active,
        last_created_at = CASE WHEN m.tasks > 0 THEN now() ELSE r.last_created_at END,
        updated_at = now()
    FROM unnest(%(s_id)s::uuid[], %(s_index)s::int[], %(s_due)s::date[], %(s_active)s::bool[])
         AS a(id, new_index, new_due, active)
         LEFT JOIN made m ON m.id = a.id
    WHERE r.id = a.id
    RETURNING r.id, r.is_active
),
{occurrence_events("created", "due")}
SELECT (SELECT count(*) FROM created), (SELECT count(*) FROM written), (SELECT count(*) FROM advanced
        WHERE NOT is_active)
"""

# Completion-based series: the first instance, once due, if no task exists for next_due_at.
FIRST_COMPLETION_INSTANCES = f"""
WITH {STAMP_CTE},
locked AS MATERIALIZED (
    SELECT r.id AS recurring_task_id, r.user_id, r.title, r.description, r.priority_id, r.next_index AS n,
           r.next_due_at AS due_date
    FROM recurring_tasks r JOIN users u ON u.id = r.user_id
    WHERE r.repeat_from = 'completion' AND {DUE} AND (r.end_date IS NULL OR r.next_due_at <= r.end_date)
      AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.recurring_task_id = r.id AND t.due_date = r.next_due_at)
    ORDER BY r.id
    FOR UPDATE OF r
),
created AS (
    INSERT INTO tasks (user_id, title, description, priority_id, due_date, is_recurring, recurring_task_id,
                       created_at, updated_at)
    SELECT l.user_id, l.title, l.description, l.priority_id, l.due_date, true, l.recurring_task_id, stamp.at, stamp.at
    FROM locked l CROSS JOIN stamp ORDER BY l.recurring_task_id
    ON CONFLICT (recurring_task_id, due_date) DO NOTHING
    RETURNING id, user_id, title, description, priority_id, due_date, recurring_task_id
),
stamped AS (
    UPDATE recurring_tasks r SET last_created_at = now(), updated_at = now()
    FROM created c WHERE r.id = c.recurring_task_id
    RETURNING r.id
),
{occurrence_events("created", "locked")}
SELECT (SELECT count(*) FROM locked), (SELECT count(*) FROM created), (SELECT count(*) FROM written),
       (SELECT count(*) FROM stamped)
"""


@lru_cache(maxsize=4096)
def _rule(text: str) -> rrule.Rule:
    return rrule.parse(text)


def plan(row: dict[str, Any], cap: int) -> tuple[list[tuple[int, date]], int, date, bool]:
    """(occurrences to create as (index, date), new next_index, new next_due_at, still active) for one series."""
    rule = _rule(row["rrule"])
    upto: date = row["upto"]
    end: date | None = row["end_date"]
    todo: list[tuple[int, date]] = []
    following: tuple[int, date] | None = None
    for n, due in rrule.dates(rule, row["start_date"], row["next_due_at"], row["next_index"]):
        assert n is not None
        if due > upto or len(todo) >= cap:
            following = (n, due)
            break
        todo.append((n, due))
    if following is None:  # COUNT or UNTIL reached (or nothing within the search horizon): the series is over
        last_index, last_due = todo[-1] if todo else (row["next_index"], row["next_due_at"])
        return todo, last_index + (1 if todo else 0), last_due, False
    return todo, following[0], following[1], end is None or following[1] <= end


def expand_rules(conn: psycopg.Connection[Any], params: dict[str, Any], result: Any) -> None:
    """Expand the due rule-based series of the shard, chunk by chunk, then first completion instances."""
    for chunk in chunks(conn, NEXT_RULE_CHUNK, params):
        result.chunks += 1
        _rule_chunk(conn, chunk, result)
    with conn.transaction():
        found = conn.execute(FIRST_COMPLETION_INSTANCES, params).fetchone()
    assert found is not None
    result.series += int(found[0])
    result.created += int(found[1])
    result.events += int(found[2])


def _rule_chunk(conn: psycopg.Connection[Any], params: dict[str, Any], result: Any) -> None:
    cap = params["cap"]
    with conn.transaction():
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(LOCK_RULE_CHUNK, params).fetchall()
        o_id: list[Any] = []
        o_n: list[int] = []
        o_date: list[date] = []
        s_id: list[Any] = []
        s_index: list[int] = []
        s_due: list[date] = []
        s_active: list[bool] = []
        behind = 0
        for row in rows:
            todo, new_index, new_due, active = plan(row, cap)
            for n, due in todo:
                o_id.append(row["id"])
                o_n.append(n)
                o_date.append(due)
            s_id.append(row["id"])
            s_index.append(new_index)
            s_due.append(new_due)
            s_active.append(active)
            behind += active and new_due <= row["upto"]
        applied = conn.execute(
            APPLY_RULE_CHUNK,
            params
            | {
                "o_id": o_id,
                "o_n": o_n,
                "o_date": o_date,
                "s_id": s_id,
                "s_index": s_index,
                "s_due": s_due,
                "s_active": s_active,
            },
        ).fetchone()
    assert applied is not None
    result.series += len(rows)
    result.created += int(applied[0])
    result.events += int(applied[1])
    result.ended += int(applied[2])
    result.behind += behind
    log.debug("rule chunk (%s, %s]: %d series, %d created", params["lo"], params["hi"], len(rows), applied[0])
