"""What the stores refuse, in the domain's words; api/errors.py alone turns each into an HTTP answer."""

from __future__ import annotations

import math
from typing import Any, TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """A refusal with a machine-readable code, a message for people and optional details."""

    code = "conflict"

    def __init__(self, message: str, details: dict[str, Any] | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class NotFound(DomainError):
    """No such resource of the current user (another user's rows are not found either)."""

    code = "not_found"


class Conflict(DomainError):
    """The change conflicts with the resource's state or a per-user limit (series_ended, webhook_limit, ...)."""


class Invalid(DomainError):
    """Input that passed its schema but that the domain refuses; details name the field, as validation does."""

    code = "validation_error"


class UnknownUser(DomainError):
    """The token is valid but its user no longer exists."""

    code = "unknown_user"


class BadCursor(DomainError):
    """A page cursor that was altered or made for another query."""

    code = "invalid_cursor"


class RetryLater(DomainError):
    """Over a rate or failure limit: the message says when to retry (Retry-After carries it too)."""

    def __init__(self, code: str, message: str, wait: float) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__(f"{message}; retry in {self.retry_after} seconds", code=code)


def found(row: T | None, what: str) -> T:
    """The row, or NotFound naming what was looked for."""
    if row is None:
        raise NotFound(f"no such {what}")
    return row
