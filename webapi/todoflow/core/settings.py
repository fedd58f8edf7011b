"""Runtime settings, read from the environment only (secrets never live in the repo)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# The repository root, used only to find the local dev stack's state under .dev/.
REPO_ROOT = Path(__file__).resolve().parents[3]
DEV_DIR = Path(os.environ.get("TODOFLOW_DEV_DIR", REPO_ROOT / ".dev"))

# The local stack's ports; the test suite moves them (tests/conftest.py) so it never touches a running stack.
LOCAL_PG_PORT = int(os.environ.get("TODOFLOW_PG_PORT") or 55432)
LOCAL_KAFKA_PORT = int(os.environ.get("TODOFLOW_KAFKA_PORT") or 59092)
LOCAL_DATABASE_URL = f"postgresql://todoflow@127.0.0.1:{LOCAL_PG_PORT}/todoflow"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


@dataclass(frozen=True)
class Settings:
    """Every knob of the application, with local-stack defaults."""

    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", LOCAL_DATABASE_URL))
    kafka_bootstrap_servers: str = field(
        default_factory=lambda: _env("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{LOCAL_KAFKA_PORT}")
    )
    kafka_topic_partitions: int = field(default_factory=lambda: _env_int("KAFKA_TOPIC_PARTITIONS", 6))
    kafka_replication_factor: int = field(default_factory=lambda: _env_int("KAFKA_REPLICATION_FACTOR", 1))
    kafka_retention_ms: int = field(default_factory=lambda: _env_int("KAFKA_RETENTION_MS", 7 * 24 * 3600 * 1000))
    statsd_host: str = field(default_factory=lambda: _env("STATSD_HOST", "127.0.0.1"))
    statsd_port: int = field(default_factory=lambda: _env_int("STATSD_PORT", 8125))
    statsd_prefix: str = field(default_factory=lambda: _env("STATSD_PREFIX", "todoflow"))
    db_pool_size: int = field(default_factory=lambda: _env_int("DB_POOL_SIZE", 5))
    # Kafka security (managed Kafka: SASL_SSL + SCRAM); checked and turned into client settings by core/kafka.py.
    kafka_security_protocol: str = field(default_factory=lambda: _env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"))
    kafka_sasl_mechanism: str = field(default_factory=lambda: _env("KAFKA_SASL_MECHANISM", ""))
    kafka_sasl_username: str = field(default_factory=lambda: _env("KAFKA_SASL_USERNAME", ""))
    kafka_sasl_password: str = field(default_factory=lambda: _env("KAFKA_SASL_PASSWORD", ""), repr=False)
    kafka_ssl_ca_location: str = field(default_factory=lambda: _env("KAFKA_SSL_CA_LOCATION", ""))


def get_settings() -> Settings:
    """Settings as the environment says now."""
    return Settings()


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form of a libpq URL: always the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for psycopg and command-line tools."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
