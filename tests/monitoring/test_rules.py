"""The alert rules: valid for promtool, every alert unit-tested (fired and cleared), and documented in README."""

from __future__ import annotations

import subprocess

import yaml

from todoflow_dev.devstack.metrics import REPO, RULE_TESTS_FILE, RULES_FILE, promtool_bin, require
from todoflow_dev.monitoring.rule_tests import CASES, alerts

REQUIRED_ALERTS = {
    "TodoflowOutboxOldestAgeHigh",
    "TodoflowNoRelayLeading",
    "TodoflowJobFailing",
    "TodoflowSeriesBehind",
    "TodoflowQualityCheckFailing",
    "TodoflowApiHigh5xxRatio",
    "TodoflowApiLatencyP95High",
    "AirflowSchedulerHeartbeatMissing",
}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(require(promtool_bin())), *args], cwd=RULES_FILE.parent, capture_output=True, text=True, timeout=120
    )


def test_promtool_checks_the_rule_file() -> None:
    result = _promtool("check", "rules", RULES_FILE.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = _promtool("test", "rules", RULE_TESTS_FILE.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_fired_and_cleared_by_a_unit_test() -> None:
    rules = alerts(RULES_FILE)
    assert set(rules) == REQUIRED_ALERTS
    tests = yaml.safe_load(RULE_TESTS_FILE.read_text())["tests"]
    for name in rules:
        points = [p for t in tests for p in t["alert_rule_test"] if p["alertname"] == name]
        assert any(p["exp_alerts"] for p in points), f"{name} is never expected to fire"
        assert any(not p["exp_alerts"] for p in points), f"{name} is never expected to be clear"
        assert name in CASES


def test_a_broken_expectation_fails_promtool(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The unit tests really check: expecting an alert where it is clear makes promtool fail."""
    tests = yaml.safe_load(RULE_TESTS_FILE.read_text())
    point = tests["tests"][0]["alert_rule_test"][0]
    assert point["exp_alerts"] == []
    point["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
    tests["rule_files"] = [str(RULES_FILE)]
    broken = tmp_path / "broken.test.yml"
    broken.write_text(yaml.safe_dump(tests))
    result = _promtool("test", "rules", str(broken))
    assert result.returncode != 0


def test_every_alert_has_a_runbook_in_the_rules_and_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for name, rule in alerts(RULES_FILE).items():
        assert len(rule["annotations"].get("runbook", "")) > 40, name
        assert rule["annotations"].get("summary"), name
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert f"| `{name}` |" in readme, f"README alert runbook lacks {name}"
