"""The API's configuration, read from the environment (the JWT secret never has a default)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from todoflow.core.settings import get_settings

MAX_BODY_BYTES = 1024 * 1024


class ConfigError(RuntimeError):
    """The environment lacks something the API cannot start without."""


def _seconds(name: str, default: int) -> timedelta:
    raw = os.environ.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number of seconds, not {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return timedelta(seconds=value)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from exc


# Settings that are not knobs: the contract of the API.
FIXED: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
    "JWT_TOKEN_LOCATION": ["headers"],
    "JWT_ALGORITHM": "HS256",
    "JWT_HEADER_TYPE": "Bearer",
    "VALIDATION_ERROR_STATUS_CODE": 400,
    "VALIDATION_ERROR_DESCRIPTION": "Validation error",
    "AUTH_ERROR_STATUS_CODE": 401,
    "INFO": {
        "description": "todoflow REST API: tasks, recurring tasks, notifications and task history.",
    },
    "SECURITY_SCHEMES": {
        "BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    },
}


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flask configuration: the environment, then overrides; raises ConfigError without a JWT secret."""
    overrides = overrides or {}
    secret = str(overrides.get("JWT_SECRET_KEY") or os.environ.get("JWT_SECRET_KEY", ""))
    if len(secret) < 32:
        # RFC 7518 3.2: an HS256 key at least as long as the hash (256 bits).
        raise ConfigError("JWT_SECRET_KEY must be set to a secret of at least 32 characters")
    return {
        **FIXED,
        "DATABASE_URL": get_settings().database_url,
        "JWT_SECRET_KEY": secret,
        "JWT_ACCESS_TOKEN_EXPIRES": _seconds("JWT_ACCESS_TOKEN_EXPIRES", 15 * 60),
        "JWT_REFRESH_TOKEN_EXPIRES": _seconds("JWT_REFRESH_TOKEN_EXPIRES", 30 * 24 * 3600),
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_FAILURE_WINDOW": _seconds("LOGIN_FAILURE_WINDOW", 15 * 60),
        **limits(),
        **overrides,
    }


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value


def limits() -> dict[str, Any]:
    """Issue 11's bounds on one client's work: login limits, password hashing, quotas, write rate, proxies."""
    trusted = _int("TRUSTED_PROXIES", 0)
    if trusted < 0:
        raise ConfigError("TRUSTED_PROXIES must be 0 or more")
    return {
        # Failures per (email, client address) before each further attempt waits a growing delay.
        "LOGIN_DELAY_BASE": _seconds("LOGIN_DELAY_BASE", 1),
        "LOGIN_DELAY_MAX": _seconds("LOGIN_DELAY_MAX", 60),
        # Ceilings per email (from every address) and per client address (over every email) in the window.
        "LOGIN_MAX_FAILURES_PER_EMAIL": _positive("LOGIN_MAX_FAILURES_PER_EMAIL", 50),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": _positive("LOGIN_MAX_FAILURES_PER_ADDRESS", 100),
        # argon2 hashes at once per process (login and register); more answer 429 at once instead of queueing.
        "PASSWORD_HASH_CONCURRENCY": _positive("PASSWORD_HASH_CONCURRENCY", 1),
        "QUOTA_OPEN_TASKS": _positive("QUOTA_OPEN_TASKS", 10_000),
        "QUOTA_ACTIVE_SERIES": _positive("QUOTA_ACTIVE_SERIES", 200),
        "WRITE_RATE_PER_SECOND": _positive("WRITE_RATE_PER_SECOND", 10),
        "WRITE_BURST": _positive("WRITE_BURST", 50),
        # Proxies in front of the API that append to X-Forwarded-For (1 behind the ingress); 0 ignores the header.
        "TRUSTED_PROXIES": trusted,
    }
