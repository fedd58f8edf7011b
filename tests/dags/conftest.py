"""Fixtures of the DAG tests: Airflow configured for a test metadata database, DAG runs in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from todoflow_dev.devstack import airflow as local_airflow
from todoflow_dev.devstack import postgres as local_pg

RUN_DAG = Path(__file__).with_name("run_dag.py")
# The metadata database follows the application test database's name (todoflow_test_dags -> airflow_test_dags),
# never the "airflow" database of the running local Airflow.
AIRFLOW_TEST_DB = "airflow_" + os.environ.get("TODOFLOW_TEST_DB", "todoflow_test").removeprefix("todoflow_")

# Before anything imports Airflow: its configuration is read from the environment at import time.
os.environ.update(local_airflow.airflow_env(metadata_db=AIRFLOW_TEST_DB))
# Pipeline settings (PipelineSettings in todoflow/core/settings.py) come from each test, never from the caller's shell.
PIPELINE_ENV_PREFIXES = (
    "TODOFLOW_JOB_",
    "TODOFLOW_IMAGE",
    "TODOFLOW_K8S_",
    "TODOFLOW_EXPANSION_",
    "TODOFLOW_SWEEP_",
    "TODOFLOW_EVENT_LOG_",
    "TODOFLOW_KAFKA_CONN_ID",
    "TODOFLOW_QUALITY_",
)
for _name in [name for name in os.environ if name.startswith(PIPELINE_ENV_PREFIXES)]:
    os.environ.pop(_name)

THROWAWAY_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: throwaway
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: throwaway
  user: {token: "not-a-real-token"}
contexts:
- name: throwaway
  context: {cluster: throwaway, user: throwaway}
current-context: throwaway
"""


@pytest.fixture
def kubernetes_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Pipeline settings of a cluster, and a kubeconfig that points nowhere (no API server exists here)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(THROWAWAY_KUBECONFIG)
    values = {
        "TODOFLOW_JOB_MODE": "kubernetes",
        "TODOFLOW_IMAGE": "registry.digitalocean.com/todoflow/app:1.2.3",
        "TODOFLOW_K8S_NAMESPACE": "todoflow-jobs-ns",
        "TODOFLOW_K8S_SERVICE_ACCOUNT": "todoflow-job-runner",
        "TODOFLOW_K8S_SECRET": "todoflow-secrets",
        "TODOFLOW_EXPANSION_SHARDS": "3",
        "KUBECONFIG": str(kubeconfig),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture(scope="session")
def airflow_metadata(postgres_server: None) -> str:
    """The test metadata database, created if missing, migrated and given the connections once per session."""
    local_pg.ensure_databases((AIRFLOW_TEST_DB,))
    local_airflow.migrate(dict(os.environ))
    local_airflow.register_connections(dict(os.environ))
    return AIRFLOW_TEST_DB


@pytest.fixture
def run_dag(airflow_metadata: str) -> Callable[..., dict[str, Any]]:
    """run_dag(dag_id, logical_date, conf=None, **env) runs the DAG for real with dag.test() in a subprocess."""

    def _run(dag_id: str, logical_date: datetime, conf: dict[str, Any] | None = None, **env: str) -> dict[str, Any]:
        argv = [sys.executable, str(RUN_DAG), dag_id, logical_date.isoformat()]
        if conf is not None:
            argv.append(json.dumps(conf))
        proc = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=600, check=False)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise AssertionError(
                f"{dag_id} run failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
            )
        result = json.loads(lines[-1])
        result["log"] = proc.stdout + proc.stderr
        return result

    return _run
