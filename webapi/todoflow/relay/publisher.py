"""Sends one batch of outbox rows to Kafka and waits for every delivery report before returning.

Waiting for the whole batch before the next one is what keeps per-key order across failures: a
message that fails (broker down, message.timeout.ms elapsed) is never marked published, nothing
newer is queued behind it in librdkafka, and the next attempt starts again from the oldest
unpublished row. After any failure the producer is replaced, so no stale message or idempotence
state (producer id, sequence numbers) carries over into the retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from todoflow.core.kafka import client_config, refusal
from todoflow.core.settings import RelaySettings
from todoflow.relay.store import OutboxRow

log = logging.getLogger(__name__)

CONTENT_TYPE = b"application/json"
# The same Kafka client error is logged at most once per interval (all are counted in metrics).
ERROR_LOG_INTERVAL = 30.0


def producer_config(config: RelaySettings) -> dict[str, Any]:
    """The producer's librdkafka settings: idempotent, acks=all, bounded delivery time; SettingsError if bad."""
    return {
        **client_config(),
        "bootstrap.servers": config.kafka_bootstrap_servers,
        "client.id": "todoflow-relay",
        "enable.idempotence": True,
        "acks": "all",
        # A message not acknowledged within this time is reported failed and stays unpublished.
        "message.timeout.ms": config.message_timeout_ms,
        "linger.ms": 5,
        "compression.type": "lz4",
        "queue.buffering.max.messages": max(100_000, 2 * config.batch_size),
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 2000,
    }


class Throttle:
    """Lets one event per key through per interval and counts the ones held back."""

    def __init__(self, interval: float):
        self.interval = interval
        self._last: dict[object, float] = {}
        self._held: dict[object, int] = {}

    def allow(self, key: object) -> bool:
        """Whether an event for key may pass now; counts it as held back if not."""
        now = time.monotonic()
        if now - self._last.get(key, -self.interval) >= self.interval:
            self._last[key] = now
            return True
        self._held[key] = self._held.get(key, 0) + 1
        return False

    def suppressed_note(self, key: object) -> str:
        """" (N similar suppressed)" for the events of key held back since the last one passed, else ""."""
        held = self._held.pop(key, 0)
        return f" ({held} similar suppressed)" if held else ""


class ThrottledFilter(logging.Filter):
    """A logging filter that passes each distinct message (digits ignored) once per interval."""

    def __init__(self, interval: float):
        super().__init__()
        self._throttle = Throttle(interval)

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether record is the first of its kind (digits ignored) in the interval."""
        key = "".join(c for c in record.getMessage() if not c.isdigit())[:120]
        return self._throttle.allow(key)


LIBRDKAFKA_LOG = logging.getLogger("todoflow.relay.librdkafka")
LIBRDKAFKA_LOG.addFilter(ThrottledFilter(ERROR_LOG_INTERVAL))


@dataclass
class BatchResult:
    """What Kafka acknowledged of one batch."""

    delivered: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    aborted: bool = False

    @property
    def complete(self) -> bool:
        """Whether Kafka acknowledged the whole batch."""
        return not self.errors and not self.aborted


class Publisher:
    """An idempotent producer used one batch at a time."""

    def __init__(self, config: dict[str, Any], on_client_error: Callable[[KafkaError], None] | None = None):
        self._config = dict(config)
        self._on_client_error = on_client_error
        self._timeout = float(self._config.get("message.timeout.ms", 300_000)) / 1000.0
        self._throttle = Throttle(ERROR_LOG_INTERVAL)
        self._producer = self._new_producer()

    def _new_producer(self) -> Producer:
        # librdkafka's own log lines go through logging, throttled: a dead broker would flood otherwise.
        return Producer({"logger": LIBRDKAFKA_LOG, **self._config, "error_cb": self._client_error})

    def _client_error(self, error: KafkaError) -> None:
        # Connection trouble is reported here and retried by librdkafka; delivery reports decide.
        if self._throttle.allow(error.code()):
            refused = refusal(error)
            # A refusal (credentials, certificate) needs an operator, not patience: say so, and what to check.
            log.log(
                logging.ERROR if refused else logging.WARNING,
                "kafka: %s%s",
                refused or error.str(),
                self._throttle.suppressed_note(error.code()),
            )
        if self._on_client_error is not None:
            self._on_client_error(error)

    def publish(
        self,
        rows: Sequence[OutboxRow],
        *,
        should_abort: Callable[[], bool] = lambda: False,
        on_wait: Callable[[], None] = lambda: None,
    ) -> BatchResult:
        """Produce rows in order, then wait until Kafka acknowledged or rejected each of them."""
        reports: dict[int, KafkaError | None] = {}
        producer = self._producer
        sent: list[OutboxRow] = []
        for row in rows:

            def report(error: KafkaError | None, _message: Any, row_id: int = row.id) -> None:
                reports[row_id] = error

            headers: list[tuple[str, str | bytes | None]] = [
                ("event_type", row.event_type.encode()),
                ("content-type", CONTENT_TYPE),
                ("event_id", row.event_id.encode()),
            ]
            try:
                self._produce(row, headers, report)
            except KafkaException as exc:
                # Refused outright (say, too large): it blocks the outbox, loudly, rather than being dropped.
                reports[row.id] = exc.args[0]
                sent.append(row)
                break
            sent.append(row)
        rows = sent
        result = BatchResult()
        # librdkafka reports every message within message.timeout.ms; the margin only guards against a bug.
        deadline = time.monotonic() + self._timeout + 30.0
        while len(reports) < len(rows):
            producer.flush(0.1)
            on_wait()
            if should_abort() or time.monotonic() > deadline:
                result.aborted = True
                break
        for row in rows:
            error = reports.get(row.id, KafkaError(KafkaError._PURGE_QUEUE))
            if error is None:
                result.delivered.append(row.id)
            elif not result.aborted or row.id in reports:
                result.errors.append(f"{row.topic}/{row.event_id}: {error.str()}")
        if not result.complete:
            self.reset()
        return result

    def _produce(self, row: OutboxRow, headers: list[tuple[str, str | bytes | None]], report: Any) -> None:
        while True:
            try:
                self._producer.produce(row.topic, row.value, row.key.encode(), headers=headers, on_delivery=report)
                return
            except BufferError:  # librdkafka's queue is full: let it send, then try again
                self._producer.poll(0.05)

    def reset(self) -> None:
        """Drop everything queued or in flight and start a fresh producer."""
        try:
            self._producer.purge()
            self._producer.flush(1.0)
        except Exception:  # the old producer is discarded whatever state it is in
            log.exception("discarding producer")
        self._producer = self._new_producer()

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (there is nothing between batches) and release the client."""
        self._producer.flush(timeout)
