"""Helpers of the pipeline job tests: rows made in SQL as the API would make them, events, job processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import psycopg

from todoflow.core.event_schemas import validate_event

T = TypeVar("T")


@dataclass
class Db:
    """The emptied test database: its URL and an autocommit connection, with helpers to build fixtures."""

    url: str
    conn: psycopg.Connection[Any]

    def user(self, timezone: str = "UTC") -> uuid.UUID:
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        return self.conn.execute(
            "INSERT INTO users (email, password_hash, timezone) VALUES (%s, 'x', %s) RETURNING id", (email, timezone)
        ).fetchone()[0]

    def series(
        self,
        user_id: uuid.UUID,
        recurrence_type: str = "daily",
        interval: int = 1,
        start: date = date(2026, 1, 1),
        end: date | None = None,
        title: str = "series",
        description: str = "",
        priority_id: int | None = None,
        active: bool = True,
        created: datetime | None = None,
    ) -> uuid.UUID:
        """A recurring task created at `created` (default: the day before start_date, 00:00 UTC), first due on
        start_date. Series created later than their start date: see test_creation_policy.py."""
        created = created or datetime.combine(start - timedelta(days=1), time(0), tzinfo=UTC)
        return self.conn.execute(
            """INSERT INTO recurring_tasks (user_id, title, description, priority_id, recurrence_type,
                   recurrence_interval, start_date, end_date, next_due_at, next_index, is_active, created_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s) RETURNING id""",
            (user_id, title, description, priority_id, recurrence_type, interval, start, end, start, active, created),
        ).fetchone()[0]

    def dates(self, series_id: uuid.UUID) -> list[date]:
        """Due dates of the tasks created for a series, in order."""
        rows = self.conn.execute(
            "SELECT due_date FROM tasks WHERE recurring_task_id = %s ORDER BY due_date", (series_id,)
        ).fetchall()
        return [r[0] for r in rows]

    def state(self, series_id: uuid.UUID) -> dict[str, Any]:
        row = self.conn.execute(
            """SELECT next_index, next_due_at, is_active, last_created_at, updated_at
               FROM recurring_tasks WHERE id = %s""",
            (series_id,),
        ).fetchone()
        return dict(zip(("next_index", "next_due_at", "is_active", "last_created_at", "updated_at"), row, strict=True))

    def events(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Outbox rows in outbox order: {event_id, topic, key, payload}."""
        rows = self.conn.execute(
            """SELECT event_id, topic, message_key, payload FROM event_outbox
               WHERE %(topic)s::text IS NULL OR topic = %(topic)s ORDER BY id""",
            {"topic": topic},
        ).fetchall()
        return [{"event_id": r[0], "topic": r[1], "key": r[2], "payload": r[3]} for r in rows]


def check_event(row: dict[str, Any]) -> dict[str, Any]:
    """Assert an outbox row is a valid event of its topic, keyed by its owner; returns its data."""
    payload = row["payload"]
    validate_event(payload)
    assert payload["event_type"] == row["topic"]
    assert payload["event_id"] == str(row["event_id"])
    data = payload["data"]
    assert row["key"] == data["user_id"]
    # jsonschema checks date-time formats only with an optional package: parse them here.
    for value in [payload["event_timestamp"], *(v for k, v in data.items() if k.endswith("_at") or k == "as_of")]:
        if value is not None:
            assert value.endswith("Z")
            assert datetime.fromisoformat(value).utcoffset() is not None
    return data


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Run the calls in threads (each on its own connection) released together; re-raise any error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 (re-raised in the caller's thread below)
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def metrics_received(sock: socket.socket) -> dict[str, str]:
    """name -> 'value|type' of every metric received so far."""
    received: dict[str, str] = {}
    while True:
        try:
            packet = sock.recv(65536).decode()
        except TimeoutError:
            return received
        for line in packet.splitlines():
            name, value = line.split(":", 1)
            received[name] = value


def cli_env(database_url: str, sock: socket.socket) -> dict[str, str]:
    """The environment of a job process: the test database and the stand-in StatsD exporter."""
    return os.environ | {
        "DATABASE_URL": database_url,
        "STATSD_HOST": "127.0.0.1",
        "STATSD_PORT": str(sock.getsockname()[1]),
        "STATSD_PREFIX": "todoflow",
    }


def run_cli(args: list[str], database_url: str, sock: socket.socket) -> subprocess.CompletedProcess[str]:
    """`todoflow <args>` as a job pod runs it."""
    return subprocess.run(
        [sys.executable, "-m", "todoflow.cli", *args],
        env=cli_env(database_url, sock),
        capture_output=True,
        text=True,
        timeout=120,
    )
