"""How a job command reports: one log line of counts, StatsD counters and timing, exit status."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from todoflow.core.metrics import statsd

log = logging.getLogger("todoflow.jobs")
R = TypeVar("R")


def report(
    job: str,
    work: Callable[[], R],
    counts: Callable[[R], Mapping[str, int]],
    exit_code: Callable[[R], int] = lambda _: 0,
) -> int:
    """Run work; emit `jobs.<job>.<count>` counters, `jobs.<job>.duration` and `.runs`/`.failures`; exit code.

    A run that raises counts as a failure and exits 1; one that completes counts as a run and exits with
    exit_code(result) (check-schedules: 1 when an expectation failed, which its own quality metrics detail).
    """
    client = statsd()
    started = time.perf_counter()
    try:
        result = work()
    except Exception:
        log.exception("%s failed", job)
        client.incr(f"jobs.{job}.failures")
        return 1
    elapsed = time.perf_counter() - started
    figures = dict(counts(result))
    with client.pipeline() as pipe:
        for name, value in figures.items():
            pipe.incr(f"jobs.{job}.{name}", value)
        pipe.timing(f"jobs.{job}.duration", elapsed * 1000)
        pipe.incr(f"jobs.{job}.runs")
    log.info("%s done in %.2fs: %s", job, elapsed, " ".join(f"{k}={v}" for k, v in figures.items()))
    return exit_code(result)
