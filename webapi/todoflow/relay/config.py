"""The relay's settings, read from the environment (names listed in README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from todoflow.core.kafka import client_config
from todoflow.core.settings import get_settings

# 'todoflow' as a 64-bit number: the advisory lock that makes exactly one relay active.
DEFAULT_LOCK_KEY = int.from_bytes(b"todoflow", "big") & 0x7FFF_FFFF_FFFF_FFFF


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not value >= 0:
        raise ValueError(f"{name} must not be negative")
    return value


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


@dataclass(frozen=True)
class RelayConfig:
    """Every knob of the relay, with defaults that suit the local stack and production alike."""

    database_url: str = field(default_factory=lambda: get_settings().database_url)
    kafka_bootstrap_servers: str = field(default_factory=lambda: get_settings().kafka_bootstrap_servers)
    batch_size: int = field(default_factory=lambda: _env_int("RELAY_BATCH_SIZE", 2000))
    poll_interval: float = field(default_factory=lambda: _env_float("RELAY_POLL_INTERVAL_SECONDS", 1.0))
    backoff_initial: float = field(default_factory=lambda: _env_float("RELAY_BACKOFF_INITIAL_SECONDS", 0.5))
    backoff_max: float = field(default_factory=lambda: _env_float("RELAY_BACKOFF_MAX_SECONDS", 30.0))
    message_timeout_ms: int = field(default_factory=lambda: _env_int("RELAY_MESSAGE_TIMEOUT_MS", 30_000))
    lock_key: int = field(default_factory=lambda: _env_int("RELAY_LOCK_KEY", DEFAULT_LOCK_KEY))
    standby_poll: float = field(default_factory=lambda: _env_float("RELAY_STANDBY_POLL_SECONDS", 1.0))
    metrics_interval: float = field(default_factory=lambda: _env_float("RELAY_METRICS_INTERVAL_SECONDS", 5.0))
    retention_hours: float = field(default_factory=lambda: _env_float("OUTBOX_RETENTION_HOURS", 72.0))
    purge_interval: float = field(default_factory=lambda: _env_float("RELAY_PURGE_INTERVAL_SECONDS", 60.0))
    purge_batch_size: int = field(default_factory=lambda: _env_int("RELAY_PURGE_BATCH_SIZE", 5000))
    shutdown_grace: float = field(default_factory=lambda: _env_float("RELAY_SHUTDOWN_GRACE_SECONDS", 10.0))
    # Security settings of every Kafka client (core/kafka.py), checked here so bad ones stop the relay at start.
    kafka_client: dict[str, Any] = field(default_factory=lambda: client_config(), repr=False)

    def __post_init__(self) -> None:
        for name in ("batch_size", "purge_batch_size", "message_timeout_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("poll_interval", "standby_poll", "backoff_initial"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    def producer_config(self) -> dict[str, Any]:
        """librdkafka settings: idempotent, every replica acknowledges, bounded delivery time."""
        return {
            **self.kafka_client,
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "client.id": "todoflow-relay",
            "enable.idempotence": True,
            "acks": "all",
            # A message not acknowledged within this time is reported failed and stays unpublished.
            "message.timeout.ms": self.message_timeout_ms,
            "linger.ms": 5,
            "compression.type": "lz4",
            "queue.buffering.max.messages": max(100_000, 2 * self.batch_size),
            "reconnect.backoff.ms": 100,
            "reconnect.backoff.max.ms": 2000,
        }
