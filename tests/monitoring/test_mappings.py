"""The statsd_exporter mapping: valid, and matching every metric name the code can emit (none falls through)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

from todoflow_dev.devstack.metrics import MAPPINGS_FILE, REPO, MetricsStack, exporter_argv
from todoflow_dev.monitoring.emitted import scan

# Airflow's own metrics that the dashboards and alerts use (Airflow emits them; we only map them).
AIRFLOW_NAMES = [
    "airflow.scheduler_heartbeat",
    "airflow.dagrun.duration.success,dag_id=recurrence_expansion",
    "airflow.dagrun.duration.failed,dag_id=recurrence_expansion",
    "airflow.task.duration,dag_id=recurrence_expansion,task_id=expand",
    "airflow.ti.finish,dag_id=recurrence_expansion,task_id=expand,state=success",
    "airflow.ti_failures,dag_id=recurrence_expansion,task_id=expand",
]


def _sample_values() -> dict[str, list[str]]:
    """Values for the placeholders whose real values have dots or a fixed domain; others get one sample."""
    from todoflow.api import create_app

    endpoints = sorted({rule.endpoint for rule in create_app().url_map.iter_rules()} | {"unmatched"})
    return {
        "endpoint": endpoints,
        "request.method": ["GET", "POST"],
        "response.status_code": ["200", "404", "500"],
        "status": ["pass", "fail"],
    }


def _emitted_names() -> dict[str, str]:
    """Every concrete sample name (with the client's prefix) -> the call site that emits it."""
    emissions, unreadable = scan((REPO / "webapi" / "todoflow").rglob("*.py"), REPO)
    assert not unreadable, f"metric names the coverage scan cannot read (use a string/f-string): {unreadable}"
    values = _sample_values()
    return {f"todoflow.{name}": e.where for e in emissions for name in e.samples(values)}


def _counter(text: str, metric: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{metric}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def test_mapping_file_is_valid_for_the_exporter() -> None:
    result = subprocess.run([*exporter_argv(0, 0), "--check-config"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scan_finds_the_known_families() -> None:
    names = set(_emitted_names())
    for expected in (
        "todoflow.api.requests.tasks.list_tasks.GET.200",
        "todoflow.api.latency.unmatched",
        "todoflow.jobs.sample.runs",
        "todoflow.relay.leader.sample",
        "todoflow.relay.outbox.oldest_age_seconds",
        "todoflow.quality.runs.pass",
        "todoflow.quality.sample.result",
    ):
        assert expected in names


def test_every_emitted_metric_is_matched_by_a_rule(exporter: MetricsStack) -> None:
    """Each name is sent alone to the real exporter; a name its mapping does not match is named in the failure."""
    names = {**_emitted_names(), **{name: "Airflow" for name in AIRFLOW_NAMES}}
    unmatched = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for name, where in sorted(names.items()):
            before = exporter.exporter_metrics()
            events, unmapped = (
                _counter(before, "statsd_exporter_events_total"),
                _counter(before, "statsd_exporter_events_unmapped_total"),
            )
            sock.sendto(f"{name}:1|c".encode(), ("127.0.0.1", exporter.udp_port))
            deadline = time.monotonic() + 5
            while True:
                after = exporter.exporter_metrics()
                if _counter(after, "statsd_exporter_events_total") > events:
                    break
                assert time.monotonic() < deadline, f"the exporter did not count {name}"
                time.sleep(0.02)
            if _counter(after, "statsd_exporter_events_unmapped_total") > unmapped:
                unmatched.append(f"{name} (from {where})")
    assert not unmatched, "no mapping rule in helm-values/monitoring/statsd-mappings.yml for: " + "; ".join(unmatched)


# StatsD line -> the exported sample it must produce: one per rule, including the shorter forms of a family
# (the exporter's glob matcher can miss a shorter pattern when a longer one shares its prefix).
LABELLED = [
    (
        "todoflow.api.requests.tasks.create_task.POST.201:1|c",
        'todoflow_api_requests_total{endpoint="tasks.create_task",method="POST",status="201"} 1',
    ),
    (
        "todoflow.api.requests.unmatched.DELETE.405:1|c",
        'todoflow_api_requests_total{endpoint="unmatched",method="DELETE",status="405"} 1',
    ),
    (
        "todoflow.api.latency.tasks.create_task:12|ms",
        'todoflow_api_request_duration_seconds_bucket{endpoint="tasks.create_task",le="0.015"} 1',
    ),
    ("todoflow.api.latency.ready:3|ms", 'todoflow_api_request_duration_seconds_bucket{endpoint="ready",le="0.005"} 1'),
    ("todoflow.api.quota.series:1|c", 'todoflow_api_quota_rejections_total{quota="series"} 1'),
    ("todoflow.api.login_limit.ip:1|c", 'todoflow_api_login_limited_total{scope="ip"} 1'),
    ("todoflow.relay.leader.relay-7:1|g", 'todoflow_relay_leader{instance_id="relay-7"} 1'),
    ("todoflow.relay.outbox.lag:4|g", "todoflow_relay_outbox_lag 4"),
    ("todoflow.relay.errors.publish:1|c", 'todoflow_relay_errors_total{kind="publish"} 1'),
    ("todoflow.jobs.expand.runs:1|c", 'todoflow_job_runs_total{job="expand"} 1'),
    ("todoflow.jobs.expand.failures:1|c", 'todoflow_job_failures_total{job="expand"} 1'),
    ("todoflow.jobs.sweep.duration:1500|ms", 'todoflow_job_duration_seconds_bucket{job="sweep",le="2.5"} 1'),
    ("todoflow.jobs.expand.created:5|c", 'todoflow_job_items_total{item="created",job="expand"} 5'),
    ("todoflow.jobs.expand.skipped_rows:2|c", 'todoflow_job_skipped_rows_total{job="expand"} 2'),
    ("todoflow.jobs.sweep.skipped:3|c", 'todoflow_job_skipped_rows_total{job="sweep"} 3'),
    ("todoflow.quality.runs.fail:1|c", 'todoflow_quality_runs_total{result="fail"} 1'),
    ("todoflow.quality.recurring_not_behind.result:0|g", 'todoflow_quality_check{check="recurring_not_behind"} 0'),
    (
        "todoflow.quality.recurring_not_behind.unexpected:7|g",
        'todoflow_quality_check_unexpected_rows{check="recurring_not_behind"} 7',
    ),
    (
        "todoflow.quality.recurring_not_behind.fail:1|c",
        'todoflow_quality_check_runs_total{check="recurring_not_behind",result="fail"} 1',
    ),
    (
        "todoflow.delivery.webhook.delivered:1|c",
        'todoflow_delivery_deliveries_total{channel="webhook",outcome="delivered"} 1',
    ),
    (
        "todoflow.delivery.email.attempt_latency:40|ms",
        'todoflow_delivery_attempt_duration_seconds_bucket{channel="email",le="0.05"} 1',
    ),
    ("todoflow.delivery.backlog:9|g", "todoflow_delivery_backlog 9"),
    ("todoflow.delivery.webhook.deactivated:1|c", "todoflow_delivery_webhooks_deactivated_total 1"),
    ("todoflow.delivery.events:3|c", "todoflow_delivery_events_total 3"),
    ("todoflow.api.password_hashing.busy:1|c", "todoflow_api_password_hashing_busy_total 1"),
    ("todoflow.delivery.oldest_pending_age_seconds:30|g", "todoflow_delivery_oldest_pending_age_seconds 30"),
    ("airflow.scheduler_heartbeat:1|c", "airflow_scheduler_heartbeat_total 1"),
    (
        "airflow.dagrun.duration.failed,dag_id=due_date_sweep:2000|ms",
        'airflow_dagrun_duration_seconds_bucket{dag_id="due_date_sweep",state="failed",le="5"} 1',
    ),
    (
        "airflow.ti_failures,dag_id=due_date_sweep,task_id=sweep:1|c",
        'airflow_ti_failures_total{dag_id="due_date_sweep",task_id="sweep"} 1',
    ),
]


def test_each_rule_labels_its_family(tmp_path: Path) -> None:
    """Each family and its shorter forms become the intended metric and labels (a fresh exporter: exact values)."""
    stack = MetricsStack(tmp_path).start(with_prometheus=False)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for line, _ in LABELLED:
                sock.sendto(line.encode(), ("127.0.0.1", stack.udp_port))
        deadline = time.monotonic() + 5
        while True:
            text = stack.exporter_metrics()
            missing = {line: want for line, want in LABELLED if want not in text.splitlines()}
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        stack.stop()
    assert not missing, missing


def test_mapping_file_is_the_one_the_stack_loads() -> None:
    assert Path(MAPPINGS_FILE).is_relative_to(REPO / "helm-values")
    assert f"--statsd.mapping-config={MAPPINGS_FILE}" in exporter_argv(8125, 9102)
