"""Helpers of the event tests: outbox writers, a Kafka tail reader, relay processes, a StatsD listener."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import OFFSET_END, Consumer, KafkaException, Message, TopicPartition
from sqlalchemy import Engine

from todoflow.core.events import TASK_CREATED
from todoflow.core.outbox import write_event

TODOFLOW = str(Path(sys.executable).with_name("todoflow"))


def task_data(user_id: str, task_id: int, title: str | None = None) -> dict[str, Any]:
    """A task as the task-* schemas describe it."""
    now = datetime.now(UTC)
    return {
        "task_id": task_id,
        "user_id": user_id,
        "title": title or f"task {task_id}",
        "description": "",
        "priority_id": None,
        "due_date": None,
        "completed": False,
        "completed_at": None,
        "is_recurring": False,
        "recurring_task_id": None,
        "created_at": now,
        "updated_at": now,
    }


def write_task_events(
    engine: Engine, events: Iterable[tuple[str, int]], per_transaction: int = 1, event_type: str = TASK_CREATED
) -> list[dict[str, Any]]:
    """Write (user_id, task_id) events through core.outbox.write_event, per_transaction to a commit."""
    written: list[dict[str, Any]] = []
    pending = list(events)
    for start in range(0, len(pending), per_transaction):
        with engine.begin() as conn:
            for user_id, task_id in pending[start : start + per_transaction]:
                written.append(write_event(conn, event_type, task_data(user_id, task_id), key=user_id))
    return written


def outbox_counts(database_url: str) -> tuple[int, int]:
    """(published, unpublished) rows in the outbox."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(published_at), count(*) - count(published_at) FROM event_outbox").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll check until it holds or fail after timeout naming what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_for_leaders(bootstrap: str, timeout: float = 60.0) -> None:
    """Wait until every partition of the project's topics has a leader that answers offset queries."""
    from todoflow.core.events import TOPICS

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex}"})

    def ready() -> bool:
        try:
            metadata = consumer.list_topics(timeout=5)
            for topic in TOPICS:
                for partition in metadata.topics[topic].partitions:
                    consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
        except (KafkaException, KeyError):
            return False
        return True

    try:
        wait_until(ready, timeout, "partition leaders", interval=0.5)
    finally:
        consumer.close()


@dataclass(frozen=True)
class Received:
    """One message read back from Kafka."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, bytes]
    event: dict[str, Any]
    raw: bytes


class KafkaTail:
    """Reads what is written to topics after it was created (positions taken at the end)."""

    def __init__(self, bootstrap: str, topics: Sequence[str]):
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"tail-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        assignment = []
        for topic in topics:
            partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
            for partition in partitions:
                _low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                assignment.append(TopicPartition(topic, partition, high if high >= 0 else OFFSET_END))
        self.consumer.assign(assignment)
        self.received: list[Received] = []

    def _poll(self, timeout: float) -> None:
        for message in self.consumer.consume(num_messages=1000, timeout=timeout):
            if message.error():
                raise RuntimeError(message.error())
            self.received.append(_received(message))

    def collect(self, count: int, timeout: float, where: Callable[[Received], bool] = lambda r: True) -> list[Received]:
        """Read until count matching messages arrived (or fail after timeout); returns all matching."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [r for r in self.received if where(r)]
            if len(matching) >= count:
                return matching
            self._poll(0.2)
        matching = [r for r in self.received if where(r)]
        raise AssertionError(f"only {len(matching)} of {count} messages arrived within {timeout:.0f}s")

    def settle(self, quiet: float = 1.5) -> list[Received]:
        """Read until nothing new arrives for `quiet` seconds; returns everything read."""
        last = len(self.received)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet:
            self._poll(0.2)
            if len(self.received) != last:
                last, quiet_since = len(self.received), time.monotonic()
        return self.received

    def close(self) -> None:
        self.consumer.close()


def _received(message: Message) -> Received:
    key = message.key()
    raw = message.value() or b""
    return Received(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=key.decode() if isinstance(key, bytes) else key,
        headers={k: v for k, v in (message.headers() or [])},
        event=json.loads(raw),
        raw=raw,
    )


def first_occurrences(received: Iterable[Received]) -> list[Received]:
    """Messages with duplicates (same event_id) after the first dropped, in arrival order."""
    seen: set[str] = set()
    out = []
    for r in received:
        if r.event["event_id"] not in seen:
            seen.add(r.event["event_id"])
            out.append(r)
    return out


def task_ids_by_key(received: Iterable[Received]) -> dict[str, list[int]]:
    """Each key's task ids in the order Kafka holds them (per partition order is per key order)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for r in sorted(received, key=lambda r: (r.topic, r.partition, r.offset)):
        by_key[r.key or ""].append(r.event["data"]["task_id"])
    return by_key


class RelayProcess:
    """`todoflow relay` as a real child process with its own log file."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [TODOFLOW, "relay"], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None and text not in self.output():
                raise AssertionError(f"relay exited with {self.proc.returncode}:\n{self.output()}")
            return text in self.output()

        wait_until(seen, timeout, f"relay log line {text!r}")

    def wait_active(self, timeout: float = 30.0) -> None:
        self.wait_for_log("holding the relay lock: active", timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None


class StatsdListener:
    """A UDP StatsD server on a free port that keeps every metric line it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            with self._lock:
                self.lines.extend(data.decode().splitlines())

    def values(self, name: str, kind: str) -> list[float]:
        """Values sent for metric `name` of statsd type `kind` (g, c, ms)."""
        with self._lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            metric, _, rest = line.partition(":")
            value, _, metric_kind = rest.partition("|")
            if metric == name and metric_kind.split("|")[0] == kind:
                out.append(float(value))
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def relay_environment(database_url: str, bootstrap: str, statsd_port: int, **overrides: str) -> dict[str, str]:
    """Environment of a relay under test: our database and broker, quick retries, our StatsD."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "STATSD_HOST": "127.0.0.1",
            "STATSD_PORT": str(statsd_port),
            "STATSD_PREFIX": "todoflow",
            "RELAY_BACKOFF_INITIAL_SECONDS": "0.2",
            "RELAY_BACKOFF_MAX_SECONDS": "2",
            "RELAY_MESSAGE_TIMEOUT_MS": "4000",
            "RELAY_METRICS_INTERVAL_SECONDS": "0.5",
            "RELAY_STANDBY_POLL_SECONDS": "0.3",
        }
    )
    env.update(overrides)
    return env
