"""
### Schedule data quality

Runs the Great Expectations suite that keeps the schedules consistent
(`todoflow check-schedules --as-of T --since S`): next due dates within their series' bounds, no series
behind its expansion, every generated task on its series' pattern and unique per due date, rules within
their domains, no missed due-date sweep, no stuck outbox, generated tasks reconciled one-to-one with
the logged `recurring-task-due` events (same task and owner), and no row the jobs have to skip
(`rows_processable_by_jobs`: an unknown time zone, an infinite date, a corrupt index; named with why).

**When.** After every successful `recurrence_expansion` run (the asset `todoflow://schedules/expanded`)
and once a day as a full check (`TODOFLOW_QUALITY_SCHEDULE`, default 05:30 UTC).

**As of what?** A daily run acts as of its data interval's end (its tick); a run triggered by the
expansion acts as of the moment it was triggered, right after the expansion; a manual run acts as of
its logical date, or of its trigger time when none is given. Runs triggered by the expansion reconcile
only the last day of generated tasks (`--since`); daily, backfill and manual runs check all history.

**A failure is loud.** Any failed expectation fails the `check_schedules` task (retried once by
default, `TODOFLOW_QUALITY_RETRIES`, for a database that was briefly unreachable, not for bad data).
Its log names each failed expectation with the
number of offending rows and a few sample ids:
`FAILED recurring_not_behind: 12 offending row(s); ...; e.g. [{"id": "...", "next_due_at": "..."}]`.
Every run's results are also kept in the `quality_results` table (see the README), and pass/fail counts
per expectation go to StatsD (`todoflow.quality.<check>.pass|fail`).

**Rerun** a run with *Clear*; the checks only read, so reruns and backfills change nothing but add
result rows.
"""

from __future__ import annotations

from airflow.sdk import DAG, AssetOrTimeSchedule

from todoflow.core.settings import PipelineSettings
from todoflow.pipeline import jobs
from todoflow.pipeline.assets import SCHEDULES_EXPANDED
from todoflow.pipeline.dag_defaults import START_DATE, TAGS, cron_schedule, default_args
from todoflow.pipeline.factory import job_task

settings = PipelineSettings()
spec = jobs.check_schedules()

with DAG(
    dag_id="schedule_quality",
    description="Data-quality checks over the schedules, after every expansion and daily in full",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(timetable=cron_schedule(settings.quality_schedule), assets=SCHEDULES_EXPANDED),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**default_args(spec), "retries": settings.quality_retries},
    tags=[*TAGS, "data-quality"],
    is_paused_upon_creation=False,
):
    job_task(spec)
