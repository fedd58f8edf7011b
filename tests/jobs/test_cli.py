"""The job commands as Airflow runs them: argv in, counts logged, StatsD counters out, exit status."""

from __future__ import annotations

import socket
from datetime import date

import pytest

from tests.jobs.support import Db, metrics_received, run_cli


def test_expand_and_sweep_commands_log_counts_and_emit_counters(db: Db, statsd_server: socket.socket) -> None:
    series_id = db.series(db.user("Europe/Berlin"), "daily", 1, date(2026, 1, 1))

    expanded = run_cli(
        [
            "expand-recurrences",
            "--as-of",
            "2026-01-03T12:00:00Z",
            "--shard",
            "0",
            "--shards",
            "1",
            "--max-per-task",
            "2",
        ],
        db.url,
        statsd_server,
    )
    assert expanded.returncode == 0, expanded.stderr
    assert "expand done" in expanded.stderr and "created=2" in expanded.stderr and "behind=1" in expanded.stderr
    metrics = metrics_received(statsd_server)
    assert {k: v for k, v in metrics.items() if not k.endswith(".duration")} == {
        "todoflow.jobs.expand.series": "1|c",
        "todoflow.jobs.expand.created": "2|c",
        "todoflow.jobs.expand.events": "4|c",
        "todoflow.jobs.expand.ended": "0|c",
        "todoflow.jobs.expand.behind": "1|c",
        "todoflow.jobs.expand.chunks": "1|c",
        "todoflow.jobs.expand.skipped_rows": "0|c",
        "todoflow.jobs.expand.runs": "1|c",
    }
    assert metrics["todoflow.jobs.expand.duration"].endswith("|ms")
    assert db.dates(series_id) == [date(2026, 1, 1), date(2026, 1, 2)]

    swept = run_cli(["sweep-due", "--as-of", "2026-01-01T12:00:00+01:00", "--window", "90m"], db.url, statsd_server)
    assert swept.returncode == 0, swept.stderr
    assert "notified=1" in swept.stderr
    metrics = metrics_received(statsd_server)
    assert metrics["todoflow.jobs.sweep.notified"] == "1|c"
    assert metrics["todoflow.jobs.sweep.notifications"] == "1|c"
    assert metrics["todoflow.jobs.sweep.events"] == "1|c"
    assert metrics["todoflow.jobs.sweep.runs"] == "1|c"


@pytest.mark.parametrize("command", ["expand-recurrences", "sweep-due"])
def test_a_failing_job_exits_non_zero_and_counts_the_failure(
    database_url: str, statsd_server: socket.socket, command: str
) -> None:
    missing_db = database_url.rsplit("/", 1)[0] + "/todoflow_no_such_database"
    result = run_cli([command, "--as-of", "now"], missing_db, statsd_server)
    assert result.returncode == 1
    assert "failed" in result.stderr and "todoflow_no_such_database" in result.stderr
    job = "expand" if command == "expand-recurrences" else "sweep"
    assert metrics_received(statsd_server)[f"todoflow.jobs.{job}.failures"] == "1|c"


@pytest.mark.parametrize(
    "args",
    [
        ["expand-recurrences"],
        ["expand-recurrences", "--as-of", "yesterday"],
        ["expand-recurrences", "--as-of", "now", "--shard", "3", "--shards", "3"],
        ["expand-recurrences", "--as-of", "now", "--max-per-task", "0"],
        ["sweep-due", "--as-of", "now", "--window", "-2h"],
        ["sweep-due", "--as-of", "now", "--window", "soon"],
    ],
)
def test_bad_arguments_exit_2_without_touching_anything(db: Db, statsd_server: socket.socket, args: list[str]) -> None:
    db.series(db.user(), "daily", 1, date(2026, 1, 1))
    result = run_cli(args, db.url, statsd_server)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert db.conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["sweep-due", "--as-of", "now", "--window", "0m"], "--window"),
        (["sweep-due", "--as-of", "soon"], "--as-of"),
        (["check-schedules", "--as-of", "yesterday"], "--as-of"),
        (["check-schedules", "--as-of", "now", "--since", "last week"], "--since"),
        (["check-schedules", "--as-of", "now", "--expansion-lag", "2x"], "--expansion-lag"),
        (["check-schedules", "--as-of", "now", "--sweep-lag", "-1h"], "--sweep-lag"),
        (["check-schedules", "--as-of", "now", "--outbox-max-age", "15 minutes"], "--outbox-max-age"),
        (["check-schedules", "--as-of", "now", "--event-log-lag", "h"], "--event-log-lag"),
        (["write-event-log", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_a_bad_value_exits_2_with_argparse_naming_the_option(
    database_url: str, statsd_server: socket.socket, args: list[str], option: str
) -> None:
    result = run_cli(args, database_url, statsd_server)
    assert result.returncode == 2, result.stderr
    assert f"argument {option}" in result.stderr and "Traceback" not in result.stderr
    assert metrics_received(statsd_server) == {}


def test_check_schedules_reports_like_every_job(db: Db, statsd_server: socket.socket) -> None:
    args = ["check-schedules", "--as-of", "2026-01-01T12:00:00Z", "--sweep-lag", "90m"]
    passed = run_cli(args, db.url, statsd_server)
    assert passed.returncode == 0, passed.stderr
    metrics = metrics_received(statsd_server)
    checks = int(metrics["todoflow.jobs.check_schedules.checks"].split("|")[0])
    assert checks >= 10
    assert metrics["todoflow.jobs.check_schedules.passed"] == f"{checks}|c"
    assert metrics["todoflow.jobs.check_schedules.failed"] == "0|c"
    assert metrics["todoflow.jobs.check_schedules.runs"] == "1|c"
    assert metrics["todoflow.jobs.check_schedules.duration"].endswith("|ms")
    assert metrics["todoflow.quality.runs.pass"] == "1|c"  # the suite's own metrics stay
    assert "check_schedules done in" in passed.stderr and f"checks={checks} passed={checks} failed=0" in passed.stderr

    # A series never expanded, two days after it fell due: the suite fails, the run still completed.
    db.series(db.user(), "daily", 1, date(2026, 1, 1))
    failed = run_cli(["check-schedules", "--as-of", "2026-01-03T12:00:00Z"], db.url, statsd_server)
    assert failed.returncode == 1, failed.stderr
    assert "schedule checks FAILED" in failed.stderr and "Traceback" not in failed.stderr
    metrics = metrics_received(statsd_server)
    assert metrics["todoflow.jobs.check_schedules.runs"] == "1|c"
    assert metrics["todoflow.jobs.check_schedules.failed"] != "0|c"
    assert "todoflow.jobs.check_schedules.failures" not in metrics
    assert metrics["todoflow.quality.runs.fail"] == "1|c"


def test_check_schedules_that_cannot_run_counts_a_failure(database_url: str, statsd_server: socket.socket) -> None:
    missing_db = database_url.rsplit("/", 1)[0] + "/todoflow_no_such_database"
    result = run_cli(["check-schedules", "--as-of", "now"], missing_db, statsd_server)
    assert result.returncode == 1
    assert "check_schedules failed" in result.stderr
    assert metrics_received(statsd_server)["todoflow.jobs.check_schedules.failures"] == "1|c"
