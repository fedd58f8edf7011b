"""Pipeline settings, read from the environment when a DAG file is parsed (no I/O beyond os.environ)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

LOCAL = "local"
KUBERNETES = "kubernetes"
MODES = (LOCAL, KUBERNETES)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value.strip() if value not in (None, "") else default


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    value = _env(name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def _env_list(name: str, default: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _env(name, default).split(",") if item.strip())


def _env_bool(name: str) -> bool | None:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return None
    return value in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PipelineSettings:
    """Every knob of the DAGs; each field names its environment variable."""

    # Where job tasks run: "local" (subprocess on the Airflow worker) or "kubernetes" (one pod per task).
    mode: str = field(default_factory=lambda: _env("TODOFLOW_JOB_MODE", LOCAL).lower())

    # Schedules (cron, UTC) and their per-run knobs; a change takes effect at the next DAG parse.
    expansion_schedule: str = field(default_factory=lambda: _env("TODOFLOW_EXPANSION_SCHEDULE", "0 * * * *"))
    expansion_shards: int = field(default_factory=lambda: _env_int("TODOFLOW_EXPANSION_SHARDS", 4))
    expansion_max_per_task: int = field(default_factory=lambda: _env_int("TODOFLOW_EXPANSION_MAX_PER_TASK", 100))
    sweep_schedule: str = field(default_factory=lambda: _env("TODOFLOW_SWEEP_SCHEDULE", "*/15 * * * *"))
    sweep_window: str = field(default_factory=lambda: _env("TODOFLOW_SWEEP_WINDOW", "24h"))
    event_log_schedule: str = field(default_factory=lambda: _env("TODOFLOW_EVENT_LOG_SCHEDULE", "*/2 * * * *"))
    event_log_max_messages: int = field(default_factory=lambda: _env_int("TODOFLOW_EVENT_LOG_MAX_MESSAGES", 500000))
    event_log_max_seconds: int = field(default_factory=lambda: _env_int("TODOFLOW_EVENT_LOG_MAX_SECONDS", 60))
    # The consumer group of write-event-log: the lag probe must look at the same group the job commits.
    event_log_group: str = field(default_factory=lambda: _env("TODOFLOW_EVENT_LOG_GROUP", "todoflow-event-log"))
    kafka_conn_id: str = field(default_factory=lambda: _env("TODOFLOW_KAFKA_CONN_ID", "kafka_default"))
    # The daily full data-quality check (the incremental one follows every expansion run).
    quality_schedule: str = field(default_factory=lambda: _env("TODOFLOW_QUALITY_SCHEDULE", "30 5 * * *"))
    # Bad data does not fix itself: one retry covers a transient error without hiding a failure for long.
    quality_retries: int = field(default_factory=lambda: _env_int("TODOFLOW_QUALITY_RETRIES", 1, minimum=0))

    # Kubernetes mode only.
    image: str = field(default_factory=lambda: _env("TODOFLOW_IMAGE", ""))
    image_pull_policy: str = field(default_factory=lambda: _env("TODOFLOW_IMAGE_PULL_POLICY", "IfNotPresent"))
    namespace: str = field(default_factory=lambda: _env("TODOFLOW_K8S_NAMESPACE", "airflow"))
    service_account: str = field(default_factory=lambda: _env("TODOFLOW_K8S_SERVICE_ACCOUNT", "todoflow-jobs"))
    secret_name: str = field(default_factory=lambda: _env("TODOFLOW_K8S_SECRET", "todoflow-secrets"))
    secret_keys: tuple[str, ...] = field(
        default_factory=lambda: _env_list("TODOFLOW_K8S_SECRET_KEYS", "DATABASE_URL,KAFKA_BOOTSTRAP_SERVERS")
    )
    kubernetes_conn_id: str = field(default_factory=lambda: _env("TODOFLOW_K8S_CONN_ID", "kubernetes_default"))
    # Managed Kafka's CA certificate (key ca.crt of this Secret), mounted into job pods as KAFKA_SSL_CA_LOCATION.
    kafka_ca_secret: str = field(default_factory=lambda: _env("TODOFLOW_K8S_KAFKA_CA_SECRET", ""))
    # None lets the provider pick: in-cluster credentials when running in a pod, else KUBECONFIG.
    in_cluster: bool | None = field(default_factory=lambda: _env_bool("TODOFLOW_K8S_IN_CLUSTER"))
    statsd_host: str = field(
        default_factory=lambda: _env("TODOFLOW_JOB_STATSD_HOST", "airflow-statsd.airflow.svc.cluster.local")
    )
    statsd_port: str = field(default_factory=lambda: _env("TODOFLOW_JOB_STATSD_PORT", "9125"))

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"TODOFLOW_JOB_MODE must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode == KUBERNETES and not self.image:
            raise ValueError("TODOFLOW_IMAGE must name the application image when TODOFLOW_JOB_MODE=kubernetes")


def get_settings() -> PipelineSettings:
    """The settings as the environment says now."""
    return PipelineSettings()
