"""The operator factory: a JobSpec becomes a KubernetesPodOperator or a LocalJobOperator, as the mode says."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from todoflow.core.settings import KUBERNETES, PipelineSettings
from todoflow.pipeline.jobs import JobSpec

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

# Plain (non-secret) environment of every job process, in both modes.
BASE_ENV = {"PYTHONUNBUFFERED": "1"}
# Where job pods find managed Kafka's CA certificate when TODOFLOW_K8S_KAFKA_CA_SECRET names its Secret.
KAFKA_CA_DIR = "/etc/todoflow/kafka-ca"
KAFKA_CA_KEY = "ca.crt"


def task_id_for(spec: JobSpec) -> str:
    """The Airflow task id of a job (its name with underscores)."""
    return spec.name.replace("-", "_")


def _kubernetes(spec: JobSpec, settings: PipelineSettings) -> tuple[type[BaseOperator], dict[str, Any]]:
    # Imported only in Kubernetes mode: the provider and the kubernetes client take seconds to import.
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.secret import Secret
    from kubernetes.client import models as k8s

    timeout_seconds = int(spec.execution_timeout.total_seconds())
    kwargs: dict[str, Any] = {
        "name": f"todoflow-{spec.name}",
        "namespace": settings.namespace,
        "image": settings.image,
        "image_pull_policy": settings.image_pull_policy,
        "cmds": list(spec.command),
        "env_vars": {
            **BASE_ENV,
            "STATSD_HOST": settings.statsd_host,
            "STATSD_PORT": str(settings.statsd_port),
        },
        # One env var per key (not envFrom) so a missing key fails the pod at start, by name.
        "secrets": [Secret("env", key, settings.secret_name, key) for key in settings.secret_keys],
        "container_resources": k8s.V1ResourceRequirements(
            requests=spec.resources.requests(), limits=spec.resources.limits()
        ),
        "labels": spec.pod_labels(),
        "service_account_name": settings.service_account,
        # Jobs never call the Kubernetes API: no token in the pod.
        "automount_service_account_token": False,
        "kubernetes_conn_id": settings.kubernetes_conn_id,
        "in_cluster": settings.in_cluster,
        "on_finish_action": "delete_pod",
        "get_logs": True,
        "log_events_on_failure": True,
        # The pod cannot outlive the task's execution_timeout, even if the worker that watches it dies.
        "active_deadline_seconds": timeout_seconds,
        "security_context": k8s.V1PodSecurityContext(
            run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
        ),
        "container_security_context": k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        # The root filesystem is read-only; Python and librdkafka may still want a scratch /tmp.
        "volumes": [k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="64Mi"))],
        "volume_mounts": [k8s.V1VolumeMount(name="tmp", mount_path="/tmp")],  # noqa: S108 - an emptyDir
    }
    if settings.kafka_ca_secret:
        _mount_kafka_ca(kwargs, settings.kafka_ca_secret)
    return KubernetesPodOperator, kwargs


def _mount_kafka_ca(kwargs: dict[str, Any], secret_name: str) -> None:
    """Mount the Secret's ca.crt read-only and point KAFKA_SSL_CA_LOCATION at it (core/kafka.py reads it)."""
    from kubernetes.client import models as k8s

    kwargs["volumes"].append(
        k8s.V1Volume(
            name="kafka-ca",
            secret=k8s.V1SecretVolumeSource(
                secret_name=secret_name,
                items=[k8s.V1KeyToPath(key=KAFKA_CA_KEY, path=KAFKA_CA_KEY)],
                default_mode=0o444,
            ),
        )
    )
    kwargs["volume_mounts"].append(k8s.V1VolumeMount(name="kafka-ca", mount_path=KAFKA_CA_DIR, read_only=True))
    kwargs["env_vars"]["KAFKA_SSL_CA_LOCATION"] = f"{KAFKA_CA_DIR}/{KAFKA_CA_KEY}"


def _local(spec: JobSpec) -> tuple[type[BaseOperator], dict[str, Any]]:
    from todoflow.pipeline.local import LocalJobOperator

    return LocalJobOperator, {"command": list(spec.command), "env_vars": dict(BASE_ENV)}


def operator_for(spec: JobSpec, settings: PipelineSettings | None = None) -> tuple[type[BaseOperator], dict[str, Any]]:
    """The operator class and its keyword arguments (all but task_id and arguments) for spec."""
    settings = settings or PipelineSettings()
    cls, kwargs = _kubernetes(spec, settings) if settings.mode == KUBERNETES else _local(spec)
    kwargs["execution_timeout"] = spec.execution_timeout
    return cls, kwargs


def job_task(spec: JobSpec, *, task_id: str | None = None, arguments: Sequence[str] | None = None, **extra: Any) -> Any:
    """One task running spec (its own arguments unless given)."""
    cls, kwargs = operator_for(spec)
    return cls(task_id=task_id or task_id_for(spec), arguments=list(arguments or spec.argv()), **kwargs, **extra)


def mapped_job_task(
    spec: JobSpec, argument_lists: Sequence[Sequence[str]], *, task_id: str | None = None, **extra: Any
) -> Any:
    """One mapped task running spec once per argument list (dynamic task mapping); templates still render."""
    cls, kwargs = operator_for(spec)
    return cls.partial(task_id=task_id or task_id_for(spec), **kwargs, **extra).expand(
        arguments=[list(arguments) for arguments in argument_lists]
    )
