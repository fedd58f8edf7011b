"""Helpers of the delivery tests: a real HTTP receiver, `todoflow deliver` processes, events on Kafka, rows."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Producer

from tests.events.support import task_data
from tests.support import ServiceProcess, service_environment
from todoflow.core.event_schemas import validate_event
from todoflow.core.events import envelope


@dataclass
class Hit:
    """One request the receiver read."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) that records every POST and answers as `respond` says.

    Created bound but not listening, so connections are refused until listen(): "down" without a port race.
    """

    respond: Callable[[Hit], tuple[int, dict[str, str]]] = lambda hit: (200, {})
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hit = Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                with receiver.lock:
                    receiver.hits.append(hit)
                status, headers = receiver.respond(hit)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                pass

        self.lock = threading.Lock()

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # the listen backlog: many concurrent senders must not be refused

        self.server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.port = int(self.server.server_address[1])
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def listen(self) -> None:
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def snapshot(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)

    def close(self) -> None:
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()


class DeliverProcess(ServiceProcess):
    """`todoflow deliver` as a real child process with its own log file."""

    def __init__(self, env: dict[str, str], log: Path):
        super().__init__("deliver", env, log)

    def wait_started(self, timeout: float = 30.0) -> None:
        """Wait until the service has started its threads."""
        self.wait_for_log("delivery service started", timeout)


def deliver_environment(database_url: str, bootstrap: str, statsd_port: int, **overrides: str) -> dict[str, str]:
    """A delivery service under test: our database and broker, its own group, quick retries, private targets."""
    quick = {
        "DELIVERY_GROUP": f"test-deliver-{uuid.uuid4().hex[:12]}",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "DELIVERY_RETRY_BASE_SECONDS": "0.2",
        "DELIVERY_RETRY_MAX_SECONDS": "1",
        "DELIVERY_POLL_INTERVAL_SECONDS": "0.2",
        "DELIVERY_METRICS_INTERVAL_SECONDS": "0.3",
        "DELIVERY_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "DELIVERY_WORKERS": "4",
    }
    return service_environment(database_url, bootstrap, statsd_port, **(quick | overrides))


def add_user(pg: psycopg.Connection[Any], email: str | None = None) -> str:
    """The id of a new user (inserted directly)."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    row = pg.execute("INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id", (email,)).fetchone()
    assert row is not None
    return str(row[0])


def add_webhook(
    pg: psycopg.Connection[Any], user_id: str, url: str, events: list[str] | None = None, secret: str | None = None
) -> tuple[str, str]:
    """(webhook id, secret) of a new active webhook (inserted directly: the API refuses what some tests need)."""
    from todoflow.core.events import TOPICS
    from todoflow.delivery.signing import new_secret

    secret = secret or new_secret()
    row = pg.execute(
        "INSERT INTO webhooks (user_id, url, events, secret) VALUES (%s, %s, %s, %s) RETURNING id",
        (user_id, url, list(events or TOPICS), secret),
    ).fetchone()
    assert row is not None
    return str(row[0]), secret


@dataclass(frozen=True)
class Subscriber:
    """A user with one active webhook to every event type."""

    user_id: str
    webhook_id: str
    secret: str


# subscribed(respond=None, users=1, listening=True) -> (a new receiver, that many new users with a webhook to it)
Subscribe = Callable[..., tuple[Receiver, list[Subscriber]]]


def event_for(user_id: str, task_id: int, event_type: str = "task-created") -> dict[str, Any]:
    """A valid envelope of event_type about task_id of user_id."""
    from todoflow.core.outbox import to_json_data

    if event_type == "task-due-soon":
        data: dict[str, Any] = {
            "task_id": task_id,
            "user_id": user_id,
            "title": f"task {task_id}",
            "due_date": "2030-01-02",
            "notification_id": str(uuid.uuid4()),
            "as_of": "2030-01-01T00:00:00Z",
            "window_hours": 24,
        }
    elif event_type == "recurring-task-due":
        data = {
            "recurring_task_id": str(uuid.uuid4()),
            "user_id": user_id,
            "task_id": task_id,
            "title": f"task {task_id}",
            "due_date": "2030-01-02",
            "occurrence_index": 0,
            "as_of": "2030-01-01T00:00:00Z",
        }
    else:
        data = task_data(user_id, task_id)
        if event_type == "task-deleted":
            data["deleted_at"] = data["updated_at"]
    event = envelope(event_type, to_json_data(data))
    validate_event(event)
    return event


def produce(bootstrap: str, events: list[dict[str, Any]]) -> None:
    """Publish envelopes to their topics, keyed by user id, and wait for the acknowledgements."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 2})
    for event in events:
        producer.produce(event["event_type"], key=event["data"]["user_id"], value=json.dumps(event).encode())
    assert producer.flush(30) == 0


def deliveries(pg: psycopg.Connection[Any], channel: str = "webhook") -> list[dict[str, Any]]:
    """The channel's delivery rows, oldest first."""
    rows = pg.execute(
        "SELECT id, event_id, endpoint, state, attempts, last_status_code, last_error, dead_lettered_at "
        "FROM deliveries WHERE channel = %s ORDER BY created_at",
        (channel,),
    ).fetchall()
    keys = ("id", "event_id", "endpoint", "state", "attempts", "last_status_code", "last_error", "dead_lettered_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def all_delivered(pg: psycopg.Connection[Any], count: int) -> Callable[[], bool]:
    """A check for wait_until: exactly count webhook deliveries, all delivered."""

    def check() -> bool:
        rows = deliveries(pg)
        return len(rows) == count and all(r["state"] == "delivered" for r in rows)

    return check


def ids_by_event(hits: list[Hit]) -> dict[str, set[str]]:
    """Each event id the receiver saw -> the delivery ids it arrived under."""
    ids: dict[str, set[str]] = defaultdict(set)
    for hit in hits:
        ids[hit.event["event_id"]].add(hit.headers["x-todoflow-delivery"])
    return ids
