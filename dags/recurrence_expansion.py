"""
### Recurrence expansion

Turns recurring tasks into task instances: every occurrence due on or before the run's **as-of instant**
(in each owner's time zone) that does not exist yet is created, `next_due_at` advances, and one
`task-created` plus one `recurring-task-due` event per instance goes to the outbox (the relay publishes
them to Kafka). Job: `todoflow expand-recurrences --as-of T --shard K --shards N --max-per-task M`.

**Schedule.** Hourly (`TODOFLOW_EXPANSION_SCHEDULE`, cron in UTC). The work fans out over
`TODOFLOW_EXPANSION_SHARDS` mapped tasks (default 4), one per shard K of N; a failed shard retries alone.
When every shard succeeded, the asset `todoflow://schedules/expanded` is updated (its extra carries
`as_of`), which triggers the data-quality checks, and the `sweep_due` task runs the due-date sweep as of
the same instant (`todoflow sweep-due --as-of T --window W`): instances just created that fall due within
the window get their reminders at once instead of at the next `due_date_sweep` tick. A sweep that
overlaps the scheduled one is safe: they share the work and each task is notified once.

**As of what?** A scheduled run acts as of its data interval's end. This DAG's cron timetable makes the
interval end at the tick, so a run's logical date, its run id (`scheduled__<tick>`) and its as-of instant
are the same: the 10:00 run creates what is due up to 10:00 (in each owner's time zone). A manual run acts
as of the logical date chosen in the trigger form, or, when none is given, as of the moment it was
triggered. The rendered `--as-of` is in each task's *Rendered Template* tab.

**Reruns and backfills are safe.** The job only creates occurrences that do not exist yet and never
moves `next_due_at` backwards, so clearing any run, rerunning intervals in any order, or a backfill over
any range leaves exactly what one on-time run would.

- Rerun an interval: select the run in the grid, *Clear* ▸ *Clear the whole run* (or one failed shard),
  or `airflow tasks clear recurrence_expansion -s 2025-03-01T10:00:00+00:00 -e 2025-03-01T10:00:00+00:00 -y`.
- Backfill a range: *Trigger* ▸ *Backfill* with a date range (reprocess *all runs* if some exist, *Max
  active runs* 1), or `airflow backfill create --dag-id recurrence_expansion --from-date
  2025-03-01T00:00:00+00:00 --to-date 2025-03-02T00:00:00+00:00 --reprocess-behavior completed
  --max-active-runs 1`: one run as of every tick in the range, both ends included, one at a time.
- As of a chosen instant: *Trigger* with a logical date, or
  `airflow dags trigger recurrence_expansion --logical-date 2025-03-01T10:00:00+00:00`.

**Catchup is off** on purpose: one run as of now creates everything missed during an outage (up to
`max_per_task` occurrences per series per run; later runs continue), so a run per missed hour would
only repeat the same work.

**Overlap.** `max_active_runs` is 1: scheduled and manual runs never overlap. A backfill is not bound by
it: Airflow gives each backfill its own limit (*Max active runs* in the Backfill form, `--max-active-runs`
of `airflow backfill create`, default 10), which no DAG setting changes, and a backfill's runs may also
overlap the scheduled run. Give 1, as above, for a backfill whose runs follow one another. Overlap costs
no correctness: series rows are locked in id order, so concurrent runs of a shard serialize per series
and leave exactly what the run with the latest as-of would.

**Params** (trigger form): `max_per_task`, the catch-up cap (default `TODOFLOW_EXPANSION_MAX_PER_TASK`, 100);
`window`, the look-ahead of the sweep after the expansion (default `TODOFLOW_SWEEP_WINDOW`, 24h).
Tasks run as subprocesses locally and as pods when `TODOFLOW_JOB_MODE=kubernetes` (see the README).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from todoflow.core.settings import PipelineSettings
from todoflow.pipeline import jobs
from todoflow.pipeline.assets import SCHEDULES_EXPANDED
from todoflow.pipeline.dag_defaults import START_DATE, TAGS, cron_schedule, default_args
from todoflow.pipeline.factory import job_task, mapped_job_task

settings = PipelineSettings()
spec = jobs.expand_recurrences()
sweep_spec = jobs.sweep_due()

with DAG(
    dag_id="recurrence_expansion",
    description="Create due occurrences of recurring tasks as of the data interval's end",
    doc_md=__doc__,
    schedule=cron_schedule(settings.expansion_schedule),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=settings.expansion_shards,
    default_args=default_args(spec),
    tags=[*TAGS, "recurrence"],
    is_paused_upon_creation=False,
    params={
        "max_per_task": Param(
            settings.expansion_max_per_task,
            type="integer",
            minimum=1,
            description="Most occurrences created per recurring task in this run (catch-up cap)",
        ),
        "window": Param(
            settings.sweep_window,
            type="string",
            pattern=jobs.SWEEP_WINDOW_PATTERN,
            description=jobs.SWEEP_WINDOW_DESCRIPTION,
        ),
    },
):
    expand = mapped_job_task(spec, jobs.shard_arguments(spec, settings.expansion_shards), task_id="expand_recurrences")

    @task(outlets=[SCHEDULES_EXPANDED])
    def mark_schedules_expanded(as_of: str, *, outlet_events=None) -> str:
        """Record the expansion's as-of instant on the asset event that triggers the quality checks."""
        outlet_events[SCHEDULES_EXPANDED].extra = {"as_of": as_of}
        return as_of

    expand >> mark_schedules_expanded(jobs.AS_OF)
    # The reminders of what the expansion just created follow at once, as of the same instant.
    expand >> job_task(sweep_spec)
