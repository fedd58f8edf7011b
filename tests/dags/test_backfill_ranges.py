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
