"""One user's bad row never stops another user's work: the jobs skip it, log it by id and count it.

The rows are written directly into the database, as the API would never write them: a time zone PostgreSQL
does not know (`localtime`: `AT TIME ZONE` raises), an infinite date (date arithmetic raises), and a series
index whose next occurrence overflows an integer or the date range.
"""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import UTC, date, datetime

import pytest

from tests.jobs.support import Db, metrics_received, run_cli
from todoflow.jobs.expand import expand
from todoflow.jobs.sweep import sweep

AS_OF = datetime(2026, 1, 3, 12, tzinfo=UTC)


def _bad_series(db: Db) -> dict[str, uuid.UUID]:
    """Four active series that are due but cannot be processed, keyed by what is wrong with them."""
    localtime = db.user()
    db.conn.execute("UPDATE users SET timezone = 'localtime' WHERE id = %s", (localtime,))
    posixrules = db.user()
    db.conn.execute("UPDATE users SET timezone = 'posixrules' WHERE id = %s", (posixrules,))
    other = db.user("Europe/Berlin")
    bad = {
        "localtime": db.series(localtime, "daily", 1, date(2026, 1, 1)),
        "posixrules": db.series(posixrules, "weekly", 1, date(2026, 1, 1)),
        "infinite": db.series(other, "daily", 1, date(2026, 1, 1)),
        "int_overflow": db.series(other, "daily", 1, date(2026, 1, 1)),
        "date_overflow": db.series(other, "yearly", 52, date(2026, 1, 1)),
    }
    db.conn.execute("UPDATE recurring_tasks SET start_date = '-infinity' WHERE id = %s", (bad["infinite"],))
    db.conn.execute("UPDATE recurring_tasks SET next_index = 2147483600 WHERE id = %s", (bad["int_overflow"],))
    db.conn.execute("UPDATE recurring_tasks SET next_index = 200000 WHERE id = %s", (bad["date_overflow"],))
    return bad


def test_expansion_skips_bad_series_and_completes_for_everyone_else(db: Db, caplog: pytest.LogCaptureFixture) -> None:
    good = [db.series(db.user(tz), "daily", 1, date(2026, 1, 1)) for tz in ("UTC", "Asia/Tokyo", "America/Chicago")]
    bad = _bad_series(db)
    before = {name: db.state(sid) for name, sid in bad.items()}

    with caplog.at_level(logging.WARNING, logger="todoflow.jobs.expand"):
        result = expand(db.url, AS_OF, chunk_size=2)  # the bad rows share chunks with good ones

    for series_id in good:
        assert db.dates(series_id) == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert result.created == 9 and result.series == 3
    assert result.skipped_rows == len(bad)
    for name, series_id in bad.items():
        assert db.dates(series_id) == [], name
        assert db.state(series_id) == before[name], name
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for series_id in bad.values():
        assert f"id={series_id}" in logged
    assert "unknown time zone 'localtime'" in logged and "unknown time zone 'posixrules'" in logged
    assert "infinite start_date" in logged and "next_index 2147483600 does not match next_due_at" in logged

    # A rerun skips them again and changes nothing else.
    again = expand(db.url, AS_OF)
    assert (again.created, again.skipped_rows) == (0, len(bad))


def test_a_sharded_run_reports_only_its_own_shards_bad_rows(db: Db) -> None:
    bad = _bad_series(db)
    skipped = [expand(db.url, AS_OF, shard=k, shards=3).skipped_rows for k in range(3)]
    assert sum(skipped) == len(bad)


def test_sweep_skips_bad_tasks_and_notifies_everyone_else(db: Db, caplog: pytest.LogCaptureFixture) -> None:
    good_user = db.user("Pacific/Auckland")
    bad_user = db.user()
    db.conn.execute("UPDATE users SET timezone = 'localtime' WHERE id = %s", (bad_user,))

    def task(user: uuid.UUID, due: str) -> int:
        return db.conn.execute(
            "INSERT INTO tasks (user_id, title, due_date) VALUES (%s, 't', %s) RETURNING id", (user, due)
        ).fetchone()[0]

    good = [task(good_user, "2026-01-02"), task(good_user, "2026-01-03")]
    bad = [task(bad_user, "2026-01-02"), task(good_user, "-infinity")]

    with caplog.at_level(logging.WARNING, logger="todoflow.jobs.sweep"):
        result = sweep(db.url, AS_OF, batch_size=1)

    assert (result.notified, result.notifications, result.events, result.skipped_rows) == (2, 2, 2, 2)
    notified = db.conn.execute("SELECT id FROM tasks WHERE notified ORDER BY id").fetchall()
    assert [r[0] for r in notified] == good
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"id={bad[0]} user_id={bad_user}: unknown time zone 'localtime'" in logged
    assert f"id={bad[1]} user_id={good_user}: infinite due_date" in logged


def test_the_commands_count_skipped_rows_in_statsd(db: Db, statsd_server: socket.socket) -> None:
    _bad_series(db)
    db.conn.execute(
        "INSERT INTO tasks (user_id, title, due_date) "
        "SELECT id, 't', '2026-01-02' FROM users WHERE timezone = 'localtime'"
    )
    expanded = run_cli(["expand-recurrences", "--as-of", AS_OF.isoformat()], db.url, statsd_server)
    assert expanded.returncode == 0, expanded.stderr
    assert "skipped_rows=5" in expanded.stderr
    swept = run_cli(["sweep-due", "--as-of", AS_OF.isoformat()], db.url, statsd_server)
    assert swept.returncode == 0, swept.stderr
    metrics = metrics_received(statsd_server)
    assert metrics["todoflow.jobs.expand.skipped_rows"] == "5|c"
    assert metrics["todoflow.jobs.sweep.skipped_rows"] == "1|c"
    assert "todoflow.jobs.expand.failures" not in metrics and "todoflow.jobs.sweep.failures" not in metrics
