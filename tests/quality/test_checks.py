"""Each expectation passes on consistent data and fails, by name, on data broken in exactly its way."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.quality.support import AS_OF, CREATED
from todoflow.quality.checks import Tolerances, check_names
from todoflow.quality.runner import run_suite


def _failed(database_url: str, **kwargs: Any) -> dict[str, Any]:
    outcome = run_suite(AS_OF, database_url=database_url, **kwargs)
    return {r.name: r for r in outcome.results if not r.success}


def test_consistent_schedule_passes_every_check(database_url: str, schedule: dict[str, Any]) -> None:
    outcome = run_suite(AS_OF, database_url=database_url)
    assert [r.name for r in outcome.results] == check_names()
    assert outcome.failed == []
    assert outcome.success


def test_results_are_stored_for_operators(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    outcome = run_suite(AS_OF, database_url=database_url)
    rows = pg.execute(
        "SELECT check_name, success FROM quality_results WHERE run_id = %s ORDER BY id", (outcome.run_id,)
    ).fetchall()
    assert rows == [(name, True) for name in check_names()]


def test_next_due_after_end_date(database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]) -> None:
    series = schedule["series"]["daily"]
    pg.execute("UPDATE recurring_tasks SET end_date = start_date + 2 WHERE id = %s", (series,))
    failed = _failed(database_url)
    assert set(failed) == {"recurring_next_due_within_bounds", "instances_on_pattern"}
    assert failed["recurring_next_due_within_bounds"].unexpected_count == 1
    assert failed["recurring_next_due_within_bounds"].sample[0]["id"] == str(series)


def test_next_due_before_start_date(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any], without_constraint: Any
) -> None:
    without_constraint("recurring_tasks", "ck_recurring_tasks_next_due_after_start")
    series = schedule["series"]["weekly"]
    pg.execute("UPDATE recurring_tasks SET start_date = next_due_at + 1 WHERE id = %s", (series,))
    failed = _failed(database_url, only=["recurring_next_due_within_bounds"])
    assert set(failed) == {"recurring_next_due_within_bounds"}


def test_missed_expansion_is_behind(database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]) -> None:
    series = schedule["series"]["daily"]
    pg.execute(
        "UPDATE recurring_tasks SET next_due_at = next_due_at - 3, next_index = next_index - 3 WHERE id = %s", (series,)
    )
    failed = _failed(database_url)
    assert set(failed) == {"recurring_not_behind"}
    assert failed["recurring_not_behind"].sample[0]["id"] == str(series)


def test_paused_series_is_not_behind(database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]) -> None:
    pg.execute(
        "UPDATE recurring_tasks SET next_due_at = start_date, is_active = false WHERE id = %s",
        (schedule["series"]["daily"],),
    )
    assert _failed(database_url) == {}


def test_series_created_within_the_lag_is_not_yet_behind(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    pg.execute(
        "UPDATE recurring_tasks SET next_due_at = start_date, next_index = 0, created_at = %s WHERE id = %s",
        (AS_OF - timedelta(minutes=30), schedule["series"]["daily"]),
    )
    assert "recurring_not_behind" not in _failed(database_url)


def test_instance_off_pattern(database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]) -> None:
    series = schedule["series"]["month_end"]
    task_id = pg.execute(
        "SELECT id FROM tasks WHERE recurring_task_id = %s ORDER BY due_date LIMIT 1 OFFSET 1", (series,)
    ).fetchone()[0]
    pg.execute("UPDATE tasks SET due_date = due_date - 1 WHERE id = %s", (task_id,))
    failed = _failed(database_url)
    assert set(failed) == {"instances_on_pattern"}
    assert failed["instances_on_pattern"].unexpected_count == 1
    assert failed["instances_on_pattern"].sample[0]["id"] == task_id


def test_duplicate_occurrence(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any], without_constraint: Any
) -> None:
    without_constraint("tasks", "uq_tasks_recurring_task_id_due_date")
    pg.execute(
        """INSERT INTO tasks (user_id, title, due_date, is_recurring, recurring_task_id, notified, created_at,
                              updated_at)
           SELECT user_id, title, due_date, true, recurring_task_id, true, created_at, updated_at FROM tasks
           WHERE recurring_task_id = %s ORDER BY due_date LIMIT 1""",
        (schedule["series"]["daily"],),
    )
    failed = _failed(database_url)
    # The copy also has no logged event of its own, so the reconciliation notices it too.
    assert set(failed) == {"instances_unique_per_due_date", "instances_reconcile_with_event_log"}
    assert failed["instances_unique_per_due_date"].sample[0]["copies"] == 2


@pytest.mark.parametrize(
    ("constraint", "update", "check"),
    [
        ("ck_recurring_tasks_recurrence_type_known", "recurrence_type = 'hourly'", "recurrence_type_in_domain"),
        ("ck_recurring_tasks_interval_range", "recurrence_interval = 53", "recurrence_interval_in_domain"),
        ("ck_recurring_tasks_end_after_start", "end_date = start_date - 1", "end_date_not_before_start_date"),
    ],
)
def test_domain_violations(
    database_url: str,
    schedule: dict[str, Any],
    pg: psycopg.Connection[Any],
    without_constraint: Any,
    constraint: str,
    update: str,
    check: str,
) -> None:
    without_constraint("recurring_tasks", constraint)
    pg.execute(f"UPDATE recurring_tasks SET {update} WHERE id = %s", (schedule["series"]["weekly"],))
    failed = _failed(database_url, only=[check])
    assert set(failed) == {check}
    assert failed[check].unexpected_count == 1


def test_missed_sweep(database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]) -> None:
    task_id = pg.execute(
        "INSERT INTO tasks (user_id, title, due_date, created_at, updated_at) VALUES (%s, 'overdue', %s, %s, %s) "
        "RETURNING id",
        (schedule["user_id"], schedule["local_today"] - timedelta(days=1), CREATED, CREATED),
    ).fetchone()[0]
    failed = _failed(database_url)
    assert set(failed) == {"no_missed_sweep"}
    assert failed["no_missed_sweep"].sample[0]["id"] == task_id


def test_task_changed_within_the_sweep_lag_is_not_missed(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    pg.execute(
        "INSERT INTO tasks (user_id, title, due_date, created_at, updated_at) VALUES (%s, 'new', %s, %s, %s)",
        (schedule["user_id"], schedule["local_today"], AS_OF - timedelta(minutes=5), AS_OF - timedelta(minutes=5)),
    )
    assert _failed(database_url) == {}


def test_stuck_outbox(database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]) -> None:
    pg.execute(
        """INSERT INTO event_outbox (event_id, topic, message_key, payload, created_at)
           VALUES (gen_random_uuid(), 'task-updated', 'k', '{}', %s)""",
        (AS_OF - timedelta(hours=1),),
    )
    failed = _failed(database_url)
    assert set(failed) == {"outbox_not_stuck"}


def test_logged_event_without_task(database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]) -> None:
    pg.execute(
        """INSERT INTO task_event_log (event_id, task_id, event_type, event_data, event_timestamp)
           VALUES (gen_random_uuid(), 987654321, 'recurring-task-due', '{}', %s)""",
        (CREATED,),
    )
    failed = _failed(database_url)
    assert set(failed) == {"logged_recurring_due_has_task"}
    assert failed["logged_recurring_due_has_task"].sample[0]["task_id"] == 987654321


def test_instances_and_log_do_not_reconcile(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    task_id = pg.execute(
        "SELECT id FROM tasks WHERE recurring_task_id = %s ORDER BY due_date LIMIT 1", (schedule["series"]["weekly"],)
    ).fetchone()[0]
    pg.execute("DELETE FROM task_event_log WHERE task_id = %s", (task_id,))
    failed = _failed(database_url)
    assert set(failed) == {"instances_reconcile_with_event_log"}
    assert failed["instances_reconcile_with_event_log"].sample[0]["id"] == task_id
    # Outside the reconciled interval (an incremental run after the expansion) the gap is not this run's business.
    assert _failed(database_url, tolerances=Tolerances(since=CREATED + timedelta(hours=1))) == {}


def test_failure_is_logged_by_name_with_count_and_sample(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    pg.execute(
        """INSERT INTO event_outbox (event_id, topic, message_key, payload, created_at)
           VALUES (gen_random_uuid(), 'task-updated', 'k', '{}', %s)""",
        (AS_OF - timedelta(hours=2),),
    )
    with caplog.at_level(logging.INFO, logger="todoflow.quality.runner"):
        run_suite(AS_OF, database_url=database_url)
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert failures[0].startswith("FAILED outbox_not_stuck: 1 offending row(s)")
    assert "event_id" in failures[0]


def test_logged_event_of_another_users_task(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    # A foreign event whose task id happens to exist (ids restart per database): it is not that task's event.
    stranger = pg.execute("INSERT INTO users (email, password_hash) VALUES ('s@example.com', 'x') RETURNING id")
    stranger_id = stranger.fetchone()[0]
    task_id = pg.execute("SELECT min(id) FROM tasks WHERE recurring_task_id IS NOT NULL").fetchone()[0]
    pg.execute(
        """INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
           VALUES (gen_random_uuid(), %s, %s, 'recurring-task-due', '{}', %s)""",
        (task_id, stranger_id, CREATED),
    )
    failed = _failed(database_url, only=["logged_recurring_due_has_task"])
    assert set(failed) == {"logged_recurring_due_has_task"}
    assert failed["logged_recurring_due_has_task"].unexpected_count == 1
    assert failed["logged_recurring_due_has_task"].sample[0]["user_id"] == str(stranger_id)


def test_rows_the_jobs_skip_are_named_and_every_other_check_still_runs(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    local_today = schedule["local_today"]
    bad_user = pg.execute(
        "INSERT INTO users (email, password_hash, timezone) VALUES ('b@example.com', 'x', 'localtime') RETURNING id"
    ).fetchone()[0]
    bad_series = pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, start_date, next_due_at, created_at)
           VALUES (%s, 'behind in an unknown zone', 'daily', %s, %s, %s) RETURNING id""",
        (bad_user, local_today - timedelta(days=9), local_today - timedelta(days=9), CREATED),
    ).fetchone()[0]
    bad_task = pg.execute(
        "INSERT INTO tasks (user_id, title, due_date, created_at, updated_at) VALUES (%s, 'due', %s, %s, %s) "
        "RETURNING id",
        (bad_user, local_today - timedelta(days=2), CREATED, CREATED),
    ).fetchone()[0]
    infinite = pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, start_date, next_due_at, created_at)
           VALUES (%s, 'infinite', 'daily', '-infinity', %s, %s) RETURNING id""",
        (schedule["user_id"], local_today - timedelta(days=9), CREATED),
    ).fetchone()[0]
    # Another user's real problem in the same run: still found.
    missed = pg.execute(
        "INSERT INTO tasks (user_id, title, due_date, created_at, updated_at) VALUES (%s, 'missed', %s, %s, %s) "
        "RETURNING id",
        (schedule["user_id"], local_today - timedelta(days=1), CREATED, CREATED),
    ).fetchone()[0]

    failed = _failed(database_url)

    assert set(failed) == {"rows_processable_by_jobs", "no_missed_sweep"}
    assert [row["id"] for row in failed["no_missed_sweep"].sample] == [missed]
    named = failed["rows_processable_by_jobs"]
    assert named.unexpected_count == 4
    assert sorted((row["kind"], row["id"]) for row in named.sample) == sorted(
        [("users", str(bad_user)), ("recurring_tasks", str(bad_series)), ("tasks", str(bad_task)),
         ("recurring_tasks", str(infinite))]
    )  # fmt: skip
    problems = {row["id"]: row["problem"] for row in named.sample}
    assert problems[str(bad_task)] == "unknown time zone 'localtime'"
    assert problems[str(infinite)] == "infinite start_date, next_due_at or created_at"


def test_a_series_created_after_its_start_date_passes_every_check(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    from todoflow.jobs.expand import expand

    # Started years ago, created three days ago: the expansion skips the early dates (creation policy).
    series_id = pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, start_date, next_due_at, created_at,
                                        updated_at)
           VALUES (%s, 'old anchor', 'daily', '2000-01-01', '2000-01-01', %s, %s) RETURNING id""",
        (schedule["user_id"], CREATED, CREATED),
    ).fetchone()[0]
    expand(database_url, CREATED + timedelta(hours=1))
    pg.execute(
        "UPDATE tasks SET created_at = %s, updated_at = %s, notified = true WHERE recurring_task_id = %s",
        (CREATED, CREATED, series_id),
    )
    expand(database_url, AS_OF)
    pg.execute("UPDATE tasks SET notified = true WHERE recurring_task_id = %s", (series_id,))
    # What the event-log writer would have logged from the outbox.
    pg.execute(
        """INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
           SELECT event_id, (payload->'data'->>'task_id')::bigint, (payload->'data'->>'user_id')::uuid, topic,
                  payload->'data', %s
           FROM event_outbox WHERE topic = 'recurring-task-due'""",
        (CREATED,),
    )
    pg.execute("UPDATE event_outbox SET published_at = created_at")
    dates = [r[0] for r in pg.execute("SELECT due_date FROM tasks WHERE recurring_task_id = %s", (series_id,))]
    created_day = CREATED.astimezone(ZoneInfo("America/New_York")).date()
    days = (schedule["local_today"] - created_day).days
    assert sorted(dates) == [created_day + timedelta(days=n) for n in range(days + 1)]
    assert _failed(database_url) == {}


def _rule_series(pg: psycopg.Connection[Any], schedule: dict[str, Any], text: str, dues: list[Any]) -> Any:
    """A rule-based series (issue 13) whose instances are the given due dates, logged as the pipeline does."""
    start = schedule["local_today"] - timedelta(days=60)
    series_id = pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, recurrence_interval, start_date,
               next_due_at, next_index, rrule, created_at, updated_at, last_created_at)
           VALUES (%s, 'rule', 'weekly', 1, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            schedule["user_id"],
            start,
            schedule["local_today"] + timedelta(days=7),
            len(dues),
            text,
            CREATED,
            CREATED,
            CREATED,
        ),
    ).fetchone()[0]
    for due in dues:
        pg.execute(
            """WITH made AS (INSERT INTO tasks (user_id, title, due_date, is_recurring, recurring_task_id, notified,
                                                created_at, updated_at)
                             VALUES (%s, 'rule', %s, true, %s, true, %s, %s) RETURNING id, user_id)
               INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
               SELECT gen_random_uuid(), id, user_id, 'recurring-task-due', '{}', %s FROM made""",
            (schedule["user_id"], due, series_id, CREATED, CREATED, CREATED),
        )
    return series_id, start


def test_rule_instances_are_checked_against_their_rule(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    from todoflow.core import rrule

    text = "FREQ=WEEKLY;BYDAY=MO,TH"
    start = schedule["local_today"] - timedelta(days=60)
    on_rule = [d for _, d in rrule.take(rrule.dates(rrule.parse(text), start, start, 0), 8)]
    series_id, _ = _rule_series(pg, schedule, text, on_rule)
    outcome = run_suite(AS_OF, database_url=database_url)
    assert outcome.failed == [], outcome.failed  # the seed-type check skips rule series; the rule check passes

    off = on_rule[-1] + timedelta(days=1)  # a Tuesday or a Friday: not an occurrence
    pg.execute(
        "UPDATE tasks SET due_date = %s WHERE recurring_task_id = %s AND due_date = %s", (off, series_id, on_rule[-1])
    )
    failed = _failed(database_url)
    assert set(failed) == {"rule_instances_on_rule"}
    assert failed["rule_instances_on_rule"].unexpected_count == 1
    assert failed["rule_instances_on_rule"].sample[0]["due_date"] == off.isoformat()


def test_completion_series_waiting_on_its_open_instance_is_not_behind(
    database_url: str, schedule: dict[str, Any], pg: psycopg.Connection[Any]
) -> None:
    due = schedule["local_today"] - timedelta(days=10)
    series_id = pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, recurrence_interval, start_date,
               next_due_at, repeat_from, created_at, updated_at)
           VALUES (%s, 'plants', 'daily', 7, %s, %s, 'completion', %s, %s) RETURNING id""",
        (schedule["user_id"], due, due, CREATED, CREATED),
    ).fetchone()[0]
    failed = _failed(database_url, only=["recurring_not_behind"])
    assert set(failed) == {"recurring_not_behind"}  # its first instance was never created: behind
    pg.execute(
        """INSERT INTO tasks (user_id, title, due_date, is_recurring, recurring_task_id, notified, created_at,
                              updated_at) VALUES (%s, 'plants', %s, true, %s, true, %s, %s)""",
        (schedule["user_id"], due, series_id, CREATED, CREATED),
    )
    assert _failed(database_url, only=["recurring_not_behind"]) == {}  # open and overdue: the user's to do
