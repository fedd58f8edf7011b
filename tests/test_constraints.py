"""Each schema invariant rejects a violating row with the database's own error."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import errors


def _user(pg: psycopg.Connection[Any], email: str = "a@example.com") -> uuid.UUID:
    return pg.execute("INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id", (email,)).fetchone()[0]


def _series(pg: psycopg.Connection[Any], user_id: uuid.UUID, **overrides: Any) -> uuid.UUID:
    row = {
        "recurrence_type": "daily",
        "recurrence_interval": 1,
        "start_date": "2026-01-01",
        "end_date": None,
        "next_due_at": "2026-01-01",
    } | overrides
    return pg.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, recurrence_interval,
                                        start_date, end_date, next_due_at)
           VALUES (%s, 't', %s, %s, %s, %s, %s) RETURNING id""",
        (
            user_id,
            row["recurrence_type"],
            row["recurrence_interval"],
            row["start_date"],
            row["end_date"],
            row["next_due_at"],
        ),
    ).fetchone()[0]


def test_user_defaults_to_utc(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    assert pg.execute("SELECT timezone FROM users WHERE id = %s", (user_id,)).fetchone()[0] == "UTC"


def test_email_is_unique(pg: psycopg.Connection[Any]) -> None:
    _user(pg)
    with pytest.raises(errors.UniqueViolation, match="uq_users_email"):
        _user(pg)


def test_email_is_stored_lowercase(pg: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.CheckViolation, match="email_lowercase"):
        _user(pg, "Mixed@Example.com")


@pytest.mark.parametrize("kind", ["hourly", "Daily", ""])
def test_recurrence_type_domain(pg: psycopg.Connection[Any], kind: str) -> None:
    user_id = _user(pg)
    with pytest.raises(errors.CheckViolation, match="recurrence_type_known"):
        _series(pg, user_id, recurrence_type=kind)


@pytest.mark.parametrize("interval", [0, -1, 53])
def test_interval_range(pg: psycopg.Connection[Any], interval: int) -> None:
    user_id = _user(pg)
    with pytest.raises(errors.CheckViolation, match="interval_range"):
        _series(pg, user_id, recurrence_interval=interval)


@pytest.mark.parametrize("interval", [1, 52])
def test_interval_bounds_are_allowed(pg: psycopg.Connection[Any], interval: int) -> None:
    _series(pg, _user(pg), recurrence_interval=interval)


def test_end_date_not_before_start_date(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    with pytest.raises(errors.CheckViolation, match="end_after_start"):
        _series(pg, user_id, end_date="2025-12-31")
    _series(pg, user_id, end_date="2026-01-01")  # the same day is a one-occurrence series


def test_one_task_per_series_and_due_date(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    series = _series(pg, user_id)
    insert = """INSERT INTO tasks (user_id, title, due_date, recurring_task_id, is_recurring)
                VALUES (%s, 't', '2026-01-02', %s, true)"""
    pg.execute(insert, (user_id, series))
    with pytest.raises(errors.UniqueViolation, match="uq_tasks_recurring_task_id_due_date"):
        pg.execute(insert, (user_id, series))


def test_plain_tasks_may_share_a_due_date(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    for _ in range(2):
        pg.execute("INSERT INTO tasks (user_id, title, due_date) VALUES (%s, 't', '2026-01-02')", (user_id,))


def test_event_id_logged_once(pg: psycopg.Connection[Any]) -> None:
    event_id = uuid.uuid4()
    insert = """INSERT INTO task_event_log (event_id, task_id, event_type, event_data, event_timestamp)
                VALUES (%s, 1, 'task-created', '{}', now())"""
    pg.execute(insert, (event_id,))
    with pytest.raises(errors.UniqueViolation, match="uq_task_event_log_event_id"):
        pg.execute(insert, (event_id,))


def test_event_id_unique_in_outbox(pg: psycopg.Connection[Any]) -> None:
    event_id = uuid.uuid4()
    insert = """INSERT INTO event_outbox (event_id, topic, message_key, payload)
                VALUES (%s, 'task-created', 'k', '{}')"""
    pg.execute(insert, (event_id,))
    with pytest.raises(errors.UniqueViolation, match="uq_event_outbox_event_id"):
        pg.execute(insert, (event_id,))


def test_outbox_records_writing_transaction(pg: psycopg.Connection[Any]) -> None:
    with pg.transaction():
        pg.execute(
            "INSERT INTO event_outbox (event_id, topic, message_key, payload) VALUES (%s, 't', 'k', '{}')",
            (uuid.uuid4(),),
        )
        current = pg.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]
    assert pg.execute("SELECT txid FROM event_outbox").fetchone()[0] == current


def test_completed_needs_timestamp(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    with pytest.raises(errors.CheckViolation, match="completed_has_timestamp"):
        pg.execute("INSERT INTO tasks (user_id, title, completed) VALUES (%s, 't', true)", (user_id,))


def test_unknown_priority_rejected(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    with pytest.raises(errors.ForeignKeyViolation):
        pg.execute("INSERT INTO tasks (user_id, title, priority_id) VALUES (%s, 't', 99)", (user_id,))


def test_one_reminder_per_task_and_due_date(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    task_id = pg.execute(
        "INSERT INTO tasks (user_id, title, due_date) VALUES (%s, 't', '2026-01-02') RETURNING id", (user_id,)
    ).fetchone()[0]
    insert = """INSERT INTO notifications (user_id, task_id, title, message, due_date)
                VALUES (%s, %s, 't', 'm', '2026-01-02')"""
    pg.execute(insert, (user_id, task_id))
    with pytest.raises(errors.UniqueViolation, match="uq_notifications_task_kind_due"):
        pg.execute(insert, (user_id, task_id))


def test_deleting_a_series_keeps_its_instances(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    series = _series(pg, user_id)
    pg.execute(
        "INSERT INTO tasks (user_id, title, due_date, recurring_task_id) VALUES (%s, 't', '2026-01-01', %s)",
        (user_id, series),
    )
    pg.execute("DELETE FROM recurring_tasks WHERE id = %s", (series,))
    assert pg.execute("SELECT count(*), count(recurring_task_id) FROM tasks").fetchone() == (1, 0)


def test_history_survives_task_deletion(pg: psycopg.Connection[Any]) -> None:
    user_id = _user(pg)
    task_id = pg.execute("INSERT INTO tasks (user_id, title) VALUES (%s, 't') RETURNING id", (user_id,)).fetchone()[0]
    pg.execute(
        """INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
           VALUES (%s, %s, %s, 'task-created', '{}', now())""",
        (uuid.uuid4(), task_id, user_id),
    )
    pg.execute("DELETE FROM tasks WHERE id = %s", (task_id,))
    assert pg.execute("SELECT count(*) FROM task_event_log WHERE task_id = %s", (task_id,)).fetchone()[0] == 1


def test_sweep_index_is_partial(pg: psycopg.Connection[Any]) -> None:
    definition = pg.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_tasks_sweep_open_unnotified'"
    ).fetchone()[0]
    assert "WHERE" in definition and "notified" in definition and "completed" in definition
