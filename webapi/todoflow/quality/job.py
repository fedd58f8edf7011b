"""`todoflow check-schedules --as-of T`: the data-quality suite; exits 1 when any expectation fails."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime, timedelta

from todoflow.quality.checks import Tolerances
from todoflow.quality.runner import run_suite

log = logging.getLogger(__name__)


def parse_since(value: str) -> datetime | None:
    """An instant, or "all" for the whole history."""
    return None if value == "all" else parse_instant(value)


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant; a naive one is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_duration(value: str) -> timedelta:
    """A duration such as 90s, 15m, 2h or 1d."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        amount, unit = float(value[:-1]), value[-1]
        return timedelta(seconds=amount * units[unit])
    except (ValueError, KeyError, IndexError) as exc:
        raise argparse.ArgumentTypeError(f"not a duration like 15m, 2h or 1d: {value!r}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Tolerances()
    parser.add_argument("--as-of", type=parse_instant, required=True, help="instant the checks act as of")
    parser.add_argument(
        "--since", type=parse_since, default=None, help='start of the reconciled interval, or "all" (the default)'
    )
    parser.add_argument("--expansion-lag", type=parse_duration, default=defaults.expansion_lag)
    parser.add_argument("--sweep-lag", type=parse_duration, default=defaults.sweep_lag)
    parser.add_argument("--outbox-max-age", type=parse_duration, default=defaults.outbox_max_age)
    parser.add_argument("--event-log-lag", type=parse_duration, default=defaults.event_log_lag)
    parser.add_argument("--only", action="append", default=None, help="run only this check (repeatable)")


def run(args: argparse.Namespace) -> int:
    tolerances = Tolerances(
        expansion_lag=args.expansion_lag,
        sweep_lag=args.sweep_lag,
        outbox_max_age=args.outbox_max_age,
        event_log_lag=args.event_log_lag,
        since=args.since,
    )
    outcome = run_suite(args.as_of, tolerances, only=args.only)
    if not outcome.success:
        log.error("schedule checks FAILED: %s", ", ".join(r.name for r in outcome.failed))
        return 1
    return 0
