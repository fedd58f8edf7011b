"""`todoflow check-schedules --as-of T`: the data-quality suite; exits 1 when any expectation fails.

Reported like every job (jobs/reporting.py: `jobs.check_schedules.{runs,failures,duration,checks,passed,failed}`
and one log line), on top of the suite's own per-check metrics and log lines (quality/runner.py).
"""

from __future__ import annotations

import argparse
import logging

from todoflow.jobs.options import add_as_of, add_duration, parse_since
from todoflow.jobs.reporting import report
from todoflow.quality.checks import Tolerances
from todoflow.quality.runner import SuiteResult, run_suite

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow check-schedules`."""
    defaults = Tolerances()
    add_as_of(parser)
    parser.add_argument(
        "--since", type=parse_since, default=None, help='start of the reconciled interval, or "all" (the default)'
    )
    add_duration(parser, "--expansion-lag", defaults.expansion_lag, "how late an expansion may be")
    add_duration(parser, "--sweep-lag", defaults.sweep_lag, "how late a sweep may be")
    add_duration(parser, "--outbox-max-age", defaults.outbox_max_age, "how long an event may wait in the outbox")
    add_duration(parser, "--event-log-lag", defaults.event_log_lag, "how late the event log may be")
    parser.add_argument("--only", action="append", default=None, help="run only this check (repeatable)")


def counts(outcome: SuiteResult) -> dict[str, int]:
    """The run's figures: checks evaluated, passed and failed."""
    failed = len(outcome.failed)
    return {"checks": len(outcome.results), "passed": len(outcome.results) - failed, "failed": failed}


def exit_code(outcome: SuiteResult) -> int:
    """1 when any expectation failed (the task fails, visibly), else 0."""
    if outcome.success:
        return 0
    log.error("schedule checks FAILED: %s", ", ".join(r.name for r in outcome.failed))
    return 1


def run(args: argparse.Namespace) -> int:
    """Run the schedule checks as of --as-of; exit 1 when an expectation fails."""
    tolerances = Tolerances(
        expansion_lag=args.expansion_lag,
        sweep_lag=args.sweep_lag,
        outbox_max_age=args.outbox_max_age,
        event_log_lag=args.event_log_lag,
        since=args.since,
    )
    return report("check_schedules", lambda: run_suite(args.as_of, tolerances, only=args.only), counts, exit_code)
