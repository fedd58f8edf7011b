"""The schedule expectations: each one a Great Expectations expectation evaluated in PostgreSQL.

Most are `UnexpectedRowsExpectation`s whose query returns only the offending rows (so nothing is
loaded into pandas); domain checks use GX's column expectations. Every query is parametrized by
the run's as-of instant and the tolerances in `Tolerances`, rendered as SQL literals from typed
values (never from user input).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import great_expectations as gx
from great_expectations.expectations import Expectation

from todoflow.core.recurrence import RECURRENCE_TYPES
from todoflow.jobs.guards import ZONES_VIEW, local_date, series_problem, task_problem, zone_known
from todoflow.quality.rule_checks import rule_instances


@dataclass(frozen=True)
class Tolerances:
    """How far behind each part of the pipeline may be before a check calls it broken."""

    expansion_lag: timedelta = timedelta(hours=2)  # expansion runs hourly
    sweep_lag: timedelta = timedelta(hours=1)  # the sweep runs every 15 minutes
    outbox_max_age: timedelta = timedelta(minutes=15)  # the relay publishes within milliseconds
    event_log_lag: timedelta = timedelta(hours=1)  # the event log is written in micro-batches
    since: datetime | None = None  # start of the reconciled interval; None = all history


@dataclass(frozen=True)
class Check:
    """One named expectation over one table."""

    name: str
    table: str
    description: str
    expectation: Expectation
    # A check computed outside SQL (issue 13): the DataFrame GX validates instead of the table.
    frame: Callable[[str], Any] | None = None


# The jobs' own predicates (jobs/guards.py) over the tables as they are: the checks and the jobs agree.
_SERIES_PROBLEM = series_problem("r", "u", ZONES_VIEW)
_TASK_PROBLEM = task_problem("t", "u", ZONES_VIEW)


def _ts(value: datetime) -> str:
    return f"'{value.isoformat()}'::timestamptz"


def _rows(query: str, description: str) -> Expectation:
    return gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=query, description=description)


def build_checks(as_of: datetime, tol: Tolerances) -> list[Check]:
    """The suite for a run acting as of `as_of`."""
    expansion_cutoff = _ts(as_of - tol.expansion_lag)
    sweep_cutoff = _ts(as_of - tol.sweep_lag)
    outbox_cutoff = _ts(as_of - tol.outbox_max_age)
    log_cutoff = _ts(as_of - tol.event_log_lag)
    since = _ts(tol.since) if tol.since else "'-infinity'::timestamptz"
    checks: list[tuple[str, str, str, Expectation]] = []

    def add(name: str, table: str, description: str, expectation: Expectation) -> None:
        checks.append((name, table, description, expectation))

    add(
        "recurring_next_due_within_bounds",
        "recurring_tasks",
        "an active recurring task's next_due_at is on or after its start_date and on or before its end_date",
        _rows(
            """SELECT id, next_due_at, start_date, end_date FROM {batch}
               WHERE is_active AND (next_due_at < start_date
                                    OR (end_date IS NOT NULL AND next_due_at > end_date))""",
            "next_due_at outside [start_date, end_date]",
        ),
    )
    add(
        "recurring_not_behind",
        "recurring_tasks",
        "no active recurring task is behind: an occurrence due before the as-of date minus the allowed lag "
        "(in the owner's time zone) was not expanded",
        _rows(
            f"""SELECT r.id, r.next_due_at FROM (SELECT * FROM {{batch}}) r JOIN users u ON u.id = r.user_id
                WHERE r.is_active AND r.created_at < {expansion_cutoff}
                  AND {_SERIES_PROBLEM} IS NULL
                  AND r.next_due_at <= {local_date(expansion_cutoff, "u.timezone", ZONES_VIEW)}
                  -- a completion-based series waits on its open instance (issue 13): behind only without it
                  AND (r.repeat_from = 'due' OR NOT EXISTS (
                      SELECT 1 FROM tasks t WHERE t.recurring_task_id = r.id AND t.due_date = r.next_due_at))""",
            "expansion missed: next_due_at not after the as-of date minus the lag",
        ),
    )
    add(
        "instances_on_pattern",
        "tasks",
        "every generated task's due date is an occurrence of its recurring task "
        "(anchor, type, interval, month-end policy) within its end_date",
        _rows(
            """SELECT t.id, t.recurring_task_id, t.due_date FROM (SELECT * FROM {batch}) t
               JOIN recurring_tasks r ON r.id = t.recurring_task_id AND r.rrule IS NULL AND r.repeat_from = 'due'
               CROSS JOIN LATERAL (SELECT CASE WHEN isfinite(t.due_date) AND isfinite(r.start_date) THEN
                   CASE r.recurrence_type
                   WHEN 'daily' THEN (t.due_date - r.start_date) / r.recurrence_interval
                   WHEN 'weekly' THEN (t.due_date - r.start_date) / (7 * r.recurrence_interval)
                   WHEN 'monthly' THEN ((date_part('year', t.due_date) - date_part('year', r.start_date)) * 12
                       + date_part('month', t.due_date) - date_part('month', r.start_date))::int
                       / r.recurrence_interval
                   WHEN 'yearly' THEN (date_part('year', t.due_date) - date_part('year', r.start_date))::int
                       / r.recurrence_interval
                   END END AS n) k
               WHERE t.due_date IS NULL OR k.n IS NULL OR k.n < 0
                  OR todoflow_occurrence(r.start_date, r.recurrence_type, r.recurrence_interval, k.n)
                     IS DISTINCT FROM t.due_date
                  OR (r.end_date IS NOT NULL AND t.due_date > r.end_date)""",
            "generated task off its recurrence pattern",
        ),
    )
    add(
        "instances_unique_per_due_date",
        "tasks",
        "no two tasks share (recurring_task_id, due_date)",
        _rows(
            """SELECT recurring_task_id, due_date, count(*) AS copies FROM {batch}
               WHERE recurring_task_id IS NOT NULL
               GROUP BY recurring_task_id, due_date HAVING count(*) > 1""",
            "duplicate occurrence",
        ),
    )
    add(
        "recurrence_type_in_domain",
        "recurring_tasks",
        f"recurrence_type is one of {', '.join(RECURRENCE_TYPES)}",
        gx.expectations.ExpectColumnValuesToBeInSet(column="recurrence_type", value_set=list(RECURRENCE_TYPES)),
    )
    add(
        "recurrence_interval_in_domain",
        "recurring_tasks",
        "recurrence_interval is between 1 and 52",
        gx.expectations.ExpectColumnValuesToBeBetween(column="recurrence_interval", min_value=1, max_value=52),
    )
    add(
        "end_date_not_before_start_date",
        "recurring_tasks",
        "end_date is not before start_date",
        _rows(
            "SELECT id, start_date, end_date FROM {batch} WHERE end_date < start_date",
            "end_date before start_date",
        ),
    )
    add(
        "no_missed_sweep",
        "tasks",
        "no open task due on or before the as-of date minus the sweep lag (owner's time zone) is still un-notified",
        _rows(
            f"""SELECT t.id, t.due_date FROM (SELECT * FROM {{batch}}) t JOIN users u ON u.id = t.user_id
                WHERE NOT t.completed AND NOT t.notified AND t.deleted_at IS NULL AND t.due_date IS NOT NULL
                  AND t.updated_at < {sweep_cutoff}
                  AND {_TASK_PROBLEM} IS NULL
                  AND t.due_date <= {local_date(sweep_cutoff, "u.timezone", ZONES_VIEW)}""",
            "sweep missed an open due task",
        ),
    )
    add(
        "outbox_not_stuck",
        "event_outbox",
        "no outbox event older than the threshold is unpublished (a stuck relay)",
        _rows(
            f"SELECT id, event_id, topic, created_at FROM {{batch}} "
            f"WHERE published_at IS NULL AND created_at < {outbox_cutoff}",
            "unpublished outbox event past its age limit",
        ),
    )
    add(
        "logged_recurring_due_has_task",
        "task_event_log",
        "every logged recurring-task-due event has its task, owned by the event's user",
        _rows(
            """SELECT l.event_id, l.task_id, l.user_id FROM (SELECT * FROM {batch}) l
               WHERE l.event_type = 'recurring-task-due'
                 AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = l.task_id AND t.user_id = l.user_id)""",
            "recurring-task-due event without its task (same id and owner)",
        ),
    )
    add(
        "instances_reconcile_with_event_log",
        "tasks",
        "over the checked interval, each generated task has exactly one logged recurring-task-due event",
        _rows(
            f"""SELECT t.id, count(l.event_id) AS logged FROM (SELECT * FROM {{batch}}) t
                LEFT JOIN task_event_log l ON l.task_id = t.id AND l.event_type = 'recurring-task-due'
                WHERE t.is_recurring AND t.created_at >= {since} AND t.created_at < {log_cutoff}
                GROUP BY t.id HAVING count(l.event_id) <> 1""",
            "created instances and logged events do not reconcile",
        ),
    )
    add(
        "rows_processable_by_jobs",
        "recurring_tasks",
        "every row the jobs read can be processed: each user's time zone is one PostgreSQL knows, and no active "
        "series or open task has an infinite date or a corrupt index (the jobs skip such rows, see jobs/guards.py)",
        _rows(
            f"""SELECT 'users' AS kind, u.id::text AS id, u.id::text AS user_id,
                       'unknown time zone ' || quote_literal(u.timezone) AS problem
                FROM users u WHERE NOT {zone_known("u.timezone", ZONES_VIEW)}
                UNION ALL
                SELECT 'recurring_tasks', r.id::text, r.user_id::text, {_SERIES_PROBLEM}
                FROM (SELECT * FROM {{batch}}) r JOIN users u ON u.id = r.user_id
                WHERE r.is_active AND {_SERIES_PROBLEM} IS NOT NULL
                UNION ALL
                SELECT 'tasks', t.id::text, t.user_id::text, {_TASK_PROBLEM}
                FROM tasks t JOIN users u ON u.id = t.user_id
                WHERE NOT t.completed AND NOT t.notified AND t.deleted_at IS NULL AND t.due_date IS NOT NULL
                  AND {_TASK_PROBLEM} IS NOT NULL""",
            "rows the jobs skip: fix or remove them (each is logged by the job that skipped it)",
        ),
    )
    built = [Check(name, table, description, expectation) for name, table, description, expectation in checks]
    built.append(
        Check(
            "rule_instances_on_rule",
            "tasks",
            "every task of an RRULE series is due on an occurrence of its rule (from its start date, within "
            "COUNT, UNTIL and end_date)",
            gx.expectations.ExpectColumnValuesToBeInSet(column="on_rule", value_set=[True]),
            frame=rule_instances,
        )
    )
    return built


def check_names() -> list[str]:
    """Names of every check, in run order."""
    from datetime import UTC

    return [check.name for check in build_checks(datetime.now(UTC), Tolerances())]


def sample(result: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """A few offending rows from a GX result, JSON-ready."""
    details = result.get("details") or {}
    rows = details.get("unexpected_rows")
    if rows is None:
        rows = [{"value": v} for v in (result.get("partial_unexpected_list") or [])]
    elif hasattr(rows, "to_dict"):
        rows = rows.to_dict(orient="records")
    out = []
    for row in list(rows)[:limit]:
        out.append(
            {
                key: (value if isinstance(value, int | float | bool) or value is None else str(value))
                for key, value in dict(row).items()
            }
        )
    return out
