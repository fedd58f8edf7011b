"""Rows one set-based statement cannot process: kept out of the jobs' statements, reported by name instead.

One statement handles thousands of users' rows, so one row that makes it fail would stop everyone's
work. Such a row is written directly into the database (the API refuses it): an owner's time zone that
PostgreSQL does not know (`localtime`, `posixrules`: `AT TIME ZONE` raises), an infinite date
(`-infinity` makes date arithmetic raise), or a series index so large that its next occurrence overflows
an integer or the date range. The predicates below recognise those rows without evaluating the expression
that would raise: SQL does not promise the order of AND/OR operands, so every guarded expression sits in
a CASE, whose branches are evaluated in order. The jobs skip what fails a predicate (logged with ids,
counted as `jobs.<job>.skipped_rows`), and the quality check `rows_processable_by_jobs` names the same
rows with the same predicates, so the jobs and the checks agree on what was skipped.

Time zones: the jobs pass PostgreSQL's own zone names as a constant array, read once per run
(pg_timezone_names takes tens of milliseconds), and execute without server-side preparation so that the
array stays a constant and the membership test a hash lookup. The checks, one statement each, read the
view directly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg

# Every zone name AT TIME ZONE accepts for certain; a zone outside it is skipped (never guessed at).
ZONES_PARAM = "%(zones)s::text[]"
ZONES_VIEW = "(SELECT name FROM pg_timezone_names)"
# How many days one step of each recurrence type spans at least (a month: 28, a year: 365).
_MIN_DAYS_PER_STEP = (
    "CASE {r}.recurrence_type WHEN 'daily' THEN 1 WHEN 'weekly' THEN 7 WHEN 'monthly' THEN 28 ELSE 365 END"
)
# The largest number of sample ids one log line names.
LOG_SAMPLE = 50


def known_zones(conn: psycopg.Connection[Any]) -> list[str]:
    """The time zone names this PostgreSQL server knows."""
    row = conn.execute("SELECT array_agg(name ORDER BY name) FROM pg_timezone_names").fetchone()
    return list(row[0] or []) if row else []


def log_skipped(log: logging.Logger, what: str, rows: Sequence[Sequence[Any]]) -> int:
    """Log rows (id, owner id, problem) a job skips, LOG_SAMPLE per warning line; returns how many."""
    for start in range(0, len(rows), LOG_SAMPLE):
        part = rows[start : start + LOG_SAMPLE]
        log.warning(
            "skipped %d %s that cannot be processed (quality check rows_processable_by_jobs names them too): %s",
            len(part),
            what,
            "; ".join(f"id={row_id} user_id={user_id}: {problem}" for row_id, user_id, problem in part),
        )
    return len(rows)


def zone_known(column: str, zones: str = ZONES_PARAM) -> str:
    """SQL: the zone in column is one PostgreSQL knows (zones: ZONES_PARAM in the jobs, ZONES_VIEW in checks)."""
    if zones == ZONES_VIEW:
        return f"({column} IN {ZONES_VIEW})"
    return f"({column} = ANY({zones}))"


def local_date(instant: str, zone: str, zones: str = ZONES_PARAM) -> str:
    """SQL: the date of instant in zone, or NULL when the zone is unknown (comparisons with it are never true)."""
    return f"(CASE WHEN {zone_known(zone, zones)} THEN ({instant} AT TIME ZONE {zone})::date END)"


def series_problem(r: str = "r", u: str = "u", zones: str = ZONES_PARAM) -> str:
    """SQL: why series r (owner u) cannot be expanded, or NULL when it can.

    A consistent seed-type series has next_index <= (next_due_at - start_date) / (interval x the fewest days
    of one step): occurrence n lies at least n steps after the anchor. A larger index is corrupt and would make
    the statement overflow (next_index + cap, n x interval, a date past the year 5874897). A rule-based series
    (rrule) is computed in Python from its rule, not by that arithmetic, so the index bound does not apply.
    """
    min_days = _MIN_DAYS_PER_STEP.format(r=r)
    return f"""(CASE
        WHEN NOT {zone_known(f"{u}.timezone", zones)} THEN 'unknown time zone ' || quote_literal({u}.timezone)
        WHEN NOT (isfinite({r}.start_date) AND isfinite({r}.next_due_at) AND isfinite({r}.created_at))
            THEN 'infinite start_date, next_due_at or created_at'
        WHEN {r}.recurrence_interval < 1 THEN 'recurrence_interval below 1'
        WHEN {r}.rrule IS NULL
             AND {r}.next_index > ({r}.next_due_at - {r}.start_date) / ({r}.recurrence_interval * {min_days})
            THEN 'next_index ' || {r}.next_index || ' does not match next_due_at'
    END)"""


def task_problem(t: str = "t", u: str = "u", zones: str = ZONES_PARAM) -> str:
    """SQL: why task t (owner u) cannot be swept, or NULL when it can."""
    return f"""(CASE
        WHEN NOT {zone_known(f"{u}.timezone", zones)} THEN 'unknown time zone ' || quote_literal({u}.timezone)
        WHEN NOT isfinite({t}.due_date) THEN 'infinite due_date'
    END)"""
