"""Kubernetes mode: the pod each job task would create, built by the operator itself, checked strictly.

No Kubernetes API server exists here, so the tests stop where the operator would call it: they render the
task as the task runner does (RuntimeTaskInstance.render_templates with the real template context) and
ask the KubernetesPodOperator for its pod (build_pod_request_obj), with a throwaway kubeconfig.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kubernetes_validate
import pytest

from tests.dags.support import KUBERNETES_VERSION, TEN, load_dag, pod_spec, render_task

IMAGE = "registry.digitalocean.com/todoflow/app:1.2.3"
TEN_ISO = "2026-03-01T10:00:00+00:00"

JOB_TASKS = {
    ("recurrence_expansion", "expand_recurrences"): timedelta(minutes=30),
    ("recurrence_expansion", "sweep_due"): timedelta(minutes=10),  # the reminders of what it just created
    ("due_date_sweep", "sweep_due"): timedelta(minutes=10),
    ("event_log", "write_event_log"): timedelta(minutes=10),
    ("schedule_quality", "check_schedules"): timedelta(minutes=20),
}
DEFAULT_RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
RESOURCES = {
    "check_schedules": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}
}


def _expected_arguments(task_id: str, map_index: int, shards: int) -> list[str]:
    if task_id == "expand_recurrences":
        return [
            "expand-recurrences", "--as-of", TEN_ISO, "--max-per-task", "100",
            "--shard", str(map_index), "--shards", str(shards),
        ]  # fmt: skip
    if task_id == "sweep_due":
        return ["sweep-due", "--as-of", TEN_ISO, "--window", "24h"]
    if task_id == "check_schedules":
        return ["check-schedules", "--as-of", TEN_ISO, "--since", "all"]
    return ["write-event-log", "--max-messages", "500000", "--max-seconds", "60", "--group", "todoflow-event-log"]


def test_job_tasks_and_only_they_are_pod_operators_in_kubernetes_mode(kubernetes_mode: dict[str, str]) -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    for dag_id in ("recurrence_expansion", "due_date_sweep", "event_log", "schedule_quality"):
        dag = load_dag(dag_id)
        pods = {t.task_id for t in dag.tasks if issubclass(t.operator_class, KubernetesPodOperator)}
        assert pods == {task_id for (d, task_id) in JOB_TASKS if d == dag_id}


@pytest.mark.parametrize(("dag_id", "task_id"), list(JOB_TASKS), ids=[d for d, _ in JOB_TASKS])
def test_pod_spec_of_each_job_task(kubernetes_mode: dict[str, str], dag_id: str, task_id: str) -> None:
    dag = load_dag(dag_id)
    shards = int(kubernetes_mode["TODOFLOW_EXPANSION_SHARDS"])
    mapped = task_id == "expand_recurrences"
    map_indexes = list(range(shards)) if mapped else [-1]
    assert getattr(dag.get_task(task_id), "is_mapped", False) is mapped
    timeout = JOB_TASKS[(dag_id, task_id)]
    for map_index in map_indexes:
        operator, context = render_task(dag, task_id, map_index=map_index)
        pod = pod_spec(operator, context)

        assert operator.on_finish_action.value == "delete_pod"
        assert operator.get_logs is True
        assert operator.execution_timeout == timeout

        metadata, spec = pod["metadata"], pod["spec"]
        assert metadata["namespace"] == kubernetes_mode["TODOFLOW_K8S_NAMESPACE"]
        assert metadata["name"].startswith("todoflow-")
        job = task_id.replace("_", "-")
        expected_labels = {
            "app.kubernetes.io/name": "todoflow",
            "app.kubernetes.io/component": "job",
            "todoflow.io/job": job,
            "dag_id": dag_id,
            "task_id": task_id,
            "try_number": "1",
        }
        assert {key: metadata["labels"].get(key) for key in expected_labels} == expected_labels
        assert metadata["labels"].get("map_index") == (str(map_index) if map_index >= 0 else None)

        assert spec["serviceAccountName"] == kubernetes_mode["TODOFLOW_K8S_SERVICE_ACCOUNT"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["restartPolicy"] == "Never"
        assert spec["activeDeadlineSeconds"] == int(timeout.total_seconds())
        assert spec["securityContext"]["runAsNonRoot"] is True

        (container,) = spec["containers"]
        assert container["image"] == IMAGE
        assert container["command"] == ["todoflow"]
        assert container["args"] == _expected_arguments(task_id, map_index, shards)
        assert container["resources"] == RESOURCES.get(task_id, DEFAULT_RESOURCES)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {item["name"]: item for item in container["env"]}
        for key in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            assert env[key] == {"name": key, "valueFrom": {"secretKeyRef": {"name": "todoflow-secrets", "key": key}}}
        assert env["STATSD_HOST"]["value"] == "airflow-statsd.airflow.svc.cluster.local"
        assert env["PYTHONUNBUFFERED"]["value"] == "1"
        assert not any("value" in item and "postgresql://" in item["value"] for item in container["env"])

        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("render", "as_of"),
    [
        pytest.param({}, TEN_ISO, id="scheduled: data interval end"),
        pytest.param({"run_type": "backfill"}, TEN_ISO, id="backfill: data interval end"),
        # `airflow dags trigger --logical-date` infers the interval from the trigger time: the chosen date wins.
        pytest.param(
            {"run_type": "manual", "interval": (TEN, TEN + timedelta(days=3)), "run_after": TEN + timedelta(days=3)},
            TEN_ISO,
            id="manual: its logical date",
        ),
        pytest.param(
            {"run_type": "manual", "logical_date": None, "interval": None, "run_after": TEN + timedelta(minutes=7)},
            "2026-03-01T10:07:00+00:00",
            id="manual without logical date: run time",
        ),
    ],
)
def test_as_of_argument_follows_the_kind_of_run(
    kubernetes_mode: dict[str, str], render: dict[str, Any], as_of: str
) -> None:
    dag = load_dag("due_date_sweep")
    operator, context = render_task(dag, "sweep_due", **render)
    args = pod_spec(operator, context)["spec"]["containers"][0]["args"]
    assert args[args.index("--as-of") + 1] == as_of


def test_trigger_form_params_reach_the_pod(kubernetes_mode: dict[str, str]) -> None:
    sweep, context = render_task(load_dag("due_date_sweep"), "sweep_due", run_type="manual", conf={"window": "2h"})
    assert pod_spec(sweep, context)["spec"]["containers"][0]["args"][-2:] == ["--window", "2h"]
    expansion = load_dag("recurrence_expansion")
    after, context = render_task(expansion, "sweep_due", run_type="manual", conf={"window": "3d"})
    assert pod_spec(after, context)["spec"]["containers"][0]["args"][-2:] == ["--window", "3d"]
    writer, context = render_task(load_dag("event_log"), "write_event_log", run_type="manual", conf={"max_seconds": 30})
    args = pod_spec(writer, context)["spec"]["containers"][0]["args"]
    assert args[args.index("--max-seconds") + 1] == "30"


def test_local_mode_runs_the_same_argv_without_a_pod(kubernetes_mode: dict[str, str], monkeypatch) -> None:
    pods = {}
    for dag_id, task_id in JOB_TASKS:
        operator, _ = render_task(load_dag(dag_id), task_id, map_index=0 if task_id == "expand_recurrences" else -1)
        pods[(dag_id, task_id)] = [*operator.cmds, *operator.arguments]
    monkeypatch.setenv("TODOFLOW_JOB_MODE", "local")
    from todoflow.pipeline.local import LocalJobOperator

    for dag_id, task_id in JOB_TASKS:
        operator, _ = render_task(load_dag(dag_id), task_id, map_index=0 if task_id == "expand_recurrences" else -1)
        assert isinstance(operator, LocalJobOperator)
        assert [*operator.command, *operator.arguments] == pods[(dag_id, task_id)]


def test_quality_check_after_an_expansion_reconciles_the_last_day(kubernetes_mode: dict[str, str]) -> None:
    after = TEN + timedelta(minutes=2)
    operator, context = render_task(
        load_dag("schedule_quality"),
        "check_schedules",
        run_type="asset_triggered",
        logical_date=None,
        interval=None,
        run_after=after,
    )
    args = pod_spec(operator, context)["spec"]["containers"][0]["args"]
    assert args == [
        "check-schedules", "--as-of", after.isoformat(), "--since", (after - timedelta(days=1)).isoformat(),
    ]  # fmt: skip
