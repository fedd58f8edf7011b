"""Every environment variable todoflow reads, defined once: name, type, default, bounds and meaning, by component.

Each component reads its group (a frozen dataclass whose fields read the environment when it is built) and
nothing else reads `os.environ`. A missing or wrong value raises `SettingsError`, whose message names the
variable and what is wrong with its value, when the group is built: at the start of the command that needs it.
README's configuration tables list exactly these variables with these defaults (tests/test_settings.py).
Standard library only: DAG files build `PipelineSettings` at every parse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

# The repository root, used only to find the local dev stack's state under .dev/.
REPO_ROOT = Path(__file__).resolve().parents[3]

VAR = "todoflow.setting"
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A setting is missing or has a wrong value; the message names the variable and what is wrong."""


@dataclass(frozen=True)
class Var:
    """One environment variable: how to read it, its default, its bounds and what it means."""

    name: str
    kind: type  # str, int, float, bool, timedelta (whole seconds), tuple (comma-separated), Path
    default: Any  # a value, or a function of nothing for a default that depends on another setting
    meaning: str
    minimum: float | None = None
    above: float | None = None  # an exclusive lower bound
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    min_length: int = 0
    secret: bool = False
    shown: str | None = None  # the default as README shows it, when the value itself would not say it

    def read(self) -> Any:
        """The variable's value from the environment (unset or blank: the default), parsed but not yet checked."""
        raw = os.environ.get(self.name)
        if raw is None or not raw.strip():
            return self.default() if callable(self.default) else self.default
        return self.parse(raw if self.secret else raw.strip())

    def parse(self, raw: str) -> Any:
        """The raw value as this variable's type; SettingsError if it is not one."""
        try:
            if self.kind is bool:
                if raw.lower() not in TRUE + FALSE:
                    raise ValueError(raw)
                return raw.lower() in TRUE
            if self.kind is timedelta:
                return timedelta(seconds=int(raw))
            if self.kind is tuple:
                return tuple(item.strip() for item in raw.split(",") if item.strip())
            if self.kind is str and self.choices:
                return raw.lower()
            return self.kind(raw)
        except ValueError:
            raise SettingsError(f"{self.name} must be {self.expected()}, not {raw!r}") from None

    def check(self, value: Any) -> None:
        """SettingsError unless value is within this variable's bounds."""
        if value is None:
            return
        if self.min_length and len(value) < self.min_length:
            if not value:
                raise SettingsError(f"{self.name} must be set to {self.expected()}")
            # Never the value itself: it is a secret.
            raise SettingsError(f"{self.name} must be {self.expected()}; it has {len(value)}")
        number = value.total_seconds() if isinstance(value, timedelta) else value
        if (
            (self.choices and value not in self.choices)
            or (self.minimum is not None and number < self.minimum)
            or (self.above is not None and not number > self.above)
            or (self.maximum is not None and number > self.maximum)
        ):
            shown = int(number) if isinstance(value, timedelta) else value
            raise SettingsError(f"{self.name} must be {self.expected()}, not {shown!r}")

    def expected(self) -> str:
        """What a valid value is, in words ("a whole number >= 1")."""
        if self.min_length:
            return f"a secret of at least {self.min_length} characters"
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        if self.kind is bool:
            return "true or false (1/0, yes/no, on/off)"
        nouns = {int: "a whole number", float: "a number", timedelta: "a whole number of seconds"}
        if self.kind not in nouns:
            return "text"
        if self.minimum is not None and self.maximum is not None:
            return f"{nouns[self.kind]} from {self.minimum:g} to {self.maximum:g}"
        bounds = ((">=", self.minimum), (">", self.above), ("<=", self.maximum))
        return " ".join([nouns[self.kind], *(f"{op} {limit:g}" for op, limit in bounds if limit is not None)])

    def default_text(self) -> str:
        """The default as README's tables show it: `value` in backticks, or a phrase starting with "none"."""
        if self.shown is not None:
            return self.shown
        value = self.default
        if value is None or value == "" or value == ():
            return "none"
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, timedelta):
            value = int(value.total_seconds())
        elif isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, float):
            value = f"{value:g}"
        return f"`{value}`"


def setting(name: str, kind: type, default: Any, meaning: str, **bounds: Any) -> Any:
    """A dataclass field read from the environment variable name when its group is built."""
    var = Var(name, kind, default, meaning, **bounds)
    return field(default_factory=var.read, repr=not var.secret, metadata={VAR: var})


class Group:
    """A component's settings: a frozen dataclass of `setting` fields, each checked against its bounds when built."""

    def __post_init__(self) -> None:
        for var, value in self.values():
            var.check(value)

    def values(self) -> Iterator[tuple[Var, Any]]:
        """Each variable of this group with its value here."""
        for item in fields(self):  # type: ignore[arg-type]
            if VAR in item.metadata:
                yield item.metadata[VAR], getattr(self, item.name)


def variables(group: type) -> list[Var]:
    """The variables a group class defines, in order."""
    return [item.metadata[VAR] for item in fields(group) if VAR in item.metadata]


def _port(name: str, default: int, meaning: str) -> Any:
    return setting(name, int, default, meaning, minimum=1, maximum=65535)


@dataclass(frozen=True)
class DevSettings(Group):
    """The local stack's state and ports; the test suite moves them (tests/conftest.py) off a running stack."""

    dev_dir: Path = setting(
        "TODOFLOW_DEV_DIR", Path, REPO_ROOT / ".dev", "where the local stack keeps data and logs", shown="`.dev`"
    )
    pg_port: int = _port("TODOFLOW_PG_PORT", 55432, "the local stack's PostgreSQL port")
    kafka_port: int = _port("TODOFLOW_KAFKA_PORT", 59092, "the local stack's Kafka port")


_DEV = DevSettings()
DEV_DIR = _DEV.dev_dir
LOCAL_PG_PORT = _DEV.pg_port
LOCAL_KAFKA_PORT = _DEV.kafka_port
LOCAL_DATABASE_URL = f"postgresql://todoflow@127.0.0.1:{LOCAL_PG_PORT}/todoflow"


@dataclass(frozen=True)
class Settings(Group):
    """What every process shares: the database, Kafka and metrics."""

    database_url: str = setting(
        "DATABASE_URL",
        str,
        lambda: LOCAL_DATABASE_URL,
        "the application database",
        shown="`postgresql://todoflow@127.0.0.1:55432/todoflow`",
    )
    kafka_bootstrap_servers: str = setting(
        "KAFKA_BOOTSTRAP_SERVERS",
        str,
        lambda: f"127.0.0.1:{LOCAL_KAFKA_PORT}",
        "Kafka brokers",
        shown="`127.0.0.1:59092`",
    )
    kafka_topic_partitions: int = setting("KAFKA_TOPIC_PARTITIONS", int, 6, "partitions per topic", minimum=1)
    kafka_replication_factor: int = setting("KAFKA_REPLICATION_FACTOR", int, 1, "replicas per topic", minimum=1)
    kafka_retention_ms: int = setting(
        "KAFKA_RETENTION_MS", int, 7 * 24 * 3600 * 1000, "topic retention (7 days)", minimum=1
    )
    statsd_host: str = setting("STATSD_HOST", str, "127.0.0.1", "where metrics go")
    statsd_port: int = _port("STATSD_PORT", 8125, "StatsD's UDP port")
    statsd_prefix: str = setting("STATSD_PREFIX", str, "todoflow", "prefix of every metric name")
    db_pool_size: int = setting(
        "DB_POOL_SIZE",
        int,
        5,
        "SQLAlchemy pool size per pool and process (the API keeps two: transactions, autocommit reads)",
        minimum=1,
    )
    # Kafka security (managed Kafka: SASL_SSL + SCRAM); checked together and made client settings by core/kafka.py.
    kafka_security_protocol: str = setting(
        "KAFKA_SECURITY_PROTOCOL", str, "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_mechanism: str = setting(
        "KAFKA_SASL_MECHANISM",
        str,
        "",
        "SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN",
        shown="none (`SCRAM-SHA-256` with a `SASL_*` protocol)",
    )
    kafka_sasl_username: str = setting("KAFKA_SASL_USERNAME", str, "", "the SASL login's user")
    kafka_sasl_password: str = setting("KAFKA_SASL_PASSWORD", str, "", "the SASL login's password", secret=True)
    kafka_ssl_ca_location: str = setting("KAFKA_SSL_CA_LOCATION", str, "", "PEM file of the brokers' CA")


def get_settings() -> Settings:
    """The shared settings as the environment says now."""
    return Settings()


def _seconds(name: str, default: int, meaning: str) -> Any:
    return setting(name, timedelta, timedelta(seconds=default), meaning, above=0)


def _count(name: str, default: int, meaning: str) -> Any:
    return setting(name, int, default, meaning, minimum=1)


@dataclass(frozen=True)
class ApiSettings(Group):
    """The REST API's knobs; each field's variable is also its Flask configuration key (api/config.py)."""

    jwt_secret_key: str = setting(
        "JWT_SECRET_KEY",
        str,
        "",
        "HS256 signing secret",
        # RFC 7518 3.2: an HS256 key at least as long as the hash (256 bits).
        min_length=32,
        secret=True,
        shown="none: the API refuses to start without one (≥ 32 chars)",
    )
    jwt_access_token_expires: timedelta = _seconds("JWT_ACCESS_TOKEN_EXPIRES", 15 * 60, "access-token lifetime")
    jwt_refresh_token_expires: timedelta = _seconds(
        "JWT_REFRESH_TOKEN_EXPIRES", 30 * 24 * 3600, "refresh-token (login session) lifetime"
    )
    login_max_failures: int = setting(
        "LOGIN_MAX_FAILURES", int, 5, "free failed logins per (email, address) in the window", minimum=0
    )
    login_failure_window: timedelta = _seconds("LOGIN_FAILURE_WINDOW", 15 * 60, "window failed logins count in")
    login_delay_base: timedelta = _seconds("LOGIN_DELAY_BASE", 1, "first delay after the free failures")
    login_delay_max: timedelta = _seconds("LOGIN_DELAY_MAX", 60, "longest delay between failed logins")
    login_max_failures_per_email: int = _count("LOGIN_MAX_FAILURES_PER_EMAIL", 50, "failures per email in the window")
    login_max_failures_per_address: int = _count(
        "LOGIN_MAX_FAILURES_PER_ADDRESS", 100, "failures per client address in the window"
    )
    password_hash_concurrency: int = _count("PASSWORD_HASH_CONCURRENCY", 1, "argon2 hashes at once per process")
    quota_open_tasks: int = _count("QUOTA_OPEN_TASKS", 10_000, "open tasks per user")
    quota_active_series: int = _count("QUOTA_ACTIVE_SERIES", 200, "active recurring tasks per user")
    write_rate_per_second: int = _count("WRITE_RATE_PER_SECOND", 10, "refill rate of a user's write bucket")
    write_burst: int = _count("WRITE_BURST", 50, "size of a user's write bucket")
    trusted_proxies: int = setting(
        "TRUSTED_PROXIES", int, 0, "proxies that append to X-Forwarded-For (1 behind the ingress)", minimum=0
    )


@dataclass(frozen=True)
class ServeSettings(Group):
    """`todoflow serve-api`'s defaults (its options override them)."""

    bind: str = setting("API_BIND", str, "127.0.0.1:8000", "host:port to listen on")
    # None: one process per core plus one, so a worker waiting on PostgreSQL does not idle a core.
    workers: int | None = setting(
        "WEB_CONCURRENCY", int, None, "gunicorn worker processes", minimum=1, shown="cores + 1"
    )
    threads: int = _count("API_THREADS", 2, "threads per worker")


@dataclass(frozen=True)
class WebhookSettings(Group):
    """What webhooks may reach: the API checks it when a webhook is saved, the delivery service when it sends."""

    allow_private_targets: bool = setting(
        "WEBHOOK_ALLOW_PRIVATE_TARGETS", bool, False, "let webhooks use http:// and private addresses"
    )


# 'todoflow' as a 64-bit number: the advisory lock that makes exactly one relay active.
DEFAULT_LOCK_KEY = int.from_bytes(b"todoflow", "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class RelaySettings(Group):
    """`todoflow relay`'s knobs, with defaults that suit the local stack and production alike."""

    database_url: str = field(default_factory=lambda: get_settings().database_url)
    kafka_bootstrap_servers: str = field(default_factory=lambda: get_settings().kafka_bootstrap_servers)
    batch_size: int = _count("RELAY_BATCH_SIZE", 2000, "outbox rows per Kafka batch")
    poll_interval: float = setting("RELAY_POLL_INTERVAL_SECONDS", float, 1.0, "read interval without NOTIFY", above=0)
    backoff_initial: float = setting("RELAY_BACKOFF_INITIAL_SECONDS", float, 0.5, "first retry delay", above=0)
    backoff_max: float = setting("RELAY_BACKOFF_MAX_SECONDS", float, 30.0, "longest retry delay", minimum=0)
    message_timeout_ms: int = _count("RELAY_MESSAGE_TIMEOUT_MS", 30_000, "unacknowledged this long fails the batch")
    lock_key: int = setting("RELAY_LOCK_KEY", int, DEFAULT_LOCK_KEY, "advisory lock key", minimum=0)
    standby_poll: float = setting(
        "RELAY_STANDBY_POLL_SECONDS", float, 1.0, "how often a standby tries the lock", above=0
    )
    metrics_interval: float = setting("RELAY_METRICS_INTERVAL_SECONDS", float, 5.0, "lag gauge interval", minimum=0)
    retention_hours: float = setting(
        "OUTBOX_RETENTION_HOURS", float, 72.0, "published outbox rows are kept this long", minimum=0
    )
    purge_interval: float = setting("RELAY_PURGE_INTERVAL_SECONDS", float, 60.0, "purge cadence", minimum=0)
    purge_batch_size: int = _count("RELAY_PURGE_BATCH_SIZE", 5000, "rows per purge statement")
    shutdown_grace: float = setting(
        "RELAY_SHUTDOWN_GRACE_SECONDS", float, 10.0, "time SIGTERM gives the current batch", minimum=0
    )
    instance: str = setting("RELAY_INSTANCE", str, "", "this relay's name in metrics", shown="none: the host name")


SMTP_SECURITY_MODES = ("none", "starttls", "tls")


def _positive(name: str, default: float, meaning: str) -> Any:
    return setting(name, float, default, meaning, above=0)


@dataclass(frozen=True)
class SmtpSettings(Group):
    """Where reminder emails go."""

    host: str = setting("SMTP_HOST", str, "127.0.0.1", "the SMTP server for reminder emails")
    port: int = _port("SMTP_PORT", 1025, "its port")
    security: str = setting(
        "SMTP_SECURITY", str, "none", "none, starttls or tls (implicit TLS)", choices=SMTP_SECURITY_MODES
    )
    username: str = setting("SMTP_USERNAME", str, "", "SMTP login (only when set)")
    password: str = setting("SMTP_PASSWORD", str, "", "SMTP password", secret=True)
    from_address: str = setting("SMTP_FROM", str, "todoflow <reminders@todoflow.localhost>", "sender of reminders")
    timeout: float = _positive("SMTP_TIMEOUT_SECONDS", 10.0, "SMTP timeout")


@dataclass(frozen=True)
class DeliverySettings(Group):
    """`todoflow deliver`'s knobs."""

    database_url: str = field(default_factory=lambda: get_settings().database_url)
    kafka_bootstrap_servers: str = field(default_factory=lambda: get_settings().kafka_bootstrap_servers)
    group_id: str = setting("DELIVERY_GROUP", str, "todoflow-delivery", "Kafka consumer group of all replicas")
    workers: int = _count("DELIVERY_WORKERS", 8, "worker threads per process")
    claim_batch: int = _count("DELIVERY_CLAIM_BATCH", 10, "deliveries each worker claims and sends at once")
    timeout: float = _positive("DELIVERY_TIMEOUT_SECONDS", 10.0, "time a receiver has to answer")
    retry_base: float = _positive("DELIVERY_RETRY_BASE_SECONDS", 10.0, "first retry delay")
    retry_max: float = _positive("DELIVERY_RETRY_MAX_SECONDS", 3600.0, "longest delay between attempts")
    max_age: float = _positive("DELIVERY_MAX_AGE_SECONDS", 24 * 3600.0, "retry window from creation")
    max_consecutive_failures: int = _count(
        "DELIVERY_MAX_CONSECUTIVE_FAILURES", 20, "failures in a row that deactivate a webhook"
    )
    poll_interval: float = _positive("DELIVERY_POLL_INTERVAL_SECONDS", 1.0, "how often idle workers look for retries")
    metrics_interval: float = _positive("DELIVERY_METRICS_INTERVAL_SECONDS", 10.0, "backlog gauges period")
    consumer_batch: int = _count("DELIVERY_CONSUMER_BATCH", 500, "most events per consumer transaction")
    kafka_session_timeout_ms: int | None = setting(
        "DELIVERY_KAFKA_SESSION_TIMEOUT_MS",
        int,
        None,
        "consumer session timeout",
        minimum=1,
        shown="none: librdkafka's (45000)",
    )
    allow_private_targets: bool = field(default_factory=lambda: WebhookSettings().allow_private_targets)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)


LOCAL = "local"
KUBERNETES = "kubernetes"
MODES = (LOCAL, KUBERNETES)


@dataclass(frozen=True)
class PipelineSettings(Group):
    """The DAGs' knobs, read when a DAG file is parsed; a change takes effect at the next parse."""

    mode: str = setting("TODOFLOW_JOB_MODE", str, LOCAL, "where job tasks run", choices=MODES)
    # Schedules (cron, UTC) and their per-run knobs.
    expansion_schedule: str = setting("TODOFLOW_EXPANSION_SCHEDULE", str, "0 * * * *", "expansion cron")
    expansion_shards: int = _count("TODOFLOW_EXPANSION_SHARDS", 4, "expansion shards")
    expansion_max_per_task: int = _count("TODOFLOW_EXPANSION_MAX_PER_TASK", 100, "occurrences per series per run")
    sweep_schedule: str = setting("TODOFLOW_SWEEP_SCHEDULE", str, "*/15 * * * *", "due-date sweep cron")
    sweep_window: str = setting("TODOFLOW_SWEEP_WINDOW", str, "24h", "the sweep's look-ahead")
    event_log_schedule: str = setting("TODOFLOW_EVENT_LOG_SCHEDULE", str, "*/2 * * * *", "event-log cron")
    event_log_max_messages: int = _count("TODOFLOW_EVENT_LOG_MAX_MESSAGES", 500000, "messages per event-log run")
    event_log_max_seconds: int = _count("TODOFLOW_EVENT_LOG_MAX_SECONDS", 60, "seconds per event-log run")
    # The consumer group of write-event-log: the lag probe must look at the same group the job commits.
    event_log_group: str = setting(
        "TODOFLOW_EVENT_LOG_GROUP", str, "todoflow-event-log", "the event-log writer's consumer group"
    )
    kafka_conn_id: str = setting("TODOFLOW_KAFKA_CONN_ID", str, "kafka_default", "Airflow connection of the lag probe")
    # The daily full data-quality check (the incremental one follows every expansion run).
    quality_schedule: str = setting("TODOFLOW_QUALITY_SCHEDULE", str, "30 5 * * *", "daily full quality check cron")
    # Bad data does not fix itself: one retry covers a transient error without hiding a failure for long.
    quality_retries: int = setting("TODOFLOW_QUALITY_RETRIES", int, 1, "retries of the quality check", minimum=0)

    # Kubernetes mode only.
    image: str = setting("TODOFLOW_IMAGE", str, "", "the application image", shown="none (required in kubernetes mode)")
    image_pull_policy: str = setting("TODOFLOW_IMAGE_PULL_POLICY", str, "IfNotPresent", "its pull policy")
    namespace: str = setting("TODOFLOW_K8S_NAMESPACE", str, "airflow", "namespace of job pods")
    service_account: str = setting("TODOFLOW_K8S_SERVICE_ACCOUNT", str, "todoflow-jobs", "job pods' service account")
    secret_name: str = setting("TODOFLOW_K8S_SECRET", str, "todoflow-secrets", "Secret holding job pods' environment")
    secret_keys: tuple[str, ...] = setting(
        "TODOFLOW_K8S_SECRET_KEYS",
        tuple,
        ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"),
        "its keys that become job pods' environment",
    )
    kubernetes_conn_id: str = setting(
        "TODOFLOW_K8S_CONN_ID", str, "kubernetes_default", "Airflow connection to the cluster"
    )
    # Managed Kafka's CA certificate (key ca.crt of this Secret), mounted into job pods as KAFKA_SSL_CA_LOCATION.
    kafka_ca_secret: str = setting("TODOFLOW_K8S_KAFKA_CA_SECRET", str, "", "Secret holding managed Kafka's CA")
    # None lets the provider pick: in-cluster credentials when running in a pod, else KUBECONFIG.
    in_cluster: bool | None = setting(
        "TODOFLOW_K8S_IN_CLUSTER", bool, None, "use in-cluster credentials", shown="none: the provider decides"
    )
    statsd_host: str = setting(
        "TODOFLOW_JOB_STATSD_HOST", str, "airflow-statsd.airflow.svc.cluster.local", "where job pods send metrics"
    )
    statsd_port: int = _port("TODOFLOW_JOB_STATSD_PORT", 9125, "its port")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode == KUBERNETES and not self.image:
            raise SettingsError("TODOFLOW_IMAGE must name the application image when TODOFLOW_JOB_MODE=kubernetes")


# Every group, by the component that reads it (README's tables follow the same grouping).
GROUPS: dict[str, type[Group]] = {
    "local stack": DevSettings,
    "core": Settings,
    "api": ApiSettings,
    "api server": ServeSettings,
    "webhooks": WebhookSettings,
    "relay": RelaySettings,
    "delivery": DeliverySettings,
    "email": SmtpSettings,
    "pipeline": PipelineSettings,
}


def all_variables() -> list[Var]:
    """Every variable of every group."""
    return [var for group in GROUPS.values() for var in variables(group)]


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form of a libpq URL: always the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for psycopg and command-line tools."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
