"""Kubernetes mode over managed Kafka: job pods get the SASL settings from the Secret and the CA as a file."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.dags.support import KUBERNETES_VERSION, load_dag, pod_spec, render_task

KAFKA_KEYS = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
)


def test_event_log_pod_reads_sasl_settings_from_the_secret_and_the_ca_from_a_mounted_file(
    kubernetes_mode: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TODOFLOW_K8S_SECRET_KEYS", ",".join(KAFKA_KEYS))
    monkeypatch.setenv("TODOFLOW_K8S_KAFKA_CA_SECRET", "managed-kafka-ca")
    operator, context = render_task(load_dag("event_log"), "write_event_log")
    pod = pod_spec(operator, context)
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)

    (container,) = pod["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    for key in KAFKA_KEYS:
        assert env[key] == {"name": key, "valueFrom": {"secretKeyRef": {"name": "todoflow-secrets", "key": key}}}
    assert env["KAFKA_SSL_CA_LOCATION"]["value"] == "/etc/todoflow/kafka-ca/ca.crt"
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    assert mounts["kafka-ca"] == {"name": "kafka-ca", "mountPath": "/etc/todoflow/kafka-ca", "readOnly": True}
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert volumes["kafka-ca"]["secret"] == {
        "secretName": "managed-kafka-ca",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
        "defaultMode": 0o444,
    }
    assert "tmp" in volumes and "tmp" in mounts  # the scratch /tmp stays


def test_without_a_ca_secret_pods_mount_no_ca(kubernetes_mode: dict[str, str]) -> None:
    operator, context = render_task(load_dag("event_log"), "write_event_log")
    pod = pod_spec(operator, context)
    (container,) = pod["spec"]["containers"]
    assert "KAFKA_SSL_CA_LOCATION" not in {item["name"] for item in container["env"]}
    assert [volume["name"] for volume in pod["spec"]["volumes"]] == ["tmp"]
