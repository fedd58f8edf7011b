"""StatsD metrics through the maintained `statsd` client; names are listed in README."""

from __future__ import annotations

from functools import lru_cache

from statsd import StatsClient

from todoflow.core.settings import get_settings


@lru_cache(maxsize=1)
def statsd() -> StatsClient:
    """The process's StatsD client (UDP: never blocks or fails the caller when nobody listens)."""
    settings = get_settings()
    return StatsClient(settings.statsd_host, settings.statsd_port, prefix=settings.statsd_prefix)
