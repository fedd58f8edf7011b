"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<raw body>" keyed with the webhook's secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker, not a secret
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh webhook secret: 32 random bytes, URL-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Todoflow-Signature header value."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp_header: str, signature_header: str, body: bytes, now: float | None = None) -> bool:
    """The receiver's check as README documents it: a fresh timestamp and a matching signature."""
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)
