"""The proof: the real code paths -> a real statsd_exporter -> a real Prometheus -> every dashboard panel and rule.

The API (Flask app, requests including errors), a real relay process publishing to Kafka, every job command via
the CLI (twice, and one failing run), a data-quality run and Airflow DAG runs (dag.test, Airflow's own StatsD) all
send to a private exporter with the repository's mapping; Prometheus scrapes it every second and loads the
repository's rule file. Then every query of every dashboard panel runs through Prometheus's HTTP API and must
return at least one series carrying the labels the panel groups by (a panel that returns nothing fails by name),
and every alert rule must evaluate without error.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from todoflow.core import metrics
from todoflow_dev.devstack import airflow as local_airflow
from todoflow_dev.devstack import postgres as local_pg
from todoflow_dev.devstack.metrics import RULES_FILE, MetricsStack
from todoflow_dev.monitoring.dashboards import DASHBOARDS, RANGE, RATE
from todoflow_dev.monitoring.rule_tests import alerts

REPO = Path(__file__).resolve().parents[2]
RUN_DAG = REPO / "tests" / "dags" / "run_dag.py"
AIRFLOW_DB = "airflow_test_monitoring"
PASSWORD = "correct horse battery"


def _statsd_env(stack: MetricsStack) -> dict[str, str]:
    return {"STATSD_HOST": "127.0.0.1", "STATSD_PORT": str(stack.udp_port), "STATSD_PREFIX": "todoflow"}


def _drive_api(client: Any) -> None:
    """Sign-up, login (also a wrong password), tasks, a series, reads, and requests that fail validation."""
    today = datetime.now(UTC).date().isoformat()
    assert client.post("/api/auth/register", json={"email": "m@example.com", "password": PASSWORD}).status_code == 201
    assert client.post("/api/auth/login", json={"email": "m@example.com", "password": "wrong"}).status_code == 401
    login = client.post("/api/auth/login", json={"email": "m@example.com", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    for n in range(3):
        created = client.post("/api/tasks", json={"title": f"task {n}", "due_date": today}, headers=headers)
        assert created.status_code == 201, created.get_json()
    series = {
        "title": "daily",
        "recurrence_type": "daily",
        "recurrence_interval": 1,
        "start_date": today,
    }
    assert client.post("/api/recurring-tasks", json=series, headers=headers).status_code == 201
    assert client.get("/api/tasks", headers=headers).status_code == 200
    assert client.get("/api/tasks/999999", headers=headers).status_code == 404
    assert client.post("/api/tasks", json={"title": ""}, headers=headers).status_code in (400, 422)
    assert client.get("/api/tasks").status_code == 401
    assert client.get("/no/such/route").status_code == 404


class Relay:
    """`todoflow relay` as a process, publishing the test database's outbox to the test broker."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "todoflow.cli", "relay"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _wait_published(database_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM event_outbox"
            ).fetchone()
        if row and row[0] > 0 and row[1] == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"the relay did not publish the outbox within {timeout:.0f}s (outbox {row})")


def _cli(args: list[str], env: dict[str, str], expect: int = 0) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "todoflow.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == expect, f"todoflow {' '.join(args)} -> {result.returncode}\n{result.stderr[-3000:]}"


def _drive_jobs(env: dict[str, str], stack: MetricsStack, database_url: str) -> None:
    """Each job twice (so counters increase between scrapes), one failing run, one data-quality run."""
    for _ in range(2):
        _cli(["expand-recurrences", "--as-of", "now"], env)
        _cli(["sweep-due", "--as-of", "now"], env)
        _cli(["write-event-log", "--max-seconds", "20", "--idle-seconds", "2"], env)
        stack.wait_scraped()
    missing_db = database_url.rsplit("/", 1)[0] + "/todoflow_no_such_database"
    _cli(["expand-recurrences", "--as-of", "now"], {**env, "DATABASE_URL": missing_db}, expect=1)
    # Exit 0 or 1: a check may find the freshly made data inconsistent; either way every check reports.
    result = subprocess.run(
        [sys.executable, "-m", "todoflow.cli", "check-schedules", "--as-of", datetime.now(UTC).isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]


def _drive_airflow(stack: MetricsStack, env: dict[str, str]) -> None:
    """Real DAG runs with Airflow's StatsD on (one succeeds, one fails), and a real scheduler for its heartbeat."""
    local_pg.ensure_databases((AIRFLOW_DB,))
    airflow_env = local_airflow.airflow_env(metadata_db=AIRFLOW_DB, base=env)
    airflow_env.update(
        {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(stack.udp_port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            "TODOFLOW_JOB_STATSD_HOST": "127.0.0.1",
            "TODOFLOW_JOB_STATSD_PORT": str(stack.udp_port),
        }
    )
    local_airflow.migrate(airflow_env)
    local_airflow.register_connections(airflow_env)
    logical_date = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    ok = _run_dag("due_date_sweep", logical_date, airflow_env)
    assert ok["state"] == "success", ok.get("log", "")[-3000:]
    missing_db = env["DATABASE_URL"].rsplit("/", 1)[0] + "/todoflow_no_such_database"
    # The quality DAG against a missing database, without retries (the job DAGs retry for minutes): a failed run.
    failed = _run_dag(
        "schedule_quality",
        logical_date,
        {**airflow_env, "DATABASE_URL": missing_db, "TODOFLOW_QUALITY_RETRIES": "0"},
    )
    assert failed["state"] == "failed", failed.get("log", "")[-3000:]
    # A real scheduler heartbeats (every second here) in its loop; it exits after --num-runs loops (about a second
    # each when idle) and, with the job schedule off, starts no DAG runs of its own.
    scheduler_env = {
        **airflow_env,
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    }
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "scheduler", "--num-runs", "8"],
        env=scheduler_env,
        capture_output=True,
        timeout=300,
        check=False,
    )


def _run_dag(dag_id: str, logical_date: datetime, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(RUN_DAG), dag_id, logical_date.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{dag_id}: no result ({proc.returncode})\n{proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    result["log"] = proc.stdout + proc.stderr
    return result


def _grafana(expr: str) -> str:
    """What Grafana substitutes before it sends a panel's query (a 1 s scrape: 1 m holds plenty of samples)."""
    return expr.replace(RATE, "1m").replace(RANGE, "1h")


@pytest.mark.airflow
@pytest.mark.timeout(1800)
def test_every_dashboard_panel_and_alert_rule_answers(
    metrics_stack: MetricsStack,
    client: Any,
    clean_db: str,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    statsd_env = _statsd_env(metrics_stack)
    for name, value in statsd_env.items():
        monkeypatch.setenv(name, value)
    metrics.statsd.cache_clear()
    env = {
        **os.environ,
        **statsd_env,
        "DATABASE_URL": clean_db,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "RELAY_METRICS_INTERVAL_SECONDS": "0.5",
        "RELAY_INSTANCE": "relay-proof",
    }
    try:
        _drive_api(client)
    finally:
        metrics.statsd.cache_clear()
    relay = Relay(env, tmp_path / "relay.log")
    try:
        _wait_published(clean_db)
        _drive_jobs(env, metrics_stack, clean_db)
        _drive_airflow(metrics_stack, env)
        # Two scrapes after the last event, so every counter has the samples rate() and increase() need.
        metrics_stack.wait_scraped()
        metrics_stack.wait_scraped()

        empty, missing_labels = [], []
        for dashboard in DASHBOARDS:
            for panel in dashboard.panels:
                for query in panel.queries:
                    series = metrics_stack.query(_grafana(query.expr))
                    name = f"{dashboard.title} / {panel.title}: {query.expr}"
                    if not series:
                        empty.append(name)
                    elif any(set(panel.group_by) - set(s["metric"]) for s in series):
                        missing_labels.append(f"{name} -> {[s['metric'] for s in series]}")
        assert not empty, "panels whose query returns nothing:\n" + "\n".join(empty)
        assert not missing_labels, "panels whose series lack their group-by labels:\n" + "\n".join(missing_labels)
        assert metrics_stack.query('todoflow_relay_leader{instance_id="relay-proof"}')[0]["value"][1] == "1"
    finally:
        relay.stop()

    # Every alert expression is valid PromQL over these metrics, and Prometheus evaluated every rule cleanly.
    for rule in alerts(RULES_FILE).values():
        metrics_stack.query(rule["expr"])  # raises on an error answer
    with urllib.request.urlopen(f"{metrics_stack.prometheus_url}/api/v1/rules", timeout=10) as response:  # noqa: S310
        groups = json.load(response)["data"]["groups"]
    evaluated = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(evaluated) == set(alerts(RULES_FILE))
    unhealthy = {name: rule.get("lastError") for name, rule in evaluated.items() if rule["health"] != "ok"}
    assert not unhealthy, unhealthy
    # The failing job run and the failed DAG run are visible as such (the alert fires on the former).
    failures = metrics_stack.query('todoflow_job_failures_total{job="expand"}')
    assert failures and float(failures[0]["value"][1]) >= 1
    firing = {a["metric"]["alertname"] for a in metrics_stack.query("ALERTS")}
    assert "TodoflowJobFailing" in firing
