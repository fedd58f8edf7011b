"""The job definitions: what each pipeline job runs (argv template), with what resources and time limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from todoflow.core.timefmt import DURATION_PATTERN

# The instant a run acts as of, rendered by Airflow when the task starts.
# - scheduled and backfill runs: the data interval's end (with a cron trigger timetable it equals the
#   logical date, so "the 10:00 run" acts as of 10:00);
# - manual runs: the logical date the operator picked (not the inferred interval, which `airflow dags
#   trigger --logical-date` derives from the trigger time), or the run time when none was given.
# Read through dag_run: a run without a logical date has no `logical_date`/`data_interval_end` in the
# template context at all, and Airflow renders with StrictUndefined.
AS_OF = (
    "{{ ((dag_run.logical_date or dag_run.run_after) if dag_run.run_type == 'manual'"
    " else (dag_run.data_interval_end or dag_run.logical_date or dag_run.run_after)) | ts }}"
)


@dataclass(frozen=True)
class Resources:
    """Kubernetes requests and limits of one job container."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def requests(self) -> dict[str, str]:
        """The pod's resource requests."""
        return {"cpu": self.cpu_request, "memory": self.memory_request}

    def limits(self) -> dict[str, str]:
        """The pod's resource limits."""
        return {"cpu": self.cpu_limit, "memory": self.memory_limit}


@dataclass(frozen=True)
class JobSpec:
    """One job: the `todoflow` subcommand with its templated arguments, resources and time limit."""

    name: str
    arguments: tuple[str, ...]
    resources: Resources
    execution_timeout: timedelta
    command: tuple[str, ...] = ("todoflow",)
    labels: dict[str, str] = field(default_factory=dict)

    def argv(self, *extra: str) -> list[str]:
        """The job's arguments (after the command) followed by extra ones."""
        return [*self.arguments, *extra]

    def pod_labels(self) -> dict[str, str]:
        """Labels that identify the job's pods (Airflow adds dag_id, task_id, run_id, try_number)."""
        return {
            "app.kubernetes.io/name": "todoflow",
            "app.kubernetes.io/component": "job",
            "app.kubernetes.io/part-of": "todoflow",
            "todoflow.io/job": self.name,
            **self.labels,
        }


# What the light jobs (expansion, sweep, event log) request and may use.
SMALL = Resources("250m", "256Mi", "1", "512Mi")


def _job(command: str, *arguments: str, minutes: int, resources: Resources = SMALL) -> JobSpec:
    """The job running `todoflow <command> <arguments>`, named after its command, within `minutes`."""
    return JobSpec(
        name=command,
        arguments=(command, *arguments),
        resources=resources,
        execution_timeout=timedelta(minutes=minutes),
    )


def expand_recurrences() -> JobSpec:
    """Create due occurrences of recurring tasks, as of the run's instant (one shard per task)."""
    return _job("expand-recurrences", "--as-of", AS_OF, "--max-per-task", "{{ params.max_per_task }}", minutes=30)


def shard_arguments(spec: JobSpec, shards: int) -> list[list[str]]:
    """One argument list per shard K of N, for dynamic task mapping."""
    return [spec.argv("--shard", str(k), "--shards", str(shards)) for k in range(shards)]


def sweep_due() -> JobSpec:
    """Notify owners of open tasks due within the window of the run's instant."""
    return _job("sweep-due", "--as-of", AS_OF, "--window", "{{ params.window }}", minutes=10)


# The sweep's look-ahead as a trigger-form param: the JSON Schema pattern of every job's durations.
SWEEP_WINDOW_PATTERN = DURATION_PATTERN
SWEEP_WINDOW_DESCRIPTION = "How far ahead of the as-of instant to look, e.g. 24h, 90m, 2d"


def write_event_log(group: str) -> JobSpec:
    """Drain the event topics into task_event_log as consumer group `group`, bounded in messages and seconds."""
    return _job(
        "write-event-log",
        *("--max-messages", "{{ params.max_messages }}", "--max-seconds", "{{ params.max_seconds }}"),
        *("--group", group),
        minutes=10,
    )


# Runs triggered by an expansion reconcile only the last day; scheduled (daily), backfill and manual
# runs check all history.
QUALITY_SINCE = (
    "{{ ((dag_run.run_after - macros.timedelta(days=1)) | ts) if dag_run.run_type == 'asset_triggered' else 'all' }}"
)


def check_schedules() -> JobSpec:
    """Run the data-quality suite over the schedules as of the run's instant; fails on any broken expectation."""
    # Great Expectations itself is heavier than the SQL it sends.
    return _job(
        "check-schedules",
        *("--as-of", AS_OF, "--since", QUALITY_SINCE),
        minutes=20,
        resources=Resources("500m", "512Mi", "2", "1Gi"),
    )
