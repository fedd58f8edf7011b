"""Values for the upstream charts (Airflow, Redpanda) and the delivery workflow, checked statically: no cluster
and no chart repository is reachable here, so these tests hold the files to what the deploy relies on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import CHART, DOKS_VALUES
from todoflow.core.settings import REPO_ROOT

AIRFLOW = REPO_ROOT / "helm-values" / "airflow.yaml"
REDPANDA = REPO_ROOT / "helm-values" / "redpanda.yaml"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
MAKEFILE = REPO_ROOT / "Makefile"


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _workflow() -> dict[str, Any]:
    data = _yaml(WORKFLOW)
    # YAML 1.1 reads the bare key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _pinned_chart_version(path: Path) -> str:
    versions = set(re.findall(r"--version\s+(\d+\.\d+\.\d+)", path.read_text()))
    assert len(versions) == 1, versions
    return versions.pop()


# --- Airflow -------------------------------------------------------------------------------------------------------


def test_airflow_chart_version_is_pinned_and_deployed_as_pinned() -> None:
    version = _pinned_chart_version(AIRFLOW)
    assert f"Chart version pinned: {version}" in AIRFLOW.read_text()
    assert _workflow()["env"]["AIRFLOW_CHART_VERSION"] == version
    assert '--version "${AIRFLOW_CHART_VERSION}"' in WORKFLOW.read_text()


def test_airflow_pgbouncer_off_and_no_credentials_in_values() -> None:
    values = _yaml(AIRFLOW)
    # The chart's PgBouncer would pool to data.metadataConnection (values), not to the metadata Secret.
    assert values["pgbouncer"]["enabled"] is False
    assert values["postgresql"]["enabled"] is False
    assert "metadataConnection" not in values["data"] and values["data"]["metadataSecretName"]
    for key in ("fernetKeySecretName", "apiSecretKeySecretName", "jwtSecretName"):
        assert values[key]
    assert values["redis"]["passwordSecretName"] and values["data"]["brokerUrlSecretName"]
    for key in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey"):
        assert key not in values
    assert not re.search(r"(password|pass)\s*:\s*[^\s{]", AIRFLOW.read_text(), re.I)


def test_airflow_admin_comes_from_a_secret() -> None:
    values = _yaml(AIRFLOW)
    job = values["createUserJob"]
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in job["env"]}
    assert {ref["name"] for ref in env.values()} == {"airflow-admin"}
    script = " ".join(job["args"])
    for name in env:
        assert f'"${name}"' in script
    assert "admin" not in re.sub(r"\$AIRFLOW_ADMIN_\w+|-r Admin|-f Admin", "", script).lower()
    # The deprecated place of the default user (webserver.defaultUser) is gone with the whole webserver section.
    assert "webserver" not in values
    # Migrations and the admin run with the release, not as post-install hooks that `--wait` would deadlock on.
    assert values["migrateDatabaseJob"]["useHelmHooks"] is False
    assert job["useHelmHooks"] is False


def test_airflow_no_deprecated_keys() -> None:
    values = _yaml(AIRFLOW)
    workers = values["workers"]
    # Chart 1.19+ moved Celery-only worker settings under workers.celery.
    assert "replicas" not in workers and "persistence" not in workers
    assert workers["celery"]["replicas"] >= 2
    assert "web" not in values.get("ingress", {}) and "enabled" not in values.get("ingress", {})
    assert "securityContext" not in values  # deprecated for securityContexts


def test_airflow_ui_ingress_pull_secret_and_job_image() -> None:
    values = _yaml(AIRFLOW)
    ingress = values["ingress"]["apiServer"]
    assert ingress["enabled"] is True and ingress["ingressClassName"] == "nginx"
    assert ingress["annotations"]["cert-manager.io/cluster-issuer"]
    (host,) = ingress["hosts"]
    assert host["tls"]["enabled"] is True and host["tls"]["secretName"]
    todoflow = _yaml(DOKS_VALUES)
    assert values["registry"]["secretName"] == todoflow["imagePullSecrets"][0]["name"]

    # The job image is never a silent default: empty in the file, set explicitly by every deploy.
    assert values["env"][0] == {"name": "TODOFLOW_IMAGE", "value": ""}
    assert values["images"]["airflow"]["tag"] is None
    deploy = " ".join(step.get("run", "") for step in _workflow()["jobs"]["deploy"]["steps"])
    assert '--set images.airflow.tag="${{ github.sha }}"' in deploy
    assert '--set-string "env[0].value=${REGISTRY}/app:${{ github.sha }}"' in deploy
    assert '--set image.tag="${{ github.sha }}"' in deploy


def test_airflow_pipeline_settings_match_the_chart() -> None:
    env = {item["name"]: item.get("value") for item in _yaml(AIRFLOW)["env"]}
    chart = _yaml(CHART / "values.yaml")
    assert env["TODOFLOW_K8S_NAMESPACE"] == chart["jobs"]["namespace"]
    assert env["TODOFLOW_K8S_SERVICE_ACCOUNT"] == chart["jobs"]["serviceAccountName"]
    assert env["TODOFLOW_K8S_SECRET"] == chart["secret"]["name"]
    assert env["TODOFLOW_JOB_STATSD_HOST"] == chart["statsd"]["host"]
    assert int(env["TODOFLOW_JOB_STATSD_PORT"]) == chart["statsd"]["port"]
    # On DOKS the job pods talk SASL_SSL to Managed Kafka exactly like the chart's pods.
    doks = _yaml(DOKS_VALUES)
    keys = env["TODOFLOW_K8S_SECRET_KEYS"].split(",")
    assert {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"} <= set(keys)
    assert {"KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM"} <= set(keys)
    assert env["TODOFLOW_K8S_KAFKA_CA_SECRET"] == doks["kafka"]["caName"]
    values = _yaml(AIRFLOW)
    (volume,) = values["volumes"]
    (mount,) = values["volumeMounts"]
    assert volume["secret"]["secretName"] == doks["kafka"]["caName"] and mount["name"] == volume["name"]


# --- Redpanda ------------------------------------------------------------------------------------------------------

# Top-level keys of the Redpanda chart's values.yaml at the pinned version (26.2.1).
REDPANDA_KEYS = {
    "nameOverride", "fullnameOverride", "clusterDomain", "commonLabels", "image", "podTemplate", "auditLogging",
    "enterprise", "rackAwareness", "console", "auth", "tls", "external", "logging", "monitoring", "resources",
    "storage", "post_install_job", "statefulset", "serviceAccount", "rbac", "tuning", "listeners", "config", "tests",
}  # fmt: skip


def test_redpanda_values_pinned_and_secure() -> None:
    assert _pinned_chart_version(REDPANDA) == "26.2.1"
    values = _yaml(REDPANDA)
    assert set(values) <= REDPANDA_KEYS
    assert values["statefulset"]["replicas"] == 3
    sasl = values["auth"]["sasl"]
    assert sasl["enabled"] is True and sasl["users"] == [] and sasl["secretRef"]
    assert sasl["mechanism"] == _yaml(DOKS_VALUES)["kafka"]["saslMechanism"]
    assert values["tls"]["enabled"] is True
    assert values["config"]["cluster"]["auto_create_topics_enabled"] is False


# --- Workflow ------------------------------------------------------------------------------------------------------


def test_every_action_is_pinned_by_commit_sha() -> None:
    uses = [step["uses"] for job in _workflow()["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses
    for use in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use), use
    for line in WORKFLOW.read_text().splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40}\s+# v\d+\.\d+\.\d+$", line), line


def test_pipeline_order_and_gates() -> None:
    workflow = _workflow()
    jobs = workflow["jobs"]
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert jobs["images"]["needs"] == "test"
    assert jobs["deploy"]["needs"] == "images"
    assert jobs["smoke"]["needs"] == "deploy"
    main_only = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert jobs["deploy"]["if"] == main_only
    # Pull requests build the images but never push them.
    build = next(step for step in jobs["images"]["steps"] if "build-push-action" in step.get("uses", ""))
    assert build["with"]["push"] == "${{ " + main_only + " }}"
    assert build["with"]["tags"] == "${{ env.REGISTRY }}/${{ matrix.image }}:${{ github.sha }}"
    assert "type=gha" in build["with"]["cache-from"] and "type=gha" in build["with"]["cache-to"]
    assert jobs["images"]["strategy"]["matrix"]["image"] == ["app", "airflow"]
    assert jobs["deploy"]["environment"]["name"] == "production"
    assert jobs["deploy"]["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
    # A push to main is never cancelled mid-deploy by the next push.
    assert workflow["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def test_deploy_is_atomic_and_smoke_checks_the_ingress() -> None:
    jobs = _workflow()["jobs"]
    runs = [step["run"] for step in jobs["deploy"]["steps"] if "run" in step]
    upgrades = [run for run in runs if "helm upgrade --install" in run]
    assert len(upgrades) == 3
    for run in upgrades:
        assert "--atomic" in run and "--wait" in run
    assert "helm-values/todoflow/values-doks.yaml" in upgrades[0]
    # Airflow with our StatsD mappings on its exporter, then Prometheus/Grafana with our rules and dashboards.
    assert "helm-values/airflow.yaml" in upgrades[1] and "helm-values/airflow-statsd.yaml" in upgrades[1]
    assert '--version "${KUBE_PROMETHEUS_STACK_VERSION}"' in upgrades[2]
    assert "helm-values/kube-prometheus-stack-todoflow.yaml" in upgrades[2]
    # The same pinned chart version as the values file's own install line.
    pinned = re.search(r"--version (\S+)", (REPO_ROOT / "helm-values" / "kube-prometheus-stack.yaml").read_text())
    assert pinned and _workflow()["env"]["KUBE_PROMETHEUS_STACK_VERSION"] == pinned.group(1)
    smoke = " ".join(step.get("run", "") for step in jobs["smoke"]["steps"])
    assert "kubectl rollout status" in smoke
    assert re.search(r"curl --fail .*https://\$\{\{ vars.API_HOST \}\}/ready", smoke, re.S)


def test_workflow_helm_is_the_makefile_helm() -> None:
    pinned = re.search(r"^HELM_VERSION := (\S+)$", MAKEFILE.read_text(), re.M).group(1)  # type: ignore[union-attr]
    assert _workflow()["env"]["HELM_VERSION"] == pinned


@pytest.mark.parametrize("tool", ["helm", "actionlint"])
def test_tools_are_pinned_into_the_shared_cache(tool: str) -> None:
    text = MAKEFILE.read_text()
    assert "TOOLS := $(HOME)/.cache/todoflow/tools" in text
    version = re.search(rf"^{tool.upper()}_VERSION := (v\d+\.\d+\.\d+)$", text, re.M)
    assert version, tool
    assert f"{tool.upper()} := $(TOOLS)/{tool}-$({tool.upper()}_VERSION)/{tool}" in text
