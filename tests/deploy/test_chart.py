"""The application chart (helm-values/todoflow): lint, render, validate every object against the Kubernetes schema
of the versions DOKS runs, and check what a deploy depends on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.support import (
    CHART,
    DOKS_VALUES,
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    SENTINELS,
    SHA,
    HelmFailed,
    run_helm,
)
from todoflow.cli import COMMANDS
from todoflow.core.settings import REPO_ROOT, PipelineSettings

Render = Callable[..., list[dict[str, Any]]]

# Every Kubernetes minor from DOKS's oldest supported one (1.33, the one the pod specs are checked against too) to
# the newest the installed kubernetes-validate knows (1.37): whichever of them DOKS offers when a cluster is created
# or upgraded, every object is valid there. The strict schema rejects unknown fields as well.
KUBERNETES_VERSIONS = ["1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"]
SCENARIOS = {"defaults": (), "doks": (DOKS_VALUES,)}
COMPONENTS = ("api", "relay", "delivery")
SECRET_KEYS = set(SENTINELS)


def _objects(render: Render, scenario: str) -> list[dict[str, Any]]:
    return render(SCENARIOS[scenario])


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} rendered"
    return matches[0]


def _pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    ]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container["env"]}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_helm_lint_is_clean(helm: str, scenario: str) -> None:
    args = ["lint", str(CHART), "--strict", "--kube-version", KUBE_VERSION, "--set", f"image.tag={SHA}"]
    for path in SCENARIOS[scenario]:
        args += ["-f", str(path)]
    out = run_helm(helm, *args)
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_object_is_valid_for_doks(render: Render, scenario: str, version: str) -> None:
    objects = _objects(render, scenario)
    kinds = {o["kind"] for o in objects}
    assert {
        "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job",
        "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy",
    } <= kinds  # fmt: skip
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_long_running_components(render: Render, scenario: str) -> None:
    objects = _objects(render, scenario)
    commands = {"api": ["todoflow", "serve-api"], "relay": ["todoflow", "relay"], "delivery": ["todoflow", "deliver"]}
    for component in COMPONENTS:
        deployment = _find(objects, "Deployment", f"{RELEASE}-{component}")
        spec = deployment["spec"]
        assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert labels["app.kubernetes.io/component"] == component
        pod = spec["template"]["spec"]
        (container,) = pod["containers"]
        assert [*container["command"], *container.get("args", [])][:2] == commands[component]
        for part in ("requests", "limits"):
            assert set(container["resources"][part]) == {"cpu", "memory"}
        (spread,) = pod["topologySpreadConstraints"]
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        assert spread["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]

        if component == "api":
            hpa = _find(objects, "HorizontalPodAutoscaler", f"{RELEASE}-api")
            # The HPA owns the replica count: an upgrade must not reset it, and it never goes below two.
            assert "replicas" not in spec
            assert hpa["spec"]["minReplicas"] >= 2
            assert hpa["spec"]["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "todoflow-api",
            }
            replicas = hpa["spec"]["minReplicas"]
        else:
            assert spec["replicas"] == 2
            replicas = spec["replicas"]

        pdb = _find(objects, "PodDisruptionBudget", f"{RELEASE}-{component}")
        assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
        # A drain may take one pod at a time, never the last one.
        assert 1 <= pdb["spec"]["minAvailable"] < replicas


def test_api_without_autoscaling_has_fixed_replicas(render: Render) -> None:
    objects = render((DOKS_VALUES,), (f"image.tag={SHA}", "api.autoscaling.enabled=false", "api.replicas=3"))
    assert _find(objects, "Deployment", "todoflow-api")["spec"]["replicas"] == 3
    assert not [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]


@pytest.mark.parametrize(
    "override", ["api.replicas=1", "relay.replicas=1", "delivery.replicas=1", "api.autoscaling.minReplicas=1"]
)
def test_fewer_than_two_replicas_fail_rendering(render: Render, override: str) -> None:
    with pytest.raises(HelmFailed, match=r"must be >= 2"):
        render((DOKS_VALUES,), (f"image.tag={SHA}", override))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_api_probes_service_and_ingress(render: Render, scenario: str) -> None:
    objects = _objects(render, scenario)
    pod = _find(objects, "Deployment", "todoflow-api")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (port,) = container["ports"]
    assert port["name"] == "http" and container["args"][2] == f"0.0.0.0:{port['containerPort']}"
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # Endpoint removal before the process stops, and both inside the grace period.
    assert 0 < container["lifecycle"]["preStop"]["sleep"]["seconds"] < pod["terminationGracePeriodSeconds"]
    assert _env(container)["JWT_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "JWT_SECRET_KEY"

    service = _find(objects, "Service", "todoflow-api")
    assert (
        service["spec"]["selector"] == _find(objects, "Deployment", "todoflow-api")["spec"]["selector"]["matchLabels"]
    )
    assert service["spec"]["ports"][0]["targetPort"] == "http"

    ingress = _find(objects, "Ingress", "todoflow-api")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (tls,) = ingress["spec"]["tls"]
    (rule,) = ingress["spec"]["rules"]
    assert tls["hosts"] == [rule["host"]] and tls["secretName"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "todoflow-api", "port": {"name": "http"}}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_pod_is_non_root_read_only_and_pinned(render: Render, scenario: str) -> None:
    objects = _objects(render, scenario)
    pods = _pod_specs(objects)
    assert len(pods) == 5  # api, relay, delivery, migrate, create-topics
    dockerfile = (REPO_ROOT / "images" / "app" / "Dockerfile").read_text()
    uid = int(re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M).group(1))  # type: ignore[union-attr]
    for name, pod in pods:
        assert pod["automountServiceAccountToken"] is False, name
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == uid, name
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        if scenario == "doks":
            assert pod["imagePullSecrets"] == [{"name": "registry-todoflow"}], name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            assert container["image"] == f"registry.digitalocean.com/todoflow/app:{SHA}", name
            # The only writable path is the in-memory /tmp (the image's HOME).
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert "/tmp" in mounts, name
            assert all(m.get("readOnly") for path, m in mounts.items() if path != "/tmp"), name


def test_no_latest_tag_anywhere(render: Render) -> None:
    for scenario in SCENARIOS:
        images = [c["image"] for _, pod in _pod_specs(_objects(render, scenario)) for c in pod["containers"]]
        assert images and all(image.endswith(f":{SHA}") for image in images)
    with pytest.raises(HelmFailed, match=r"not \\?\"latest\\?\""):
        render((DOKS_VALUES,), ("image.tag=latest",))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_missing_tag_fails_rendering(render: Render, scenario: str) -> None:
    with pytest.raises(HelmFailed, match=r"image.tag is required"):
        render(SCENARIOS[scenario], ())


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_hooks_migrate_then_create_topics_before_every_release(render: Render, scenario: str) -> None:
    objects = _objects(render, scenario)
    jobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Job"}
    assert set(jobs) == {"todoflow-migrate", "todoflow-create-topics"}
    weights = {}
    for name, job in jobs.items():
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
        weights[name] = int(annotations["helm.sh/hook-weight"])
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        # Hooks run before the chart's other objects exist: they must not name a ServiceAccount of the chart.
        assert "serviceAccountName" not in pod
        assert job["spec"]["activeDeadlineSeconds"] > 0
    # Schema first, then topics: both before any Deployment of the release changes.
    assert weights["todoflow-migrate"] < weights["todoflow-create-topics"]
    migrate = jobs["todoflow-migrate"]["spec"]["template"]["spec"]["containers"][0]
    topics = jobs["todoflow-create-topics"]["spec"]["template"]["spec"]["containers"][0]
    assert migrate["command"] == ["todoflow"] and migrate["args"] == ["migrate"]
    assert topics["args"][0] == "create-topics"
    assert _env(topics)["KAFKA_REPLICATION_FACTOR"]["value"] == "3"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_command_the_chart_runs_exists_in_the_cli(render: Render, scenario: str) -> None:
    used = {
        [*c["command"], *c.get("args", [])][1]
        for _, pod in _pod_specs(_objects(render, scenario))
        for c in pod["containers"]
    }
    assert used <= set(COMMANDS)
    assert {"serve-api", "relay", "deliver", "migrate", "create-topics"} <= used


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_secrets_only_by_reference(render: Render, helm: str, scenario: str) -> None:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    for path in SCENARIOS[scenario]:
        args += ["-f", str(path)]
    text = run_helm(helm, *args, "--set", f"image.tag={SHA}")
    # helm ran with the secret values in its environment: none of them may reach a rendered object.
    for value in SENTINELS.values():
        assert value not in text
        assert "sentinel" not in text
    objects = _objects(render, scenario)
    assert not [o for o in objects if o["kind"] in ("Secret", "ConfigMap")]
    for name, pod in _pod_specs(objects):
        for container in pod["containers"]:
            env = _env(container)
            for key in SECRET_KEYS & set(env):
                assert "value" not in env[key], f"{name}: {key}"
                assert env[key]["valueFrom"]["secretKeyRef"] == {
                    "name": "todoflow-secrets", "key": key, **({"optional": True} if key.startswith("SMTP") else {})
                }  # fmt: skip
            assert {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"} <= set(env), name
    # Nothing in the values files looks like a credential.
    for path in (CHART / "values.yaml", DOKS_VALUES):
        assert not re.search(r"(password|secret_?key|token)\s*:\s*\S", path.read_text(), re.I), path


def test_kafka_sasl_ssl_on_doks(render: Render) -> None:
    for name, pod in _pod_specs(_objects(render, "doks")):
        (container,) = pod["containers"]
        env = _env(container)
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL", name
        assert env["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-256", name
        for key in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "todoflow-secrets", "key": key}, name
        # The CA file the clients read is exactly the file the Secret volume projects.
        ca_path = env["KAFKA_SSL_CA_LOCATION"]["value"]
        mount = next(m for m in container["volumeMounts"] if ca_path.startswith(m["mountPath"] + "/"))
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == "todoflow-kafka-ca"
        assert [item["path"] for item in volume["secret"]["items"]] == [ca_path.rsplit("/", 1)[1]]
    defaults = _pod_specs(_objects(render, "defaults"))
    for name, pod in defaults:
        env = _env(pod["containers"][0])
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "PLAINTEXT", name
        assert "KAFKA_SASL_PASSWORD" not in env and "KAFKA_SSL_CA_LOCATION" not in env, name


def test_kafka_ca_from_a_configmap(render: Render) -> None:
    objects = render((DOKS_VALUES,), (f"image.tag={SHA}", "kafka.caKind=ConfigMap", "kafka.caName=kafka-ca"))
    pod = _find(objects, "Deployment", "todoflow-relay")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "kafka-ca")
    assert volume["configMap"] == {"name": "kafka-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(_find(objects, "Deployment", "todoflow-relay"), version, strict=True)


def test_delivery_mail_is_encrypted_and_its_login_is_secret(render: Render) -> None:
    for scenario in SCENARIOS:
        pod = _find(_objects(render, scenario), "Deployment", "todoflow-delivery")["spec"]["template"]["spec"]
        env = _env(pod["containers"][0])
        assert env["SMTP_SECURITY"]["value"] == "starttls" and env["SMTP_PORT"]["value"] == "587"
        for key in ("SMTP_USERNAME", "SMTP_PASSWORD"):
            assert env[key]["valueFrom"]["secretKeyRef"]["name"] == "todoflow-secrets"
        # Webhooks to private addresses are for the local stack only.
        assert "WEBHOOK_ALLOW_PRIVATE_TARGETS" not in env


def test_statsd_address_from_values(render: Render) -> None:
    objects = render((DOKS_VALUES,), (f"image.tag={SHA}", "statsd.host=statsd.monitoring.svc", "statsd.port=8125"))
    for name, pod in _pod_specs(objects):
        env = _env(pod["containers"][0])
        assert (env["STATSD_HOST"]["value"], env["STATSD_PORT"]["value"]) == ("statsd.monitoring.svc", "8125"), name


def _airflow_env() -> dict[str, str]:
    values = yaml.safe_load((REPO_ROOT / "helm-values" / "airflow.yaml").read_text())
    return {item["name"]: item.get("value") for item in values["env"]}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_job_service_account_is_the_one_the_pod_specs_name(
    render: Render, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TODOFLOW_K8S_NAMESPACE", "TODOFLOW_K8S_SERVICE_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    defaults = PipelineSettings()
    airflow = _airflow_env()
    objects = _objects(render, scenario)
    (account,) = [o for o in objects if o["kind"] == "ServiceAccount"]
    name, namespace = account["metadata"]["name"], account["metadata"]["namespace"]
    assert (name, namespace) == (defaults.service_account, defaults.namespace)
    assert (name, namespace) == (airflow["TODOFLOW_K8S_SERVICE_ACCOUNT"], airflow["TODOFLOW_K8S_NAMESPACE"])
    assert account["automountServiceAccountToken"] is False

    role = _find(objects, "Role", "todoflow-job-launcher")
    binding = _find(objects, "RoleBinding", "todoflow-job-launcher")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == namespace
    rules = {(resource, verb) for r in role["rules"] for resource in r["resources"] for verb in r["verbs"]}
    for verb in ("create", "get", "watch", "delete"):
        assert ("pods", verb) in rules
    assert ("pods/log", "get") in rules
    # Airflow's Celery workers launch the pods: the chart names their ServiceAccount <release>-worker.
    assert {"kind": "ServiceAccount", "name": "airflow-worker", "namespace": "airflow"} in binding["subjects"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    return policy["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()


def _egress_ports(policies: list[dict[str, Any]], labels: dict[str, str]) -> set[tuple[int, str]]:
    return {
        (port["port"], port["protocol"])
        for policy in policies
        if _selects(policy, labels) and "Egress" in policy["spec"]["policyTypes"]
        for rule in policy["spec"].get("egress", [])
        for port in rule["ports"]
    }


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_network_policies_deny_all_but_what_each_component_needs(render: Render, scenario: str) -> None:
    objects = _objects(render, scenario)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy" and "namespace" not in o["metadata"]]
    deny = _find(objects, "NetworkPolicy", "todoflow-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for path in SCENARIOS[scenario]:
        values["networkPolicy"].update(yaml.safe_load(path.read_text())["networkPolicy"])
    np = values["networkPolicy"]
    base = (
        {(53, "UDP"), (53, "TCP"), (9125, "UDP")}
        | {(p, "TCP") for p in np["postgres"]["ports"]}
        | {(p, "TCP") for p in np["kafka"]["ports"]}
    )
    pods = {
        name: next(o for o in objects if o["kind"] in ("Deployment", "Job") and o["metadata"]["name"] == name)
        for name in (
            "todoflow-api",
            "todoflow-relay",
            "todoflow-delivery",
            "todoflow-migrate",
            "todoflow-create-topics",
        )
    }
    for name, workload in pods.items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        expected = base | ({(443, "TCP"), (465, "TCP"), (587, "TCP")} if name == "todoflow-delivery" else set())
        assert _egress_ports(policies, labels) == expected, name
        ingress = [p for p in policies if _selects(p, labels) and p["spec"].get("ingress")]
        if name == "todoflow-api":
            (policy,) = ingress
            (rule,) = policy["spec"]["ingress"]
            assert rule["from"] == [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
            ]
            assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]
        else:
            assert ingress == [], name
    # Webhooks may go anywhere on the internet but never into private ranges (no request forgery inward).
    delivery = _find(objects, "NetworkPolicy", "todoflow-delivery-egress")
    block = delivery["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0" and {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(block["except"])
    # The Airflow job pods get the same egress and no ingress in their own namespace.
    jobs = _find(objects, "NetworkPolicy", "todoflow-jobs")
    assert jobs["metadata"]["namespace"] == "airflow"
    assert jobs["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "todoflow",
        "app.kubernetes.io/component": "job",
    }
    assert jobs["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in jobs["spec"]
    assert _egress_ports([jobs], {**jobs["spec"]["podSelector"]["matchLabels"]}) == base


def test_in_cluster_redpanda_is_reachable_through_its_namespace(render: Render) -> None:
    sets = (f"image.tag={SHA}", "networkPolicy.kafka.namespace=redpanda", "networkPolicy.kafka.ports={9093}")
    objects = render((DOKS_VALUES,), sets)
    egress = _find(objects, "NetworkPolicy", "todoflow-egress")["spec"]["egress"]
    kafka = next(rule for rule in egress if rule["ports"] == [{"port": 9093, "protocol": "TCP"}])
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "redpanda"}}} in kafka["to"]
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(_find(objects, "NetworkPolicy", "todoflow-egress"), version, strict=True)
