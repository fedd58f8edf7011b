"""
### Event log

Writes the task events from Kafka into `task_event_log`, the task history behind
`GET /api/tasks/{id}/events`: the job consumes the six event topics as one consumer group, inserts in
batches (an event id is logged once, duplicates are ignored) and commits offsets only after the database
commit. Job: `todoflow write-event-log --max-messages M --max-seconds S`.

**Why micro-batches on a schedule, not an AssetWatcher or a sensor per message.** Every
`TODOFLOW_EVENT_LOG_SCHEDULE` (default every 2 minutes) the `pending_events` task asks the brokers, through
the Kafka provider's admin hook and the `kafka_default` connection, how far the job's consumer group lags
behind; with nothing new the run stops there (skipped, no subprocess or pod), otherwise one bounded batch
drains the backlog. A message-driven trigger (AssetWatcher or `AwaitMessageSensor`) would consume every
message a second time in the triggerer and turn each message into an asset event and a DAG run: at
thousands of events per second that is a flood of runs for work the writer does best in large batches.
History lags by at most the schedule interval plus one batch, and the cost when idle is one tiny task.

**As of what?** Nothing: this job has no as-of instant. A run drains whatever the consumer group has
not committed yet, whatever its logical date, so a rerun or a manual run simply drains again (duplicates
are ignored) and a backfill is meaningless: **catchup is off**, and `max_active_runs` is 1 because one
consumer group drains one backlog.

**Params** (trigger form): `max_messages` and `max_seconds` bound one batch
(`TODOFLOW_EVENT_LOG_MAX_MESSAGES`, default 500000, `TODOFLOW_EVENT_LOG_MAX_SECONDS`, default 60). The
consumer group is `TODOFLOW_EVENT_LOG_GROUP` (default `todoflow-event-log`), the same for the probe and the job.
Tasks run as subprocesses locally and as pods when `TODOFLOW_JOB_MODE=kubernetes` (see the README).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from todoflow.core.settings import PipelineSettings
from todoflow.pipeline import jobs
from todoflow.pipeline.dag_defaults import START_DATE, TAGS, cron_schedule, default_args
from todoflow.pipeline.factory import job_task

settings = PipelineSettings()
spec = jobs.write_event_log(settings.event_log_group)

with DAG(
    dag_id="event_log",
    description="Drain the task event topics into task_event_log in micro-batches",
    doc_md=__doc__,
    schedule=cron_schedule(settings.event_log_schedule),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(spec),
    tags=[*TAGS, "events"],
    is_paused_upon_creation=False,
    params={
        "max_messages": Param(settings.event_log_max_messages, type="integer", minimum=1),
        "max_seconds": Param(settings.event_log_max_seconds, type="integer", minimum=1),
    },
):

    @task.short_circuit(retries=1)
    def pending_events() -> bool:
        """Whether the event-log consumer group lags behind any event topic (read-only: never joins it)."""
        from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

        from todoflow.core.events import TOPICS
        from todoflow.pipeline.kafka_lag import consumer_lag

        admin = KafkaAdminClientHook(kafka_config_id=settings.kafka_conn_id).get_conn
        lag = consumer_lag(admin, settings.event_log_group, TOPICS)
        print(f"consumer group {settings.event_log_group} lag per topic: {lag}")
        return sum(lag.values()) > 0

    pending_events() >> job_task(spec)
