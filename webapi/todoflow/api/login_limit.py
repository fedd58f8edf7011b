"""Failed-login rate limit kept in PostgreSQL, so every API worker and replica counts the same failures."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from flask import current_app, request
from sqlalchemy import text
from sqlalchemy.orm import Session

from todoflow.api import errors

# Serializes logins for one email so concurrent guesses cannot all pass the check before any is counted.
LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('login:' || lower(:email), 0))")
# The max-th most recent failure inside the window: while it exists, the email is locked out.
NTH_RECENT = text(
    """SELECT attempted_at FROM login_failures
       WHERE email = lower(:email) AND attempted_at > now() - :window
       ORDER BY attempted_at DESC OFFSET :skip LIMIT 1"""
)
RECORD = text("INSERT INTO login_failures (email, remote_addr) VALUES (lower(:email), :addr)")
FORGET_OLD = text("DELETE FROM login_failures WHERE email = lower(:email) AND attempted_at <= now() - :window")
FORGET_ALL = text("DELETE FROM login_failures WHERE email = lower(:email)")


def _window() -> timedelta:
    return current_app.config["LOGIN_FAILURE_WINDOW"]


def check(session: Session, email: str) -> None:
    """Lock the email for this transaction and answer 429 if it has too many recent failures."""
    session.execute(LOCK, {"email": email})
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    nth = session.execute(NTH_RECENT, {"email": email, "window": _window(), "skip": limit - 1}).scalar()
    if nth is not None:
        wait = max(1, math.ceil((nth + _window() - datetime.now(UTC)).total_seconds()))
        raise errors.api_error(
            429,
            "too_many_login_failures",
            f"too many failed logins for this email; retry in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )


def record_failure(session: Session, email: str) -> None:
    session.execute(FORGET_OLD, {"email": email, "window": _window()})
    session.execute(RECORD, {"email": email, "addr": (request.remote_addr or "")[:64] or None})


def forget(session: Session, email: str) -> None:
    """A successful login clears the email's failures."""
    session.execute(FORGET_ALL, {"email": email})
