"""The API's Flask configuration: its settings (core/settings.py's ApiSettings) and the fixed API contract."""

from __future__ import annotations

from typing import Any

from todoflow.core.settings import ApiSettings, get_settings

MAX_BODY_BYTES = 1024 * 1024

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
    """Flask configuration: the environment, then overrides; SettingsError without a JWT secret or on a bad value."""
    overrides = overrides or {}
    secret = overrides.get("JWT_SECRET_KEY")
    settings = ApiSettings(jwt_secret_key=str(secret)) if secret else ApiSettings()
    # Each API variable is also its Flask configuration key (JWT_*, LOGIN_*, QUOTA_*, ...).
    return {
        **FIXED,
        "DATABASE_URL": get_settings().database_url,
        **{var.name: value for var, value in settings.values()},
        **overrides,
    }
