"""`todoflow deliver`: consume the six topics, fan events out into deliveries, attempt them until done.

Threads of one process (run as many processes as you like; they share the work through Kafka's group and
PostgreSQL's row locks):
- consumer: the idempotent consumer (core/consumer.py) over the six topics; each batch's deliveries are
  inserted in the same transaction that records the event ids, and offsets are committed after it;
- listener: LISTEN todoflow_deliveries, so workers start on new deliveries within milliseconds;
- workers: claim due deliveries (FOR UPDATE SKIP LOCKED), attempt them concurrently, record the outcome
  and the next attempt in the same transaction;
- dead letters: publish failed deliveries to the dead-letter topic, marking them only once Kafka acked;
- metrics: backlog gauges.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message, Producer

from todoflow.core.consumer import ConsumedMessage, consume
from todoflow.core.events import DEAD_LETTER_TOPIC, TOPICS
from todoflow.core.metrics import statsd
from todoflow.core.settings import DeliverySettings, libpq_url
from todoflow.delivery import email_sender, policy, store, webhook_sender

log = logging.getLogger(__name__)

DEAD_LETTER_BATCH = 500
DEACTIVATION_TITLE = "Webhook deactivated"


class DeliveryService:
    """The long-running delivery process; run() returns after request_stop() once the threads have finished."""

    def __init__(self, config: DeliverySettings, kafka_overrides: dict[str, Any] | None = None) -> None:
        self.config = config
        self.url = libpq_url(config.database_url)
        self.kafka_overrides = kafka_overrides or {}
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.dead_letter_wake = threading.Event()
        self.client = webhook_sender.make_client(
            config.allow_private_targets, config.timeout, max_connections=config.workers * config.claim_batch
        )
        self.senders = ThreadPoolExecutor(config.workers * config.claim_batch, thread_name_prefix="send")
        self.metrics = statsd()
        self.failed = False

    def request_stop(self) -> None:
        """Ask every thread to finish; run() then returns."""
        self.stopping.set()
        self.wake.set()
        self.dead_letter_wake.set()

    # -- the process ---------------------------------------------------------------------------------------------

    def run(self) -> int:
        """Run the consumer, listener, dead-letter, metrics and worker threads until stopped; the exit code."""
        threads = [
            threading.Thread(target=self._guard(self._consume_loop), name="consumer"),
            threading.Thread(target=self._guard(self._listen_loop), name="listener"),
            threading.Thread(target=self._guard(self._dead_letter_loop), name="dead-letters"),
            threading.Thread(target=self._guard(self._metrics_loop), name="metrics"),
        ] + [
            threading.Thread(target=self._guard(self._work_loop), name=f"worker-{i}")
            for i in range(self.config.workers)
        ]
        for thread in threads:
            thread.start()
        log.info(
            "delivery service started: group %s, %d workers x %d, kafka %s",
            self.config.group_id,
            self.config.workers,
            self.config.claim_batch,
            self.config.kafka_bootstrap_servers,
        )
        while not self.stopping.is_set():
            self.stopping.wait(1.0)
        for thread in threads:
            thread.join()
        self.senders.shutdown(wait=True)
        self.client.close()
        log.info("delivery service stopped")
        return 1 if self.failed else 0

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        """Run loop, restarting it after unexpected errors (with backoff) until the service stops."""

        def guarded() -> None:
            delay = 0.5
            while not self.stopping.is_set():
                try:
                    loop()
                    return
                except Exception:
                    log.exception("%s failed; restarting in %.1fs", threading.current_thread().name, delay)
                    self.stopping.wait(delay)
                    delay = min(delay * 2, 30.0)

        return guarded

    # -- consumer ------------------------------------------------------------------------------------------------

    def _consume_loop(self) -> None:
        kafka = {
            "bootstrap.servers": self.config.kafka_bootstrap_servers,
            "client.id": "todoflow-deliver",
            "fetch.wait.max.ms": 50,
            **self.kafka_overrides,
        }
        consume(
            self.config.group_id,
            TOPICS,
            self._fan_out,
            max_messages=sys.maxsize,
            max_seconds=float("inf"),
            batch_size=self.config.consumer_batch,
            database_url=self.config.database_url,
            kafka_config=kafka,
            stop=self.stopping.is_set,
            poll_seconds=0.05,
        )

    def _fan_out(self, conn: psycopg.Connection[Any], messages: list[ConsumedMessage]) -> None:
        created = store.fan_out(conn, messages)
        self.metrics.incr("delivery.events", len(messages))
        if created:
            self.metrics.incr("delivery.created", created)

    # -- wake-ups ------------------------------------------------------------------------------------------------

    def _listen_loop(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"LISTEN {store.NOTIFY_CHANNEL}")
            # A delivery queued while we were not listening is found by the workers' periodic poll.
            self.wake.set()
            while not self.stopping.is_set():
                for _ in conn.notifies(timeout=0.5):
                    self.wake.set()

    # -- workers -------------------------------------------------------------------------------------------------

    def _work_loop(self) -> None:
        with psycopg.connect(self.url) as conn:
            while not self.stopping.is_set():
                claimed = self._work_once(conn)
                if claimed < self.config.claim_batch:
                    self.wake.wait(self.config.poll_interval)
                    self.wake.clear()

    def _work_once(self, conn: psycopg.Connection[Any]) -> int:
        """Claim a batch, attempt it concurrently, record every outcome; one transaction (the rows stay locked)."""
        with conn.transaction():
            claimed = store.claim(conn, self.config.claim_batch)
            if not claimed:
                return 0
            futures = [self.senders.submit(self._attempt, c) for c in claimed]
            results = [(c, f.result()) for c, f in zip(claimed, futures, strict=True)]
            # Webhook rows are updated in id order so two workers never wait on each other in a cycle.
            for c, outcome in sorted(results, key=lambda r: str(r[0].webhook_id)):
                self._record(conn, c, outcome)
        return len(claimed)

    def _attempt(self, c: store.Claimed) -> policy.Outcome | None:
        """Send one delivery; None when there is nothing to send to (the webhook was deactivated meanwhile)."""
        if c.channel == "email":
            return email_sender.send(self.config.smtp, c.payload, c.email, str(c.id))
        if not c.webhook_active and c.event_type != store.PING:
            return None
        assert c.url is not None and c.secret is not None
        return webhook_sender.send(
            self.client, c.url, c.secret, c.id, c.event_type, c.payload, self.config.allow_private_targets
        )

    def _record(self, conn: psycopg.Connection[Any], c: store.Claimed, outcome: policy.Outcome | None) -> None:
        if outcome is None:
            conn.execute(store.FAILED, (0, None, "webhook is inactive", c.id))
            self.metrics.incr(f"delivery.{c.channel}.skipped")
            self.dead_letter_wake.set()
            return
        self.metrics.timing(f"delivery.{c.channel}.attempt_latency", outcome.elapsed * 1000)
        kind, error = outcome.kind, outcome.error
        if kind == policy.RETRY:
            age = (datetime.now(UTC) - c.created_at).total_seconds()
            delay = policy.next_delay(
                c.attempts + 1, outcome, self.config.retry_base, self.config.retry_max, age, self.config.max_age
            )
            if delay is None:
                kind, error = policy.FAILED, f"gave up after {c.attempts + 1} attempts: {error}"
            else:
                conn.execute(store.RETRY, (outcome.status_code, error, delay, c.id))
        if kind == policy.DELIVERED:
            conn.execute(store.DELIVERED, (outcome.status_code, c.id))
            if c.webhook_id is not None:
                conn.execute(store.WEBHOOK_SUCCEEDED, (c.webhook_id,))
        elif kind == policy.FAILED:
            conn.execute(store.FAILED, (1, outcome.status_code, error, c.id))
            if c.webhook_id is not None:
                self._webhook_failed(conn, c.webhook_id, error or "failed")
            self.dead_letter_wake.set()
        self.metrics.incr(f"delivery.{c.channel}.{'retried' if kind == policy.RETRY else kind}")
        log.debug("delivery %s (%s %s): %s %s", c.id, c.channel, c.event_type, kind, error or outcome.status_code)

    def _webhook_failed(self, conn: psycopg.Connection[Any], webhook_id: uuid.UUID, error: str) -> None:
        limit = self.config.max_consecutive_failures
        reason = f"deactivated after {limit} consecutive failed deliveries; the last: {error}"[:1000]
        row = conn.execute(store.WEBHOOK_FAILED, {"id": webhook_id, "limit": limit, "reason": reason}).fetchone()
        if row is not None and row[0]:
            _just, user_id, url = row
            message = (
                f"Your webhook {url} was deactivated after {limit} consecutive failed deliveries (the last: "
                f"{error}). Fix the endpoint, then set it active again (PATCH /api/webhooks/{webhook_id})."
            )
            conn.execute(store.DEACTIVATION_NOTICE, (user_id, DEACTIVATION_TITLE, message[:4000]))
            self.metrics.incr("delivery.webhook.deactivated")
            log.warning("webhook %s deactivated: %s", webhook_id, reason)

    # -- dead letters --------------------------------------------------------------------------------------------

    def _dead_letter_loop(self) -> None:
        producer = Producer(
            {
                "bootstrap.servers": self.config.kafka_bootstrap_servers,
                "client.id": "todoflow-deliver-dead-letters",
                "enable.idempotence": True,
                "acks": "all",
                "message.timeout.ms": 30_000,
            }
        )
        with psycopg.connect(self.url) as conn:
            while not self.stopping.is_set():
                if self._dead_letter_once(conn, producer) < DEAD_LETTER_BATCH:
                    self.dead_letter_wake.wait(self.config.poll_interval * 5)
                    self.dead_letter_wake.clear()
        producer.flush(10)

    def _dead_letter_once(self, conn: psycopg.Connection[Any], producer: Producer) -> int:
        with conn.transaction():
            rows = conn.execute(store.DEAD_LETTERS, (DEAD_LETTER_BATCH,)).fetchall()
            if not rows:
                return 0
            acked: list[str] = []

            def reporter(delivery_id: str) -> Callable[[KafkaError | None, Message], None]:
                def report(error: KafkaError | None, _message: Message) -> None:
                    if error is None:
                        acked.append(delivery_id)
                    else:
                        log.error("dead letter %s not acknowledged (will retry): %s", delivery_id, error)

                return report

            for r in rows:
                (
                    did,
                    channel,
                    endpoint,
                    webhook_id,
                    user_id,
                    event_id,
                    event_type,
                    payload,
                    attempts,
                    status,
                    error,
                    created_at,
                    failed_at,
                ) = r
                document = {
                    "delivery_id": str(did),
                    "channel": channel,
                    "endpoint": endpoint,
                    "webhook_id": str(webhook_id) if webhook_id else None,
                    "user_id": str(user_id),
                    "event_id": str(event_id),
                    "event_type": event_type,
                    "attempts": attempts,
                    "last_status_code": status,
                    "last_error": error,
                    "created_at": created_at.isoformat(),
                    "failed_at": failed_at.isoformat(),
                    "event": payload,
                }
                producer.produce(
                    DEAD_LETTER_TOPIC,
                    key=str(user_id),
                    value=json.dumps(document).encode(),
                    headers=[("delivery_id", str(did).encode()), ("content-type", b"application/json")],
                    on_delivery=reporter(str(did)),
                )
            producer.flush(35)
            if acked:
                conn.execute(store.MARK_DEAD_LETTERED, (acked,))
                self.metrics.incr("delivery.dead_lettered", len(acked))
            return len(acked)

    # -- metrics -------------------------------------------------------------------------------------------------

    def _metrics_loop(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.is_set():
                pending, due, oldest = store.backlog(conn)
                self.metrics.gauge("delivery.backlog", pending)
                self.metrics.gauge("delivery.due", due)
                self.metrics.gauge("delivery.oldest_pending_age_seconds", round(oldest, 3))
                self.stopping.wait(self.config.metrics_interval)
