"""The delivery service's settings, read from the environment (names listed in README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from todoflow.core.settings import get_settings

SMTP_SECURITY_MODES = ("none", "starttls", "tls")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be positive")
    return value


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1")
    return value


def env_flag(name: str, default: bool = False) -> bool:
    """A boolean setting: 1/true/yes/on (any case) are true."""
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def allow_private_targets() -> bool:
    """WEBHOOK_ALLOW_PRIVATE_TARGETS: let webhooks reach http:// and loopback/private addresses (local stack, tests)."""
    return env_flag("WEBHOOK_ALLOW_PRIVATE_TARGETS")


@dataclass(frozen=True)
class SmtpConfig:
    """Where reminder emails go."""

    host: str = field(default_factory=lambda: _env("SMTP_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env_int("SMTP_PORT", 1025))
    security: str = field(default_factory=lambda: _env("SMTP_SECURITY", "none").lower())
    username: str = field(default_factory=lambda: _env("SMTP_USERNAME", ""))
    password: str = field(default_factory=lambda: _env("SMTP_PASSWORD", ""))
    from_address: str = field(default_factory=lambda: _env("SMTP_FROM", "todoflow <reminders@todoflow.localhost>"))
    timeout: float = field(default_factory=lambda: _env_float("SMTP_TIMEOUT_SECONDS", 10.0))

    def __post_init__(self) -> None:
        if self.security not in SMTP_SECURITY_MODES:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_MODES)}, not {self.security!r}")


@dataclass(frozen=True)
class DeliveryConfig:
    """Every knob of `todoflow deliver`."""

    database_url: str = field(default_factory=lambda: get_settings().database_url)
    kafka_bootstrap_servers: str = field(default_factory=lambda: get_settings().kafka_bootstrap_servers)
    group_id: str = field(default_factory=lambda: _env("DELIVERY_GROUP", "todoflow-delivery"))
    workers: int = field(default_factory=lambda: _env_int("DELIVERY_WORKERS", 8))
    claim_batch: int = field(default_factory=lambda: _env_int("DELIVERY_CLAIM_BATCH", 10))
    timeout: float = field(default_factory=lambda: _env_float("DELIVERY_TIMEOUT_SECONDS", 10.0))
    retry_base: float = field(default_factory=lambda: _env_float("DELIVERY_RETRY_BASE_SECONDS", 10.0))
    retry_max: float = field(default_factory=lambda: _env_float("DELIVERY_RETRY_MAX_SECONDS", 3600.0))
    max_age: float = field(default_factory=lambda: _env_float("DELIVERY_MAX_AGE_SECONDS", 24 * 3600.0))
    max_consecutive_failures: int = field(default_factory=lambda: _env_int("DELIVERY_MAX_CONSECUTIVE_FAILURES", 20))
    poll_interval: float = field(default_factory=lambda: _env_float("DELIVERY_POLL_INTERVAL_SECONDS", 1.0))
    metrics_interval: float = field(default_factory=lambda: _env_float("DELIVERY_METRICS_INTERVAL_SECONDS", 10.0))
    consumer_batch: int = field(default_factory=lambda: _env_int("DELIVERY_CONSUMER_BATCH", 500))
    allow_private_targets: bool = field(default_factory=allow_private_targets)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
