"""promtool unit tests for every alert: the input series that fire it and the later points where it has cleared.

Rendered to helm-values/monitoring/todoflow.rules.test.yml; the expected annotations come from the rule file itself
(with `{{ $labels.x }}` filled in), so a test fails when an alert's expression, `for`, labels or text change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


def alerts(rules_file: Path) -> dict[str, dict[str, Any]]:
    """Every alert rule in the file by name."""
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def _expected(rule: dict[str, Any], **labels: str) -> dict[str, Any]:
    def fill(text: str) -> str:
        return re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels[m.group(1)], text)

    return {
        "exp_labels": {**labels, **rule.get("labels", {})},
        "exp_annotations": {key: fill(value) for key, value in rule["annotations"].items()},
    }


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{selector}}}" if selector else name, "values": values}


# alert -> list of (input series, [(eval time, labels of the firing alert or None for "not firing")])
CASES: dict[str, list[tuple[list[dict[str, str]], list[tuple[str, dict[str, str] | None]]]]] = {
    "TodoflowOutboxOldestAgeHigh": [
        (
            [_series("todoflow_relay_outbox_oldest_age_seconds", "5 30 90x4 10x5")],
            [("1m", None), ("3m", None), ("5m", {}), ("9m", None)],
        )
    ],
    "TodoflowNoRelayLeading": [
        # The leader steps down (reports 0) and nobody takes over; then a relay leads again.
        (
            [_series("todoflow_relay_leader", "1x3 0x6 1x5", instance_id="relay-a")],
            [("2m", None), ("5m", None), ("7m", {}), ("12m", None)],
        ),
        # No relay reports at all (every gauge expired): fires too.
        ([_series("todoflow_relay_outbox_lag", "0x10")], [("1m", None), ("5m", {})]),
    ],
    "TodoflowJobFailing": [
        # The first failure creates the counter; a second failure later fires again through increase().
        (
            [_series("todoflow_job_failures_total", "_x10 1x30 2x40", job="expand")],
            [("5m", None), ("15m", {"job": "expand"}), ("40m", None), ("45m", {"job": "expand"}), ("75m", None)],
        )
    ],
    "TodoflowSeriesBehind": [
        (
            [_series("todoflow_job_items_total", "0+1x90 90x200", job="expand", item="behind")],
            [("30m", None), ("80m", {}), ("220m", None)],
        )
    ],
    "AirflowSchedulerHeartbeatMissing": [
        (
            [_series("airflow_scheduler_heartbeat_total", "0+10x10 100x20 110+10x20")],
            [("5m", None), ("17m", None), ("25m", {}), ("40m", None)],
        )
    ],
    "TodoflowQualityCheckFailing": [
        (
            [_series("todoflow_quality_check", "1x5 0x5 1x5", check="recurring_not_behind")],
            [("2m", None), ("7m", {"check": "recurring_not_behind"}), ("13m", None)],
        )
    ],
    "TodoflowApiHigh5xxRatio": [
        (
            [
                _series(
                    "todoflow_api_requests_total", "0+100x60", endpoint="tasks.list_tasks", method="GET", status="200"
                ),
                _series(
                    "todoflow_api_requests_total",
                    "0x10 5+5x19 100x30",
                    endpoint="tasks.create_task",
                    method="POST",
                    status="500",
                ),
            ],
            [("8m", None), ("13m", None), ("25m", {}), ("45m", None)],
        )
    ],
    "TodoflowApiLatencyP95High": [
        # 100 requests a minute between 30 and 50 ms, then from minute 31 all under 30 ms.
        (
            [
                _series("todoflow_api_request_duration_seconds_bucket", "0x30 100+100x30", le="0.03"),
                _series("todoflow_api_request_duration_seconds_bucket", "0+100x61", le="0.05"),
                _series("todoflow_api_request_duration_seconds_bucket", "0+100x61", le="+Inf"),
            ],
            [("5m", None), ("20m", {}), ("45m", None)],
        )
    ],
}


def render(rules_file: Path) -> dict[str, Any]:
    """The promtool test file: one test group per case, every alert fired and cleared."""
    rules = alerts(rules_file)
    missing = sorted(set(rules) - set(CASES))
    if missing:
        raise ValueError(f"alerts without promtool tests: {', '.join(missing)}")
    tests = []
    for name, cases in CASES.items():
        for input_series, points in cases:
            tests.append(
                {
                    "name": name,
                    "interval": "1m",
                    "input_series": input_series,
                    "alert_rule_test": [
                        {
                            "eval_time": at,
                            "alertname": name,
                            "exp_alerts": [] if labels is None else [_expected(rules[name], **labels)],
                        }
                        for at, labels in points
                    ],
                }
            )
    return {"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": tests}
