"""What an attempt's result means: delivered, retry later (when), or failed for good."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DELIVERED = "delivered"
RETRY = "retry"
FAILED = "failed"

# Statuses worth retrying: the receiver is overloaded, restarting or asks us to slow down.
RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Outcome:
    """One attempt's result."""

    kind: str  # DELIVERED | RETRY | FAILED
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait (Retry-After)
    elapsed: float = 0.0


def classify_status(status: int, retry_after: str | None) -> Outcome:
    """2xx delivered; 5xx, 408, 429 retried (honouring Retry-After); anything else (4xx, 3xx) failed at once."""
    if 200 <= status < 300:
        return Outcome(DELIVERED, status)
    if status >= 500 or status in RETRYABLE_STATUSES:
        return Outcome(RETRY, status, f"HTTP {status}", parse_retry_after(retry_after))
    if 300 <= status < 400:
        return Outcome(FAILED, status, f"HTTP {status}: redirects are not followed")
    return Outcome(FAILED, status, f"HTTP {status}")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²'.isdigit() is True, float('²') raises
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before attempt attempts+1 after attempts failures: exponential from base up to cap, 'equal jitter'.

    The jitter (uniform in [d/2, d]) keeps receivers that come back from being hit by every retry at once.
    """
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def next_delay(attempts: int, outcome: Outcome, base: float, cap: float, age: float, max_age: float) -> float | None:
    """Seconds until the next attempt after attempts failures, or None when the delivery is exhausted.

    Exhausted: the next attempt would fall after max_age from the event (24 h by default).
    """
    delay = backoff(attempts, base, cap)
    if outcome.retry_after is not None:
        delay = max(delay, outcome.retry_after)
    if age + delay > max_age:
        return None
    return delay
