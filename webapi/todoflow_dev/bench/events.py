"""Events benchmark: API response -> consumer latency at a fixed rate, and relay throughput on a backlog.

Everything is real and separate processes: the API under gunicorn, `todoflow relay`, a Kafka broker
and the local PostgreSQL. The broker is a dedicated KRaft node of the same build and configuration as
the stack's (own port and data directory, removed afterwards), so 100,000 benchmark events never land
in the shared broker's topics; the database is a dedicated one (todoflow_bench_events).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition

from todoflow.core.events import TASK_CREATED

BENCH_DB = "todoflow_bench_events"
RATE = 100  # events per second
SECONDS = int(os.environ.get("TODOFLOW_BENCH_SECONDS", "30"))
WARMUP_SECONDS = 3
SENDERS = 4
USERS = 10
BACKLOG = 100_000
BACKLOG_USERS = 1000
TARGETS = {"p95_ms": 20.0, "throughput": 5000.0}
BROKER_PORT = 59292


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of values (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_broker() -> contextlib.AbstractContextManager[str]:
    """A dedicated, empty broker: the benchmark's volume never lands in the shared topics."""
    from todoflow_dev.devstack.kafka import scratch_broker

    return scratch_broker("kafka-bench", BROKER_PORT)


def prepare_database() -> str:
    """A fresh, migrated benchmark database on the local PostgreSQL; its URL."""
    from todoflow.core import db
    from todoflow_dev.devstack import postgres

    postgres.start()
    url = postgres.recreate_database(BENCH_DB)
    db.upgrade(url)
    return url


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process for the block; SIGTERM (then SIGKILL) to its group afterwards."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def api_argv(port: int) -> list[str]:
    """The command that serves the API under gunicorn on 127.0.0.1:port."""
    from todoflow import cli

    if "serve-api" in cli.COMMANDS:
        return [sys.executable, "-m", "todoflow.cli", "serve-api", "--bind", f"127.0.0.1:{port}"]
    code = (
        "from todoflow.api import create_app; from todoflow.api.serve import default_workers, options, serve; "
        f"serve(create_app, options('127.0.0.1:{port}', default_workers(), 2))"
    )
    return [sys.executable, "-c", code]


def request(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, token: str = "") -> Any:
    """Send one JSON request; the decoded response body (RuntimeError on a status of 300 or more)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
    return json.loads(payload) if payload else None


def wait_for_api(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the API answers /health (RuntimeError if it exits or takes over 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"API exited with {proc.returncode}; see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"API did not answer within 60 s; see {log}")


def users_with_tokens(port: int, count: int) -> list[str]:
    """Register count users and log each one in; their access tokens."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    tokens = []
    for _ in range(count):
        email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        request(
            conn, "POST", "/api/auth/register", {"email": email, "password": "benchmark password", "timezone": "UTC"}
        )
        tokens.append(
            request(conn, "POST", "/api/auth/login", {"email": email, "password": "benchmark password"})["access_token"]
        )
    return tokens


def _receive(bootstrap: str, ready: Any, stop: Any, count: Any, results: Any) -> None:
    """The consumer process: reads task-created from its current end until told to stop.

    Sends task id -> (monotonic and wall clock at arrival, the producer's CreateTime); CLOCK_MONOTONIC
    is system-wide, so arrival times compare with the load generator's response times.
    """
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}", "enable.auto.commit": False}
    )
    partitions = consumer.list_topics(TASK_CREATED, timeout=10).topics[TASK_CREATED].partitions
    assignment = []
    for p in partitions:
        _low, high = consumer.get_watermark_offsets(TopicPartition(TASK_CREATED, p), timeout=10)
        assignment.append(TopicPartition(TASK_CREATED, p, high))
    consumer.assign(assignment)
    arrived: dict[int, tuple[float, float, float]] = {}
    ready.set()
    while not stop.is_set():
        message = consumer.poll(0.1)
        if message is None or message.error():
            continue
        now, wall = time.monotonic(), time.time()
        task_id = json.loads(message.value() or b"{}")["data"]["task_id"]
        if task_id not in arrived:
            arrived[task_id] = (now, wall, message.timestamp()[1] / 1000.0)
            count.value = len(arrived)
    consumer.close()
    results.send(arrived)


class Receiver:
    """A consumer in its own process (no GIL shared with the load generator)."""

    def __init__(self, bootstrap: str):
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.stop, self.count = ctx.Event(), ctx.Event(), ctx.Value("i", 0)
        self.results, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=_receive, args=(bootstrap, self.ready, self.stop, self.count, child), daemon=True
        )

    def start(self) -> None:
        """Start the consumer process and wait until it is assigned the topic's end."""
        self.proc.start()
        if not self.ready.wait(60):
            raise RuntimeError("the benchmark consumer did not start")

    def received(self) -> int:
        """How many distinct tasks' events arrived so far."""
        return int(self.count.value)

    def close(self) -> dict[int, tuple[float, float, float]]:
        """Stop the consumer; task id -> (monotonic arrival, wall arrival, CreateTime)."""
        self.stop.set()
        arrived: dict[int, tuple[float, float, float]] = self.results.recv()
        self.proc.join(10)
        return arrived


def fixed_rate_load(
    port: int, tokens: list[str], seconds: int
) -> tuple[dict[int, float], dict[int, float], list[float], int]:
    """POST /api/tasks at RATE per second (open loop).

    Returns task_id -> response time (monotonic), task_id -> response time (wall clock), API latencies (ms), errors.
    """
    responded: dict[int, float] = {}
    responded_wall: dict[int, float] = {}
    api_ms: list[float] = []
    errors = 0
    lock = threading.Lock()
    total = RATE * seconds
    start = time.monotonic() + 0.5

    def sender(k: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(k, total, SENDERS):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            try:
                body = {"title": f"bench {i}", "priority_id": 2, "due_date": "2031-01-01"}
                task = request(conn, "POST", "/api/tasks", body, tokens[i % len(tokens)])
            except (OSError, RuntimeError, http.client.HTTPException):
                with lock:
                    errors += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            done, wall = time.monotonic(), time.time()
            with lock:
                responded[task["id"]] = done
                responded_wall[task["id"]] = wall
                api_ms.append((done - sent) * 1000)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responded, responded_wall, api_ms, errors


def latency(bootstrap: str, url: str, logs: Path, env: dict[str, str]) -> dict[str, Any]:
    """Part 1: the API, the relay and a consumer; tasks created at RATE per second for SECONDS."""
    from todoflow.core.settings import libpq_url

    port = free_port()
    api_log = logs / "api.log"
    with process(api_argv(port), env, api_log) as api, process([_todoflow(), "relay"], env, logs / "relay-latency.log"):
        wait_for_api(port, api, api_log)
        tokens = users_with_tokens(port, USERS)
        receiver = Receiver(bootstrap)
        receiver.start()
        arrived: dict[int, tuple[float, float, float]] = {}
        try:
            warmup = fixed_rate_load(port, tokens, WARMUP_SECONDS)[0]
            load_before = os.getloadavg()[0]
            responded, responded_wall, api_ms, errors = fixed_rate_load(port, tokens, SECONDS)
            load_after = os.getloadavg()[0]
            expected = len(warmup) + len(responded)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and receiver.received() < expected:
                time.sleep(0.1)
        finally:
            arrived = receiver.close()
    lat = [(arrived[t][0] - r) * 1000 for t, r in responded.items() if t in arrived]
    # Wall-clock split at the producer's CreateTime (millisecond resolution, may be < 0 when the relay
    # produced before the client had read its response).
    pickup = [(arrived[t][2] - w) * 1000 for t, w in responded_wall.items() if t in arrived]
    transit = [(arrived[t][1] - arrived[t][2]) * 1000 for t in responded if t in arrived]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        unpublished = conn.execute("SELECT count(*) FROM event_outbox WHERE published_at IS NULL").fetchone()
    return {
        "sent": RATE * SECONDS,
        "errors": errors,
        "received": len(lat),
        "missing": len(responded) - len(lat),
        "unpublished": unpublished[0] if unpublished else None,
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "max": max(lat),
        "mean": statistics.fmean(lat),
        "pickup_p50": percentile(pickup, 50),
        "pickup_p95": percentile(pickup, 95),
        "transit_p50": percentile(transit, 50),
        "transit_p95": percentile(transit, 95),
        "api_p50": percentile(api_ms, 50),
        "api_p95": percentile(api_ms, 95),
        "load": (load_before, load_after),
    }


BACKLOG_SQL = """
INSERT INTO event_outbox (event_id, topic, message_key, payload)
SELECT e.id, 'task-created', e.user_id::text, jsonb_build_object(
    'event_id', e.id::text,
    'event_type', 'task-created',
    'event_timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'data', jsonb_build_object(
        'task_id', e.n,
        'user_id', e.user_id::text,
        'title', 'backlog task ' || e.n,
        'description', 'a task written while the relay was away, to be published in order',
        'priority_id', 2,
        'due_date', '2031-01-01',
        'completed', false,
        'completed_at', NULL,
        'is_recurring', false,
        'recurring_task_id', NULL,
        'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'updated_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))
FROM (
    SELECT gen_random_uuid() AS id, n, users.ids[1 + n %% %(users)s] AS user_id
    FROM generate_series(1, %(count)s) AS n,
         (SELECT array_agg(gen_random_uuid()) AS ids FROM generate_series(1, %(users)s)) AS users
) AS e
"""


def throughput(bootstrap: str, url: str, logs: Path, env: dict[str, str]) -> dict[str, Any]:
    """Part 2: BACKLOG rows written with the relay stopped, then drained by one relay."""
    from todoflow.core.event_schemas import validate_event
    from todoflow.core.settings import libpq_url

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE event_outbox")
        conn.execute(BACKLOG_SQL, {"count": BACKLOG, "users": BACKLOG_USERS})
        conn.execute("VACUUM ANALYZE event_outbox")
        for (payload,) in conn.execute("SELECT payload FROM event_outbox ORDER BY id LIMIT 50"):
            validate_event(payload)  # the backlog is made of events the consumers would accept
        before = _end_offsets(bootstrap)
        started = time.monotonic()
        with process([_todoflow(), "relay"], env, logs / "relay-throughput.log") as relay:
            while True:
                if relay.poll() is not None:
                    raise RuntimeError(f"relay exited with {relay.returncode}; see {logs / 'relay-throughput.log'}")
                row = conn.execute("SELECT EXISTS (SELECT 1 FROM event_outbox WHERE published_at IS NULL)").fetchone()
                if row and not row[0]:
                    break
                time.sleep(0.2)
            wall = time.monotonic() - started
        row = conn.execute(
            """SELECT min(published_at), max(published_at),
                      count(*) FILTER (WHERE published_at = (SELECT min(published_at) FROM event_outbox))
               FROM event_outbox"""
        ).fetchone()
        assert row is not None
        first, last, batch = row
    delivered = sum(_end_offsets(bootstrap).values()) - sum(before.values())
    steady_seconds = (last - first).total_seconds()
    return {
        "count": BACKLOG,
        "wall": wall,
        "delivered": delivered,
        "steady_rate": (BACKLOG - batch) / steady_seconds if steady_seconds > 0 else float("inf"),
        "wall_rate": BACKLOG / wall,
    }


def _end_offsets(bootstrap: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}"})
    try:
        partitions = consumer.list_topics(TASK_CREATED, timeout=10).topics[TASK_CREATED].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(TASK_CREATED, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def _todoflow() -> str:
    return str(Path(sys.executable).with_name("todoflow"))


def run() -> str:
    """Run the events benchmark (API, relay, Kafka) on a scratch broker; its Markdown section."""
    from todoflow.api.serve import default_workers
    from todoflow.core.settings import DEV_DIR, RelaySettings

    url = prepare_database()
    logs = DEV_DIR / "bench" / "events"
    shutil.rmtree(logs, ignore_errors=True)
    with bench_broker() as bootstrap:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": url,
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "JWT_SECRET_KEY": secrets.token_urlsafe(32),
            }
        )
        lat = latency(bootstrap, url, logs, env)
        thr = throughput(bootstrap, url, logs, env)
    return report(lat, thr, default_workers(), RelaySettings().batch_size)


def report(lat: dict[str, Any], thr: dict[str, Any], workers: int, batch: int) -> str:
    """The events benchmark's Markdown section from its measurements."""
    ok_lat = "meets" if lat["p95"] < TARGETS["p95_ms"] else "misses"
    ok_thr = "meets" if thr["steady_rate"] >= TARGETS["throughput"] else "misses"
    return f"""## Events: outbox relay to Kafka

Processes: the API under gunicorn (`todoflow serve-api`, {workers} workers), one `todoflow relay`
(batch {batch}, LISTEN/NOTIFY wake-up), a consumer in its own process, a dedicated
single-node KRaft broker (same jars and settings as the stack's; acks=all, idempotent producer, lz4),
and the stack's PostgreSQL; all on the same machine and its cores, which other work shares: the
1-minute load average was {lat["load"][0]:.1f} when the latency run started and {lat["load"][1]:.1f} when it ended
(this benchmark's own processes included).

**Latency, API response to consumer receipt**: POST /api/tasks at a fixed {RATE} requests/s
(open loop, {SENDERS} keep-alive connections, {USERS} users) for {SECONDS} s after a {WARMUP_SECONDS} s
warm-up; for each task, the time from the client reading the 201 response to the consumer reading
its task-created event (CLOCK_MONOTONIC, system-wide).

| events | API errors | received | p50 | p95 | p99 | max | API p50 / p95 |
|---:|---:|---:|---:|---:|---:|---:|---:|
| {lat["sent"]} | {lat["errors"]} | {lat["received"]} | {lat["p50"]:.1f} ms | {lat["p95"]:.1f} ms \
| {lat["p99"]:.1f} ms | {lat["max"]:.1f} ms | {lat["api_p50"]:.1f} / {lat["api_p95"]:.1f} ms |

Target p95 < {TARGETS["p95_ms"]:.0f} ms (seed: < 100 ms): {ok_lat}. Missing events: {lat["missing"]}.
Split at the producer's timestamp (wall clock, 1 ms resolution): response to `produce()` in the relay
p50 {lat["pickup_p50"]:.1f} / p95 {lat["pickup_p95"]:.1f} ms (NOTIFY wake-up and the commit-safe read);
`produce()` to consumer receipt p50 {lat["transit_p50"]:.1f} / p95 {lat["transit_p95"]:.1f} ms
(acks=all write, consumer fetch).

**Relay throughput on a backlog**: {thr["count"]:,} task-created rows ({BACKLOG_USERS} keys, ~600-byte
envelopes) written set-based while no relay ran, then one relay started and timed until no row was
unpublished. Steady rate = rows after the first batch / (last batch's published_at - first batch's).

| rows | delivered to Kafka | wall time (incl. start) | rate incl. start | steady rate |
|---:|---:|---:|---:|---:|
| {thr["count"]:,} | {thr["delivered"]:,} | {thr["wall"]:.1f} s | {thr["wall_rate"]:,.0f} /s | \
{thr["steady_rate"]:,.0f} /s |

Target >= {TARGETS["throughput"]:,.0f} events/s: {ok_thr}.
"""


if __name__ == "__main__":
    print(run())
