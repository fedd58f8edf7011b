"""Delivery benchmark: Kafka -> webhook receiver latency at a fixed rate, and throughput on a backlog.

Real, separate processes: `todoflow deliver`, an HTTP receiver in its own process, a dedicated KRaft broker
(same jars and settings as the stack's, removed afterwards) and the stack's PostgreSQL (own database,
todoflow_bench_delivery). Events are produced straight to Kafka, so the figures are the delivery side's.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import statistics
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Producer

from todoflow.core.events import TASK_CREATED, envelope
from todoflow_dev.bench.events import _todoflow, percentile, process

BENCH_DB = "todoflow_bench_delivery"
RATE = 100  # events per second
SECONDS = int(os.environ.get("TODOFLOW_BENCH_SECONDS", "30"))
WARMUP_SECONDS = 3
WEBHOOKS = 50
BACKLOG = 50_000
TARGETS = {"p95_ms": 1000.0}
BROKER_PORT = int(os.environ.get("TODOFLOW_BENCH_DELIVERY_BROKER_PORT") or 59392)

BACKLOG_SQL = """
INSERT INTO deliveries (user_id, webhook_id, channel, endpoint, event_id, event_type, payload)
SELECT w.user_id, w.id, 'webhook', 'webhook:' || w.id, e.id, 'task-created', jsonb_build_object(
    'event_id', e.id::text, 'event_type', 'task-created',
    'event_timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'data', jsonb_build_object('task_id', e.n, 'user_id', w.user_id::text, 'title', 'backlog task ' || e.n,
                               'description', 'queued while the receiver was away', 'priority_id', 2,
                               'due_date', '2031-01-01', 'completed', false))
FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, %(count)s) AS n) AS e
JOIN (SELECT id, user_id, row_number() OVER (ORDER BY id) - 1 AS k FROM webhooks) AS w ON w.k = e.n %% %(hooks)s
"""


def _serve(port_out: Any, stop: Any, results: Any) -> None:
    """The receiver process: 200 to every POST; records event id -> (monotonic arrival, delivery id)."""
    arrived: dict[str, tuple[float, str]] = {}
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.monotonic()
            event_id = json.loads(body)["event_id"]
            arrived.setdefault(event_id, (now, self.headers.get("X-Todoflow-Delivery", "")))
            count[0] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    port_out.send(server.server_address[1])
    server.timeout = 0.2
    while not stop.is_set():
        server.handle_request()
    results.send((arrived, count[0]))


class Receiver:
    """The webhook receiver in its own process (no GIL shared with the load generator)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event()
        self.results, child = ctx.Pipe(duplex=False)
        port_parent, port_child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_serve, args=(port_child, self.stop, child), daemon=True)
        self.proc.start()
        self.port: int = port_parent.recv()

    def close(self) -> tuple[dict[str, tuple[float, str]], int]:
        """Stop the receiver; what arrived (event id -> arrival time, delivery id) and the request count."""
        self.stop.set()
        arrived, count = self.results.recv()
        self.proc.join(10)
        return arrived, count


def prepare_database() -> str:
    """A fresh, migrated benchmark database on the local PostgreSQL; its URL."""
    from todoflow.core import db
    from todoflow_dev.devstack import postgres

    postgres.start()
    url = postgres.recreate_database(BENCH_DB)
    db.upgrade(url)
    return url


def add_webhooks(conn: psycopg.Connection[Any], url: str) -> list[str]:
    """WEBHOOKS users with one active webhook each (all to the receiver); returns the user ids."""
    users = []
    for i in range(WEBHOOKS):
        row = conn.execute(
            "INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id", (f"bench-{i}@example.com",)
        ).fetchone()
        assert row is not None
        users.append(str(row[0]))
        conn.execute(
            "INSERT INTO webhooks (user_id, url, events, secret) VALUES (%s, %s, ARRAY['task-created'], %s)",
            (row[0], f"{url}/{i}", "whsec_" + uuid.uuid4().hex),
        )
    return users


def produce_at_rate(bootstrap: str, users: list[str], seconds: int) -> dict[str, float]:
    """task-created events at RATE per second (open loop); event id -> monotonic time Kafka acknowledged it."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 0})
    acked: dict[str, float] = {}

    def report(error: Any, message: Any) -> None:
        if error is None:
            acked[json.loads(message.value())["event_id"]] = time.monotonic()

    start = time.monotonic() + 0.2
    for i in range(RATE * seconds):
        delay = start + i / RATE - time.monotonic()
        if delay > 0:
            producer.poll(delay)
        user = users[i % len(users)]
        data = {
            "task_id": i + 1,
            "user_id": user,
            "title": f"bench {i}",
            "description": "",
            "priority_id": 2,
            "due_date": "2031-01-01",
            "completed": False,
            "completed_at": None,
            "is_recurring": False,
            "recurring_task_id": None,
            "created_at": "2030-01-01T00:00:00Z",
            "updated_at": "2030-01-01T00:00:00Z",
        }
        event = envelope(TASK_CREATED, data)
        producer.produce(TASK_CREATED, key=user, value=json.dumps(event).encode(), on_delivery=report)
        producer.poll(0)
    producer.flush(30)
    return acked


def latency(bootstrap: str, url: str, logs: Path, env: dict[str, str]) -> dict[str, Any]:
    """Event-to-webhook latency at a fixed event rate, with the delivery service running."""
    receiver = Receiver()
    with psycopg.connect(url, autocommit=True) as conn:
        users = add_webhooks(conn, f"http://127.0.0.1:{receiver.port}/hook")
    with process([_todoflow(), "deliver"], env, logs / "deliver-latency.log"):
        time.sleep(8)  # the consumer group forms
        produce_at_rate(bootstrap, users, WARMUP_SECONDS)
        load_before = os.getloadavg()[0]
        acked = produce_at_rate(bootstrap, users, SECONDS)
        load_after = os.getloadavg()[0]
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                row = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'delivered'").fetchone()
                if row and row[0] >= RATE * (SECONDS + WARMUP_SECONDS):
                    break
                time.sleep(0.2)
    arrived, requests = receiver.close()
    lat = [(arrived[e][0] - t) * 1000 for e, t in acked.items() if e in arrived]
    return {
        "sent": RATE * SECONDS,
        "acked": len(acked),
        "received": len(lat),
        "requests": requests,
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "max": max(lat),
        "mean": statistics.fmean(lat),
        "load": (load_before, load_after),
    }


def throughput(url: str, logs: Path, env: dict[str, str]) -> dict[str, Any]:
    """How fast one delivery service drains a backlog of pending deliveries."""
    receiver = Receiver()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE deliveries")
        conn.execute("UPDATE webhooks SET url = regexp_replace(url, ':[0-9]+/', %s)", (f":{receiver.port}/",))
        conn.execute(BACKLOG_SQL, {"count": BACKLOG, "hooks": WEBHOOKS})
        conn.execute("VACUUM ANALYZE deliveries")
        started = time.monotonic()
        with process([_todoflow(), "deliver"], env, logs / "deliver-throughput.log") as deliver:
            while True:
                if deliver.poll() is not None:
                    raise RuntimeError(f"deliver exited with {deliver.returncode}; see {logs}")
                row = conn.execute("SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'pending')").fetchone()
                if row and not row[0]:
                    break
                time.sleep(0.2)
            wall = time.monotonic() - started
        row = conn.execute(
            "SELECT min(delivered_at), max(delivered_at), count(*) FILTER (WHERE state = 'delivered'), "
            "max(attempts) FROM deliveries"
        ).fetchone()
        assert row is not None
    arrived, requests = receiver.close()
    first, last, delivered, max_attempts = row
    steady = (last - first).total_seconds()
    return {
        "count": BACKLOG,
        "delivered": delivered,
        "received": len(arrived),
        "requests": requests,
        "max_attempts": max_attempts,
        "wall": wall,
        "wall_rate": BACKLOG / wall,
        "steady_rate": delivered / steady if steady > 0 else float("inf"),
    }


def run() -> str:
    """Run the delivery benchmark on a scratch broker; its Markdown section."""
    from todoflow.core.settings import DEV_DIR, DeliverySettings, libpq_url
    from todoflow_dev.devstack.kafka import scratch_broker

    url = libpq_url(prepare_database())
    logs = DEV_DIR / "bench" / "delivery"
    shutil.rmtree(logs, ignore_errors=True)
    with scratch_broker("kafka-bench-delivery", BROKER_PORT) as bootstrap:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": url,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                "DELIVERY_GROUP": f"bench-{uuid.uuid4().hex[:8]}",
            }
        )
        lat = latency(bootstrap, url, logs, env)
        thr = throughput(url, logs, env)
    config = DeliverySettings()
    return report(lat, thr, config.workers, config.claim_batch)


def report(lat: dict[str, Any], thr: dict[str, Any], workers: int, batch: int) -> str:
    """The delivery benchmark's Markdown section from its measurements."""
    ok = "meets" if lat["p95"] < TARGETS["p95_ms"] else "misses"
    return f"""## Delivery: Kafka to webhook receivers

Processes: one `todoflow deliver` (default settings: {workers} workers claiming up to {batch} deliveries each,
consumer group over the six topics, LISTEN/NOTIFY wake-up), an HTTP/1.1 receiver in its own process
(Python's ThreadingHTTPServer answering 204), a dedicated single-node KRaft broker and the stack's
PostgreSQL, all on one machine whose cores other work shares (1-minute load average {lat["load"][0]:.1f} when the
latency run started, {lat["load"][1]:.1f} when it ended). {WEBHOOKS} users with one active webhook each
(http://127.0.0.1, WEBHOOK_ALLOW_PRIVATE_TARGETS=true); every delivery signed (HMAC-SHA256).

**Latency, event on Kafka to the receiver reading the request**: task-created events produced straight to
Kafka at a fixed {RATE}/s (open loop, keys spread over the {WEBHOOKS} users) for {SECONDS} s after a
{WARMUP_SECONDS} s warm-up; per event, from the producer's acknowledgement (acks=all) to the receiver reading
the POST (CLOCK_MONOTONIC, system-wide). Each event: consumed, fanned out into its delivery row and committed
(with its consumed_events row and the offsets), claimed by a worker (FOR UPDATE SKIP LOCKED), POSTed, recorded.

| events | received | requests | p50 | p95 | p99 | max | mean |
|---:|---:|---:|---:|---:|---:|---:|---:|
| {lat["sent"]} | {lat["received"]} | {lat["requests"]} | {lat["p50"]:.1f} ms | {lat["p95"]:.1f} ms \
| {lat["p99"]:.1f} ms | {lat["max"]:.1f} ms | {lat["mean"]:.1f} ms |

Target p95 < {TARGETS["p95_ms"]:.0f} ms (seed: < 5 s): {ok}.

**Throughput on a backlog**: {thr["count"]:,} pending webhook deliveries (spread over the {WEBHOOKS} webhooks)
written set-based while no service ran, then one `todoflow deliver` started and timed until none was pending.
Steady rate = delivered / (last delivered_at - first delivered_at).

| deliveries | delivered | receiver requests | max attempts | wall time (incl. start) | rate incl. start \
| steady rate |
|---:|---:|---:|---:|---:|---:|---:|
| {thr["count"]:,} | {thr["delivered"]:,} | {thr["requests"]:,} | {thr["max_attempts"]} | {thr["wall"]:.1f} s \
| {thr["wall_rate"]:,.0f} /s | {thr["steady_rate"]:,.0f} /s |
"""


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        print(run())
