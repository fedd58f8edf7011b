"""Helpers of the DAG tests: a DAG loaded from its file, a task rendered as the task runner renders it, its pod."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from todoflow.core.settings import REPO_ROOT

# DOKS offers 1.33 and later; the strict schema also rejects unknown fields.
KUBERNETES_VERSION = "1.33.0"
TEN = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def load_dag(dag_id: str) -> Any:
    """The DAG of dags/<dag_id>.py, loaded as Airflow's DagBag loads it (no import errors)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def render_task(
    dag: Any,
    task_id: str,
    *,
    map_index: int = -1,
    run_type: str = "scheduled",
    logical_date: datetime | None = TEN,
    interval: tuple[datetime, datetime] | None = (TEN, TEN),
    run_after: datetime = TEN,
    conf: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The rendered (unmapped) operator and its template context, as the task runner would have them."""
    from airflow.sdk.api.datamodels._generated import DagRun, DagRunState, DagRunType, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    run = DagRun(
        dag_id=dag.dag_id,
        run_id=f"{run_type}__{run_after.isoformat()}",
        logical_date=logical_date,
        data_interval_start=interval[0] if interval else None,
        data_interval_end=interval[1] if interval else None,
        run_after=run_after,
        start_date=run_after,
        end_date=None,
        run_type=DagRunType(run_type),
        state=DagRunState.RUNNING,
        conf=conf,
        consumed_asset_events=[],
        partition_key=None,
    )
    task = dag.get_task(task_id)
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task_id,
        dag_id=dag.dag_id,
        run_id=run.run_id,
        try_number=1,
        dag_version_id=uuid.uuid4(),
        map_index=map_index,
        task=task,
        max_tries=task.retries,
        start_date=run_after,
        _ti_context_from_server=TIRunContext(dag_run=run, max_tries=task.retries),
    )
    context = ti.get_template_context()
    ti.render_templates(context)
    return ti.task, context


def pod_spec(operator: Any, context: dict[str, Any]) -> dict[str, Any]:
    """The pod the KubernetesPodOperator would create, as the JSON the API server would receive."""
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(operator.build_pod_request_obj(context))
