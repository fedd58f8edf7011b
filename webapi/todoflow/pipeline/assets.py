"""Assets the pipeline produces: DAGs downstream of them (e.g. the data-quality checks) are triggered by them."""

from __future__ import annotations

from airflow.sdk import Asset

# Updated by recurrence_expansion after every shard of a run succeeded; the event's extra carries as_of.
SCHEDULES_EXPANDED = Asset(uri="todoflow://schedules/expanded", name="todoflow_schedules_expanded")
