"""
### Due-date sweep

Notifies owners of open tasks that fall due soon: every task that is not completed, not deleted and not
yet notified, due on or before the local date of *as-of + window* in its owner's time zone (overdue ones
included), gets `notified = true`, one row in the in-app inbox (`GET /api/notifications`) and one
`task-due-soon` event, in one transaction. Job: `todoflow sweep-due --as-of T --window W`.

**Schedule.** Every 15 minutes (`TODOFLOW_SWEEP_SCHEDULE`, cron in UTC).

**As of what?** A scheduled run acts as of its data interval's end. This DAG's cron timetable makes the
interval end at the tick, so a run's logical date, its run id (`scheduled__<tick>`) and its as-of instant
are the same: the 10:15 run notifies what is due up to the local date of 10:15 + window. A manual run
acts as of the logical date chosen in the trigger form, or, when none is given, as of the moment it was
triggered. The rendered `--as-of` is in the task's *Rendered Template* tab.

**Reruns and backfills are safe.** Each task is notified exactly once, however many sweeps overlap or
rerun; already notified tasks are skipped.

- Rerun an interval: select the run in the grid, *Clear* ▸ *Clear the whole run*, or
  `airflow tasks clear due_date_sweep -s <tick> -e <tick> -y`.
- Backfill a range: *Trigger* ▸ *Backfill* with a date range, or `airflow backfill create --dag-id
  due_date_sweep --from-date <from> --to-date <to> --reprocess-behavior completed --max-active-runs 1`:
  one run per tick, one at a time.
- As of a chosen instant: *Trigger* with a logical date, or
  `airflow dags trigger due_date_sweep --logical-date 2025-03-01T10:15:00+00:00`.

**Catchup is off** on purpose: the window looks forward from the as-of instant and overdue tasks are
included, so one run as of now covers every missed interval. `max_active_runs` is 1 for scheduled and
manual runs; a backfill has its own limit (*Max active runs* in the Backfill form, `--max-active-runs`
on the CLI, Airflow's default 10), so pass 1 as below for one run at a time. Overlapping sweeps are safe
anyway: they share the work and each task is notified once.

**Right after every expansion** `recurrence_expansion` runs the same job as its own `sweep_due` task, so
instances it creates due within the window get their reminders at once, not at the next tick.

**Params** (trigger form): `window`, how far ahead to look, e.g. `24h`, `90m`, `2d`
(default `TODOFLOW_SWEEP_WINDOW`, 24h).
Tasks run as subprocesses locally and as pods when `TODOFLOW_JOB_MODE=kubernetes` (see the README).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from todoflow.core.settings import PipelineSettings
from todoflow.pipeline import jobs
from todoflow.pipeline.dag_defaults import START_DATE, TAGS, cron_schedule, default_args
from todoflow.pipeline.factory import job_task

settings = PipelineSettings()
spec = jobs.sweep_due()

with DAG(
    dag_id="due_date_sweep",
    description="Notify owners of open tasks due within the window of the data interval's end",
    doc_md=__doc__,
    schedule=cron_schedule(settings.sweep_schedule),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(spec),
    tags=[*TAGS, "notifications"],
    is_paused_upon_creation=False,
    params={
        "window": Param(
            settings.sweep_window,
            type="string",
            pattern=jobs.SWEEP_WINDOW_PATTERN,
            description=jobs.SWEEP_WINDOW_DESCRIPTION,
        )
    },
):
    job_task(spec)
