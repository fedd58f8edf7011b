"""DAG integrity, per DAG file: imports cleanly, carries tags, owner, retries, limits and docs, parses light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from todoflow.core.settings import REPO_ROOT

DAG_FILES = sorted((REPO_ROOT / "dags").glob("*.py"))
EXPECTED_DAGS = {"recurrence_expansion", "due_date_sweep", "event_log", "schedule_quality"}
# The dag-processor re-parses every file every few seconds, so a DAG file must import only what declaring
# the DAG needs. Rather than timing a parse (a timed assertion fails on a busy machine and passes a slow
# import on a fast one), a fresh interpreter that already holds what the dag-processor holds (airflow.sdk,
# plus whatever PRELOAD adds) imports one DAG file and lists the modules that import pulled in.
HEAVY_AT_PARSE = (
    "todoflow.core.db",
    "todoflow.jobs",
    "todoflow.quality",
    "todoflow.api",
    "todoflow.relay",
    "confluent_kafka",
    "great_expectations",
    "flask",
    "psycopg",
    "kubernetes",
    "airflow.providers.cncf.kubernetes",
)
NEW_MODULES = """
import importlib.util, json, sys
import airflow.sdk
exec(sys.argv[2])
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _bag(path: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(path))


def _heavy_imports(path: Path, preload: str = "", **env: str) -> list[str]:
    """The heavy modules that parsing path imports, in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", NEW_MODULES, str(path), preload],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    new = json.loads(out.stdout.strip().splitlines()[-1])
    return [name for name in new if name.startswith(HEAVY_AT_PARSE)]


def test_every_expected_dag_has_a_file() -> None:
    assert {path.stem for path in DAG_FILES} == EXPECTED_DAGS


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_without_errors(path: Path) -> None:
    bag = _bag(path)
    assert bag.import_errors == {}
    assert list(bag.dags) == [path.stem]


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_has_tags_owner_retries_and_limits(path: Path) -> None:
    dag = _bag(path).dags[path.stem]
    assert "todoflow" in dag.tags and len(dag.tags) >= 2
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.doc_md and "As of what?" in dag.doc_md
    for task in dag.tasks:
        assert task.owner == "todoflow-pipeline", task.task_id
        assert task.retries >= 1, task.task_id
        assert task.retry_exponential_backoff >= 2, task.task_id
        assert task.max_retry_delay is not None, task.task_id
        assert task.execution_timeout is not None, task.task_id


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parse_imports_nothing_heavy(path: Path) -> None:
    assert _heavy_imports(path) == []


def _helm_local_settings() -> str:
    values = yaml.safe_load((REPO_ROOT / "helm-values" / "airflow.yaml").read_text())
    return values["airflowLocalSettings"]


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parse_in_kubernetes_mode_finds_the_pod_operator_preloaded(path: Path) -> None:
    # In the cluster airflow_local_settings (helm values) preloads the pod operator before the
    # dag-processor forks its parsers; without it each parse would pay the provider's import.
    env = {"TODOFLOW_JOB_MODE": "kubernetes", "TODOFLOW_IMAGE": "registry.example/todoflow:1"}
    assert _heavy_imports(path, _helm_local_settings(), **env) == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TODOFLOW_JOB_MODE": "docker"}, "TODOFLOW_JOB_MODE must be one of local, kubernetes"),
        ({"TODOFLOW_JOB_MODE": "kubernetes"}, "TODOFLOW_IMAGE must name the application image"),
        ({"TODOFLOW_EXPANSION_SHARDS": "0"}, "TODOFLOW_EXPANSION_SHARDS must be a whole number >= 1, not 0"),
    ],
)
def test_a_wrong_setting_is_an_import_error_that_names_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    errors = _bag(REPO_ROOT / "dags" / "recurrence_expansion.py").import_errors
    assert len(errors) == 1
    assert message in next(iter(errors.values()))
