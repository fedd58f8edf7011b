"""What an operator's backfill range means: one run as of every tick in it, ends included (Airflow's own CLI)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _airflow(*args: str) -> str:
    done = subprocess.run(
        [AIRFLOW, *args], env=dict(os.environ), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def serialized_dags(airflow_metadata: str) -> None:
    """The DAG files as they are now, serialized into the test metadata database (what a backfill reads)."""
    _airflow("dags", "reserialize")


@pytest.mark.parametrize(
    ("dag_id", "from_date", "to_date", "expected"),
    [
        (
            "recurrence_expansion",
            "2026-03-01T00:00:00+00:00",
            "2026-03-01T03:00:00+00:00",
            ["2026-03-01 00:00:00+00:00", "2026-03-01 01:00:00+00:00", "2026-03-01 02:00:00+00:00",
             "2026-03-01 03:00:00+00:00"],
        ),
        (
            "due_date_sweep",
            "2026-03-01T10:00:00+00:00",
            "2026-03-01T10:40:00+00:00",
            ["2026-03-01 10:00:00+00:00", "2026-03-01 10:15:00+00:00", "2026-03-01 10:30:00+00:00"],
        ),
    ],
)  # fmt: skip
def test_backfill_range_is_the_as_of_instants(
    serialized_dags: None, dag_id: str, from_date: str, to_date: str, expected: list[str]
) -> None:
    out = _airflow(
        "backfill", "create", "--dag-id", dag_id, "--from-date", from_date, "--to-date", to_date, "--dry-run"
    )
    logical_dates = re.findall(r"^\|\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00)\s*\|", out, flags=re.MULTILINE)
    # With the DAGs' cron trigger timetable, a run's logical date is its data interval's end: its as-of instant.
    assert logical_dates == expected


def _documented_backfill(text: str, dag_id: str) -> list[str]:
    """The `airflow backfill create` command documented for dag_id in text (a DAG's doc or the README)."""
    match = re.search(rf"`(airflow backfill create --dag-id\s+{dag_id}\b[^`]*)`", text)
    assert match, f"no backfill command for {dag_id} documented"
    return match.group(1).split()[1:]


def _with_range(argv: list[str], from_date: str, to_date: str) -> list[str]:
    argv = list(argv)
    argv[argv.index("--from-date") + 1] = from_date
    argv[argv.index("--to-date") + 1] = to_date
    return argv


@pytest.mark.parametrize("dag_id", ["recurrence_expansion", "due_date_sweep"])
def test_the_documented_backfill_runs_one_interval_at_a_time(
    serialized_dags: None, airflow_metadata: str, dag_id: str
) -> None:
    """A backfill is not bound by the DAG's max_active_runs (Airflow gives it its own, default 10): the
    commands the DAG docs and the README give operators make it sequential."""
    import ast

    import psycopg

    from todoflow_dev.devstack import postgres as local_pg

    repo = Path(__file__).resolve().parents[2]
    doc = ast.get_docstring(ast.parse((repo / "dags" / f"{dag_id}.py").read_text())) or ""
    documented = _documented_backfill(doc, dag_id)
    assert documented[documented.index("--max-active-runs") + 1] == "1"
    readme = " ".join((repo / "README.md").read_text().split())
    if dag_id == "recurrence_expansion":
        assert _documented_backfill(readme, dag_id)[-2:] == ["--max-active-runs", "1"]

    # Created for real in the test metadata database (no scheduler runs here: the runs stay queued).
    _airflow(*_with_range(documented, "2025-02-01T00:00:00+00:00", "2025-02-01T00:30:00+00:00"))
    with psycopg.connect(local_pg.admin_url(airflow_metadata), autocommit=True) as conn:
        backfill_id, max_active_runs = conn.execute(
            "SELECT id, max_active_runs FROM backfill WHERE dag_id = %s AND completed_at IS NULL", (dag_id,)
        ).fetchone()
        # Undone, so that later backfills of this DAG are not refused as concurrent.
        conn.execute("DELETE FROM dag_run WHERE backfill_id = %s", (backfill_id,))
        conn.execute("DELETE FROM backfill WHERE id = %s", (backfill_id,))
    assert max_active_runs == 1
