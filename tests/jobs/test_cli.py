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
