"""Generated files equal their sources; the helm values carry exactly the mapping, rules and dashboards."""

from __future__ import annotations

import json
import re

import kubernetes_validate
import yaml

from todoflow_dev.devstack import metrics as devstack_metrics
from todoflow_dev.devstack.metrics import MAPPINGS_FILE, REPO, RULES_FILE
from todoflow_dev.monitoring.__main__ import AIRFLOW_STATSD_VALUES, KPS_TODOFLOW_VALUES, generated
from todoflow_dev.monitoring.dashboards import DASHBOARDS
from todoflow_dev.monitoring.values import unescape_tpl

KUBERNETES_VERSION = "1.33"


def test_committed_generated_files_are_up_to_date() -> None:
    stale = [
        str(p.relative_to(REPO)) for p, content in generated().items() if not p.exists() or p.read_text() != content
    ]
    assert not stale, f"run `make monitoring`: {stale}"


def test_airflow_statsd_values_carry_the_mapping_file() -> None:
    values = yaml.safe_load(AIRFLOW_STATSD_VALUES.read_text())
    assert values["statsd"]["overrideMappings"] == yaml.safe_load(MAPPINGS_FILE.read_text())["mappings"]
    assert values["images"]["statsd"]["tag"] == devstack_metrics.STATSD_EXPORTER_VERSION


def test_kube_prometheus_stack_values_carry_the_rules_and_the_dashboards() -> None:
    values = yaml.safe_load(KPS_TODOFLOW_VALUES.read_text())
    assert (
        values["additionalPrometheusRulesMap"]["todoflow"]["groups"] == yaml.safe_load(RULES_FILE.read_text())["groups"]
    )
    configmaps = values["extraManifests"]
    assert {cm["metadata"]["name"] for cm in configmaps} == {f"{d.uid}-dashboard" for d in DASHBOARDS}
    for cm in configmaps:
        assert cm["metadata"]["labels"] == {"grafana_dashboard": "1"}
        kubernetes_validate.validate(
            {**cm, "metadata": {**cm["metadata"], "namespace": "monitoring"}}, KUBERNETES_VERSION, strict=True
        )
        ((filename, text),) = cm["data"].items()
        # The chart renders extraManifests with `tpl`: no template action may remain but our escapes.
        assert not re.search(r"\{\{(?! \"\{\{\" \}\})", text.replace('{{ "{{" }}', "")), filename
        assert unescape_tpl(text) == (REPO / "helm-values" / "monitoring" / "dashboards" / filename).read_text()
        dashboard = json.loads(unescape_tpl(text))
        assert dashboard["panels"] and all(p["targets"] for p in dashboard["panels"])


def test_main_values_point_grafana_at_the_configmaps_and_prometheus_at_the_exporter() -> None:
    values = yaml.safe_load((REPO / "helm-values" / "kube-prometheus-stack.yaml").read_text())
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["enabled"], sidecar["label"], sidecar["labelValue"]) == (True, "grafana_dashboard", "1")
    (monitor,) = values["prometheus"]["additionalServiceMonitors"]
    assert monitor["selector"]["matchLabels"] == {"tier": "airflow", "component": "statsd", "release": "airflow"}
    assert monitor["endpoints"][0]["port"] == "statsd-scrape"
    assert "--version 88.5.3" in (REPO / "helm-values" / "kube-prometheus-stack.yaml").read_text()


def test_makefile_pins_the_versions_the_stack_runs() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert f"STATSD_EXPORTER_VERSION := {devstack_metrics.STATSD_EXPORTER_VERSION}" in makefile
    assert f"PROMETHEUS_VERSION := {devstack_metrics.PROMETHEUS_VERSION}" in makefile
    assert re.search(r"^test: .*metrics-tools", makefile, re.M)
    assert re.search(r"^up: .*metrics-tools", makefile, re.M)
