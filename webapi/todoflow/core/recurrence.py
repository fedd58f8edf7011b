"""Recurrence math: occurrence n of a series is always computed from its anchor (start_date).

Month-end policy: a monthly or yearly series clamps to the last day of a shorter month and comes
back to its anchor day afterwards (Jan 31 -> Feb 28/29 -> Mar 31; Feb 29 -> Feb 28 in common years).
This is exactly PostgreSQL's `date + interval 'n months'`. The SQL twin, todoflow_occurrence(anchor, type,
interval, n), which the set-based expansion and the quality checks call, is created by migration 0002 and made
inlinable (not STRICT) by 0004_jobs; tests/test_migrations.py keeps the two equal.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

RECURRENCE_TYPES = ("daily", "weekly", "monthly", "yearly")


def add_months(anchor: date, months: int) -> date:
    """The anchor date plus a number of months, clamped to the target month's last day."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def occurrence(anchor: date, recurrence_type: str, interval: int, n: int) -> date:
    """Due date of occurrence n (n = 0 is the anchor itself)."""
    if n < 0:
        raise ValueError("occurrence index must be >= 0")
    if recurrence_type == "daily":
        return anchor + timedelta(days=n * interval)
    if recurrence_type == "weekly":
        return anchor + timedelta(weeks=n * interval)
    if recurrence_type == "monthly":
        return add_months(anchor, n * interval)
    if recurrence_type == "yearly":
        return add_months(anchor, 12 * n * interval)
    raise ValueError(f"unknown recurrence_type {recurrence_type!r}")


def first_index_on_or_after(anchor: date, recurrence_type: str, interval: int, day: date) -> int:
    """Smallest n with occurrence(n) >= day."""
    if day <= anchor:
        return 0
    if recurrence_type in ("daily", "weekly"):
        step = interval * (7 if recurrence_type == "weekly" else 1)
        return -(-(day - anchor).days // step)
    months_per_step = interval * (12 if recurrence_type == "yearly" else 1)
    months = (day.year - anchor.year) * 12 + (day.month - anchor.month)
    n = max(0, months // months_per_step - 1)
    while occurrence(anchor, recurrence_type, interval, n) < day:
        n += 1
    return n
