"""The command-line values of every job command (expand, sweep, event log, check-schedules), defined once.

Instants: ISO 8601 ('2026-03-08T12:00:00Z', '+02:00', a date; naive means UTC) or 'now'.
Durations: one grammar, DURATION_PATTERN: a number and a unit s, m, h, d or w ('90s', '15m', '1.5d', '2w');
a bare number means hours. Bad values raise argparse.ArgumentTypeError, so argparse exits 2 naming the option.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from todoflow.core.timefmt import DURATION_PATTERN

_DURATION = re.compile(DURATION_PATTERN)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_BARE_NUMBER_UNIT = "h"
N = TypeVar("N", int, float)


def parse_as_of(value: str) -> datetime:
    """An aware instant from ISO 8601 ('2026-03-08T12:00:00Z', '+02:00', or naive = UTC, or a date) or 'now'."""
    if value.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_since(value: str) -> datetime | None:
    """An instant as parse_as_of reads it, or 'all' (None: the whole history)."""
    return None if value.strip().lower() == "all" else parse_as_of(value)


def parse_duration(value: str) -> timedelta:
    """A duration of DURATION_PATTERN such as '24h', '90m', '1.5d', '3600s' (a bare number means hours); >= 0."""
    match = _DURATION.match(value.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 90s, 15m, 24h, 1.5d: {value!r}")
    text = match.group(0)
    unit = text[-1] if text[-1] in _UNIT_SECONDS else _BARE_NUMBER_UNIT
    amount = text[:-1] if text[-1] in _UNIT_SECONDS else text
    return timedelta(seconds=float(amount) * _UNIT_SECONDS[unit])


def positive_duration(value: str) -> timedelta:
    """parse_duration, and more than zero."""
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise argparse.ArgumentTypeError(f"duration must be positive: {value!r}")
    return duration


def positive_int(value: str) -> int:
    """An argparse type: an integer >= 1."""
    return _positive(value, int, "an integer", ">= 1")


def positive_float(value: str) -> float:
    """An argparse type: a number > 0."""
    return _positive(value, float, "a number", "> 0")


def _positive(value: str, kind: Callable[[str], N], name: str, rule: str) -> N:
    try:
        number = kind(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not {name}: {value!r}") from exc
    if not number > 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be {rule}: {value!r}")
    return number


def add_as_of(parser: argparse.ArgumentParser) -> None:
    """--as-of, required: Airflow passes the data interval's end (or a manual run's logical date)."""
    parser.add_argument(
        "--as-of",
        required=True,
        type=parse_as_of,
        metavar="T",
        help="the instant the run acts as of: ISO 8601 (naive means UTC) or 'now'",
    )


def add_count(parser: argparse.ArgumentParser, flag: str, default: int, what: str) -> None:
    """An option taking an integer >= 1, e.g. a batch size; its help ends with the default."""
    parser.add_argument(flag, type=positive_int, default=default, help=f"{what} (default {default})")


def add_duration(
    parser: argparse.ArgumentParser, flag: str, default: timedelta, what: str, *, positive: bool = False
) -> None:
    """An option taking a duration of DURATION_PATTERN (positive=True: more than zero); help ends with the default."""
    parser.add_argument(
        flag,
        type=positive_duration if positive else parse_duration,
        default=default,
        metavar="DURATION",
        help=f"{what}, e.g. 90s, 15m, 24h, 1.5d (default {format_duration(default)})",
    )


def format_duration(duration: timedelta) -> str:
    """The shortest exact DURATION_PATTERN form of a duration ('24h', '15m', '90s')."""
    seconds = duration.total_seconds()
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{int(seconds // _UNIT_SECONDS[unit])}{unit}"
    return f"{seconds:g}s"
