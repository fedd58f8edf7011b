"""The relay loop: hold the lock, read the outbox in commit-safe order, publish, mark, repeat.

One batch at a time: read up to RELAY_BATCH_SIZE rows, produce them all, wait for every delivery
report, mark the acknowledged rows published. A failed batch is retried from the oldest unpublished
row after an exponential backoff, so nothing is lost and each key keeps its order; a relay killed
anywhere in between re-sends at most one batch (a duplicate, never a gap).
"""

from __future__ import annotations

import logging
import re
import socket
import time
from typing import Any

import psycopg
from confluent_kafka import KafkaError
from statsd import StatsClient

from todoflow.core.metrics import statsd
from todoflow.core.settings import RelaySettings
from todoflow.relay import store
from todoflow.relay.leadership import LeaderSession, LostLeadership, sleep
from todoflow.relay.publisher import Publisher, producer_config

log = logging.getLogger(__name__)

# Metric names (prefixed with STATSD_PREFIX, default "todoflow."); listed in README.
M_LEADER = "relay.leader"  # + ".<instance>": each relay reports its own gauge, so a dashboard shows which leads
M_LAG = "relay.outbox.lag"
M_OLDEST_AGE = "relay.outbox.oldest_age_seconds"
M_PUBLISHED = "relay.published"
M_BATCH_DURATION = "relay.batch.duration"
M_BATCH_SIZE = "relay.batch.size"
M_BACKOFF = "relay.backoff_seconds"
M_PUBLISH_ERRORS = "relay.errors.publish"
M_KAFKA_ERRORS = "relay.errors.kafka"
M_DATABASE_ERRORS = "relay.errors.database"
M_PURGED = "relay.purged"

# Re-reads while committed rows wait for an older transaction: 2 ms, doubling up to 100 ms.
HELD_BACK_FIRST_WAIT = 0.002
HELD_BACK_MAX_WAIT = 0.1


def instance_name(configured: str | None = None) -> str:
    """This relay's name in metrics: RELAY_INSTANCE, else the host (the pod's name), as one StatsD name component."""
    name = (RelaySettings().instance if configured is None else configured) or socket.gethostname() or "relay"
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


class Backoff:
    """Exponential delays: initial, 2 x initial, ... capped at maximum."""

    def __init__(self, initial: float, maximum: float):
        self.initial, self.maximum, self.failures = initial, maximum, 0

    def next(self) -> float:
        """The next delay, each one twice the last up to maximum."""
        delay = min(self.maximum, self.initial * (2**self.failures))
        self.failures += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay."""
        self.failures = 0


class Relay:
    """One relay process: active while it holds the lock, standby otherwise."""

    def __init__(self, config: RelaySettings | None = None, stats: StatsClient | None = None):
        self.config = config or RelaySettings()
        # Kafka's security settings, checked here so bad ones stop the relay at start (SettingsError).
        self._producer_config = producer_config(self.config)
        self.stats = stats or statsd()
        self._stop_at: float | None = None
        self._next_lag_report = 0.0
        self._next_purge = 0.0
        self._instance = instance_name(self.config.instance)

    def request_stop(self) -> None:
        """Finish the current batch (within RELAY_SHUTDOWN_GRACE_SECONDS), release the lock, exit."""
        if self._stop_at is None:
            self._stop_at = time.monotonic()

    def stopping(self) -> bool:
        """Whether a stop was requested."""
        return self._stop_at is not None

    def _abort_batch(self) -> bool:
        return self._stop_at is not None and time.monotonic() - self._stop_at > self.config.shutdown_grace

    def run(self) -> int:
        """Run until asked to stop; database trouble means reconnecting after a backoff."""
        backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        while not self.stopping():
            try:
                self._session()
                backoff.reset()
            except (psycopg.OperationalError, psycopg.InterfaceError, LostLeadership) as exc:
                self.stats.incr(M_DATABASE_ERRORS)
                delay = backoff.next()
                log.error("database session lost (%s); reconnecting in %.1fs", exc, delay)
                sleep(delay, self.stopping)
        log.info("relay stopped")
        return 0

    def _session(self) -> None:
        leader = LeaderSession(self.config.database_url, self.config.lock_key)
        try:
            if not leader.wait_until_leader(self.config.standby_poll, self.stopping):
                return
            log.info("holding the relay lock: active")
            self._next_lag_report = 0.0
            try:
                # A mark lost in a database crash only means the row is sent again (a duplicate, which
                # consumers drop), so the relay's own commits need not wait for the WAL flush.
                with psycopg.connect(
                    self.config.database_url,
                    autocommit=True,
                    application_name="todoflow-relay",
                    options="-c synchronous_commit=off",
                ) as work:
                    publisher = Publisher(self._producer_config, on_client_error=self._kafka_error)
                    try:
                        self._lead(leader, work, publisher)
                    finally:
                        publisher.close()
            finally:
                # Only the active relay reports (a standby stays silent), so the gauges are its alone.
                self.stats.gauge(f"{M_LEADER}.{self._instance}", 0)
        finally:
            leader.close()

    def _kafka_error(self, error: KafkaError) -> None:
        self.stats.incr(M_KAFKA_ERRORS)

    def _lead(self, leader: LeaderSession, work: psycopg.Connection[Any], publisher: Publisher) -> None:
        cfg = self.config
        backoff = Backoff(cfg.backoff_initial, cfg.backoff_max)
        held_back_wait = HELD_BACK_FIRST_WAIT
        self._next_purge = 0.0
        while not self.stopping():
            # Hints that arrived before this read are answered by it; later ones wake the wait below.
            leader.drain()
            self._report_lag(work)
            rows = store.fetch_batch(work, cfg.batch_size)
            if rows:
                leader.check()
                if self._publish(work, publisher, rows, backoff):
                    held_back_wait = HELD_BACK_FIRST_WAIT
                continue
            # Idle: purging happens here, between batches; a full purge batch means more is due.
            if time.monotonic() >= self._next_purge and self._purge(work) >= cfg.purge_batch_size:
                continue
            if store.held_back(work):
                # No NOTIFY comes when a transaction without outbox rows ends, so re-read soon.
                leader.wait(held_back_wait)
                held_back_wait = min(held_back_wait * 2, HELD_BACK_MAX_WAIT, cfg.poll_interval)
                continue
            held_back_wait = HELD_BACK_FIRST_WAIT
            self._wait_for_hint(leader, cfg.poll_interval)

    def _purge(self, work: psycopg.Connection[Any]) -> int:
        """One bounded retention batch; schedules the next one."""
        cfg = self.config
        purged = store.purge_published(work, cfg.retention_hours, cfg.purge_batch_size)
        if purged:
            self.stats.incr(M_PURGED, purged)
            log.info("purged %d published rows older than %gh", purged, cfg.retention_hours)
        full = purged >= cfg.purge_batch_size
        self._next_purge = time.monotonic() + (0.0 if full else cfg.purge_interval)
        return purged

    def _publish(
        self, work: psycopg.Connection[Any], publisher: Publisher, rows: list[store.OutboxRow], backoff: Backoff
    ) -> bool:
        """Publish one batch and mark what Kafka acknowledged; False if the batch must be retried."""
        started = time.monotonic()
        result = publisher.publish(rows, should_abort=self._abort_batch, on_wait=lambda: self._report_lag(work))
        marked = store.mark_published(work, result.delivered)
        if marked:
            self.stats.incr(M_PUBLISHED, marked)
        self.stats.timing(M_BATCH_DURATION, (time.monotonic() - started) * 1000.0)
        self.stats.gauge(M_BATCH_SIZE, len(rows))
        if result.complete:
            backoff.reset()
            self.stats.gauge(M_BACKOFF, 0)
            return True
        if result.aborted:
            unconfirmed = len(rows) - len(result.delivered)
            log.warning(
                "shutdown: %d of %d rows of the last batch unconfirmed, left unpublished", unconfirmed, len(rows)
            )
            return False
        self.stats.incr(M_PUBLISH_ERRORS)
        delay = backoff.next()
        self.stats.gauge(M_BACKOFF, delay)
        log.error(
            "%d of %d messages not delivered (first: %s); retrying from the oldest unpublished row in %.1fs",
            len(result.errors),
            len(rows),
            result.errors[0],
            delay,
        )
        sleep(delay, self.stopping)
        return False

    def _report_lag(self, work: psycopg.Connection[Any]) -> None:
        now = time.monotonic()
        if now < self._next_lag_report:
            return
        self._next_lag_report = now + self.config.metrics_interval
        try:
            count, age = store.lag(work)
        except psycopg.Error:
            log.warning("could not read the outbox lag", exc_info=True)
            return
        self.stats.gauge(f"{M_LEADER}.{self._instance}", 1)
        self.stats.gauge(M_LAG, count)
        self.stats.gauge(M_OLDEST_AGE, round(age, 3))

    def _wait_for_hint(self, leader: LeaderSession, timeout: float) -> None:
        # Short slices so SIGTERM is answered within ~0.2s even when nothing is written.
        deadline = time.monotonic() + timeout
        while not self.stopping() and (left := deadline - time.monotonic()) > 0:
            if leader.wait(min(left, 0.2)):
                return
