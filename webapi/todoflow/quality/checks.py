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
                  AND r.next_due_at <= ({expansion_cutoff} AT TIME ZONE u.timezone)::date
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
               CROSS JOIN LATERAL (SELECT CASE r.recurrence_type
                   WHEN 'daily' THEN (t.due_date - r.start_date) / r.recurrence_interval
                   WHEN 'weekly' THEN (t.due_date - r.start_date) / (7 * r.recurrence_interval)
                   WHEN 'monthly' THEN ((date_part('year', t.due_date) - date_part('year', r.start_date)) * 12
                       + date_part('month', t.due_date) - date_part('month', r.start_date))::int
                       / r.recurrence_interval
                   WHEN 'yearly' THEN (date_part('year', t.due_date) - date_part('year', r.start_date))::int
                       / r.recurrence_interval
                   END AS n) k
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
                  AND t.due_date <= ({sweep_cutoff} AT TIME ZONE u.timezone)::date""",
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
        "every logged recurring-task-due event has its task",
        _rows(
            """SELECT l.event_id, l.task_id FROM (SELECT * FROM {batch}) l
               WHERE l.event_type = 'recurring-task-due'
                 AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = l.task_id)""",
            "recurring-task-due event without its task",
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
