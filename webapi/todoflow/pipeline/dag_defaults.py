"""What every pipeline DAG shares: owner, retries with exponential backoff, start date, cron timetable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from todoflow.pipeline.jobs import JobSpec

OWNER = "todoflow-pipeline"
# Fixed and in the past: with catchup=False the first run is the latest tick, never a flood.
START_DATE = datetime(2025, 1, 1, tzinfo=UTC)
TAGS = ["todoflow", "pipeline"]


def default_args(spec: JobSpec) -> dict[str, Any]:
    """Task defaults: 3 retries after 1, 2, 4 minutes (capped at 15), and the job's time limit."""
    return {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=15),
        "execution_timeout": spec.execution_timeout,
    }


def cron_schedule(cron: str) -> Any:
    """A cron trigger timetable in UTC: each run is a tick, and its data interval ends at the tick.

    The interval is the tick itself, so the run's logical date, its run-after time, its run id
    (scheduled__<tick>) and its as-of instant (the data interval's end) are one and the same: "the 10:00
    run" acts as of 10:00 in the UI, the CLI, a backfill's date range and the job's --as-of.
    """
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(cron, timezone="UTC")
