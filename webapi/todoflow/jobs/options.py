"""Command-line values shared by the jobs: the as-of instant and durations such as the sweep window."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 3600}


def parse_as_of(value: str) -> datetime:
    """An aware instant from ISO 8601 ('2026-03-08T12:00:00Z', '+02:00', or naive = UTC, or a date) or 'now'."""
    if value.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_duration(value: str) -> timedelta:
    """A positive duration such as '24h', '90m', '1.5d', '3600s' (a bare number means hours)."""
    match = _DURATION.match(value)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 24h, 90m, 2d: {value!r}")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive: {value!r}")
    return timedelta(seconds=seconds)


def positive_int(value: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {value!r}")
    return number


def positive_float(value: str) -> float:
    """argparse type: a number > 0."""
    try:
        number = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from exc
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {value!r}")
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
