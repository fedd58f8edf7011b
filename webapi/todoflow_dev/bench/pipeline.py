"""Pipeline benchmark: the expansion, the due sweep and the event-log writer, each run as its job command.

Every job runs as `python -m todoflow.cli <job>` in its own process, exactly as a job pod runs it, against
a dedicated database (todoflow_bench_pipeline). Peak memory is sampled from /proc every 50 ms for the job
process and for the PostgreSQL backend serving it (RSS, and USS: the backend's private memory, without
the shared buffers it touches). The event-log writer reads from a dedicated, empty Kafka node so the
benchmark's events never land in the shared broker's topics.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psutil
import psycopg
from confluent_kafka import Producer

from todoflow.core.events import TOPICS, envelope
from todoflow.core.timefmt import utc_z

BENCH_DB = "todoflow_bench_pipeline"
USERS = 10_000
# TODOFLOW_BENCH_SERIES: a smaller expansion for iteration (the reported figures are the 100,000 case).
SERIES = int(os.environ.get("TODOFLOW_BENCH_SERIES") or 100_000)
DAYS = 10
SMALL_SERIES = 10_000  # the same expansion at a tenth of the size, to show memory does not grow with it
SHARDS = 2  # the same expansion as the DAG fans it out: one process per shard, all at once
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")  # all on Jan 10 at the as-of below
EXPAND_AS_OF = "2026-01-10T12:00:00Z"
SWEEP_TASKS = 1_000_000
SWEEP_DUE = 100_000
SWEEP_AS_OF = "2026-06-01T12:00:00Z"
EVENTS = 100_000
BROKER_PORT = int(os.environ.get("TODOFLOW_BENCH_BROKER_PORT") or 59392)  # the event-log writer's scratch broker
TARGET_RATIO = 1.15  # the expansion job against the bare statements writing the same rows
TARGETS = {"expand_s": 60.0, "sweep_s": 20.0, "events_per_s": 10_000.0}


@dataclass
class JobRun:
    """One job process: wall time, its own reported duration and counts, and peak memory in MiB."""

    wall_s: float
    job_s: float
    counts: dict[str, int]
    job_peak_rss: float
    job_rss_samples: list[float] = field(default_factory=list)
    pg_peak_rss: float = 0.0
    pg_peak_uss: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average when the job started
    cpu_s: float = 0.0  # CPU seconds of the job process
    pg_cpu_s: float = 0.0  # CPU seconds of the PostgreSQL backend(s) serving it


def prepare_database() -> str:
    """Start the dev PostgreSQL and give a freshly migrated benchmark database; its URL."""
    from todoflow.core import db
    from todoflow_dev.devstack import postgres

    postgres.start()
    url = postgres.recreate_database(BENCH_DB)
    db.upgrade(url)
    return url


def _mib(n: float) -> float:
    return n / 2**20


class MemorySampler:
    """Polls memory and CPU time of a process and of the PostgreSQL backends with a given application_name."""

    def __init__(self, pid: int, database_url: str, application_name: str) -> None:
        self.pid, self.url, self.app = pid, database_url, application_name
        self.rss: list[float] = []
        self.pg_rss = 0.0
        self.pg_uss = 0.0
        self.cpu = 0.0  # the process's user + system seconds, as last seen
        self.pg_cpu: dict[int, float] = {}  # the same per backend
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        backends: dict[int, psutil.Process] = {}
        with psycopg.connect(self.url, autocommit=True, application_name="bench-sampler") as conn:
            while not self._stop.is_set():
                with contextlib.suppress(psutil.Error):
                    job = psutil.Process(self.pid)
                    self.rss.append(_mib(job.memory_info().rss))
                    times = job.cpu_times()
                    self.cpu = times.user + times.system
                for (pid,) in conn.execute(
                    """SELECT pid FROM pg_stat_activity
                       WHERE application_name = %s AND datname = current_database() AND pid <> pg_backend_pid()""",
                    (self.app,),
                ):
                    with contextlib.suppress(psutil.Error):
                        backends.setdefault(pid, psutil.Process(pid))
                for pid, backend in backends.items():
                    with contextlib.suppress(psutil.Error):
                        info = backend.memory_full_info()
                        self.pg_rss = max(self.pg_rss, _mib(info.rss))
                        self.pg_uss = max(self.pg_uss, _mib(info.uss))
                        times = backend.cpu_times()
                        self.pg_cpu[pid] = times.user + times.system
                self._stop.wait(0.05)


def run_job(argv: list[str], env: dict[str, str], database_url: str, application_name: str) -> JobRun:
    """Run `todoflow <argv>` in a child process, sampling memory; fail loudly if the job fails."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "todoflow.cli", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with MemorySampler(proc.pid, database_url, application_name) as sampler:
        _, err = proc.communicate(timeout=600)
    wall = time.perf_counter() - started
    stderr = err.decode()
    if proc.returncode != 0:
        raise RuntimeError(f"todoflow {' '.join(argv)} exited {proc.returncode}:\n{stderr[-3000:]}")
    done = re.search(r"done in ([0-9.]+)s: (.*)$", stderr, re.MULTILINE)
    assert done, stderr
    counts = {k: int(v) for k, v in (pair.split("=") for pair in done.group(2).split())}
    peak = max(sampler.rss) if sampler.rss else 0.0
    return JobRun(
        wall,
        float(done.group(1)),
        counts,
        peak,
        sampler.rss,
        sampler.pg_rss,
        sampler.pg_uss,
        load,
        sampler.cpu,
        sum(sampler.pg_cpu.values()),
    )


def job_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a job process: this one's, plus the database URL and extra."""
    return os.environ | {"DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"} | extra


def timed_sql(database_url: str, sql: str, params: tuple[object, ...] = ()) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the backend) of one statement: CPU is the figure the neighbours disturb least."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        backend = psutil.Process(row[0])
        cpu, started = backend.cpu_times(), time.perf_counter()
        conn.execute(sql, params)
        wall, after = time.perf_counter() - started, backend.cpu_times()
        return wall, after.user + after.system - cpu.user - cpu.system


def reset(conn: psycopg.Connection, *tables: str) -> None:
    """Empty tables, then vacuum, analyze and checkpoint so the next measurement starts clean."""
    conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    conn.execute("VACUUM ANALYZE")
    conn.execute("CHECKPOINT")


def seed_users(conn: psycopg.Connection) -> None:
    """Insert USERS users, their time zones spread over ZONES."""
    conn.execute(
        """INSERT INTO users (email, password_hash, timezone)
           SELECT 'bench' || i || '@example.com', 'x', (%s::text[])[1 + i %% %s] FROM generate_series(1, %s) i""",
        (list(ZONES), len(ZONES), USERS),
    )


def seed_series(conn: psycopg.Connection, count: int) -> None:
    """Insert count daily series starting Jan 1, never expanded: each catches up DAYS occurrences as of Jan 10.

    Created the day before they start (an outage since), so the creation policy leaves all DAYS to catch up.
    """
    conn.execute("TRUNCATE tasks, event_outbox, recurring_tasks RESTART IDENTITY CASCADE")
    conn.execute(
        """INSERT INTO recurring_tasks (user_id, title, description, priority_id, recurrence_type, start_date,
                                        next_due_at, created_at)
           SELECT u.id, 'Daily chore ' || i, 'benchmark series', 1 + i %% 4, 'daily', DATE '2026-01-01',
                  DATE '2026-01-01', TIMESTAMPTZ '2025-12-31 00:00Z'
           FROM generate_series(1, %s) i
           JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users) u ON u.n = i %% %s""",
        (count, USERS),
    )
    conn.execute("VACUUM ANALYZE")
    conn.execute("CHECKPOINT")


BARE_INSERT = """
INSERT INTO tasks (user_id, title, description, priority_id, due_date, is_recurring, recurring_task_id)
SELECT r.user_id, r.title, r.description, r.priority_id, r.start_date + g.n, true, r.id
FROM recurring_tasks r CROSS JOIN generate_series(0, %s - 1) AS g(n)
"""


@dataclass
class Expansion:
    """The expansion figures: one process at two sizes, the shards in parallel, the bare insert."""

    small: JobRun
    big: JobRun
    parallel_wall_s: float
    parallel: list[JobRun]
    bare_s: float
    bare_all_s: float  # the bare task rows plus their 2,000,000 outbox rows
    bare_cpu_s: float  # the backend's CPU seconds for both bare statements


def run_shards(url: str, shards: int) -> tuple[float, list[JobRun]]:
    """All shards of one expansion at once, one process each, as the DAG's mapped tasks run them."""
    runs: list[JobRun | None] = [None] * shards

    def one(k: int) -> None:
        argv = ["expand-recurrences", "--as-of", EXPAND_AS_OF, "--shard", str(k), "--shards", str(shards)]
        runs[k] = run_job(argv, job_env(url), url, "todoflow-expand-recurrences")

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(k,)) for k in range(shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [r for r in runs if r is not None]
    assert len(done) == shards, "a shard failed"
    return time.perf_counter() - started, done


# The same writes as the job, bare: the task rows as above, then their two outbox events each.
BARE_EVENTS = """
INSERT INTO event_outbox (event_id, topic, message_key, payload)
SELECT e.id, e.topic, t.user_id::text,
       jsonb_build_object('event_id', e.id::text, 'event_type', e.topic, 'event_timestamp', now()::text,
           'data', jsonb_build_object('task_id', t.id, 'user_id', t.user_id, 'title', t.title,
               'description', t.description, 'priority_id', t.priority_id, 'due_date', t.due_date,
               'completed', false, 'completed_at', NULL, 'is_recurring', true,
               'recurring_task_id', t.recurring_task_id, 'created_at', now()::text, 'updated_at', now()::text))
FROM tasks t CROSS JOIN (VALUES ('task-created'), ('recurring-task-due')) AS c(topic)
CROSS JOIN LATERAL (SELECT md5(t.id || c.topic)::uuid AS id, c.topic) AS e
"""


def bench_expand(url: str, with_others: bool = True) -> Expansion:
    """The expansion in one process, then the bare statements writing the same rows right after it.

    Right after, so the ratio compares like with like on a shared machine; with_others adds the tenth and the
    sharded run.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        seed_users(conn)
    argv = ["expand-recurrences", "--as-of", EXPAND_AS_OF]
    small = None
    if with_others:
        with psycopg.connect(url, autocommit=True) as conn:
            seed_series(conn, SMALL_SERIES)
        small = run_job(argv, job_env(url), url, "todoflow-expand-recurrences")
        assert small.counts["created"] == SMALL_SERIES * DAYS, small.counts

    with psycopg.connect(url, autocommit=True) as conn:
        seed_series(conn, SERIES)
    big = run_job(argv, job_env(url), url, "todoflow-expand-recurrences")
    assert big.counts["created"] == SERIES * DAYS and big.counts["events"] == 2 * SERIES * DAYS, big.counts

    with psycopg.connect(url, autocommit=True) as conn:
        reset(conn, "tasks", "event_outbox")
    bare, bare_cpu = timed_sql(url, BARE_INSERT, (DAYS,))
    bare_events, bare_events_cpu = timed_sql(url, BARE_EVENTS)

    parallel_wall = 0.0
    parallel: list[JobRun] = []
    if with_others:
        with psycopg.connect(url, autocommit=True) as conn:
            seed_series(conn, SERIES)
        parallel_wall, parallel = run_shards(url, SHARDS)
        assert sum(r.counts["created"] for r in parallel) == SERIES * DAYS
    return Expansion(small or big, big, parallel_wall, parallel, bare, bare + bare_events, bare_cpu + bare_events_cpu)


SWEEP_SEED = """
INSERT INTO tasks (user_id, title, due_date)
SELECT u.id, 'Task ' || i,
       CASE WHEN i <= %(due)s THEN DATE '2026-05-20' + (i %% 13)  -- overdue up to the window's last day
            ELSE DATE '2026-06-10' + (i %% 300) END                 -- later: not yet in the window
FROM generate_series(1, %(tasks)s) i
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users) u ON u.n = i %% %(users)s
"""


def bench_sweep(url: str) -> JobRun:
    """The due-date sweep over SWEEP_TASKS tasks, SWEEP_DUE of them due."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE tasks, event_outbox, notifications, recurring_tasks RESTART IDENTITY CASCADE")
        conn.execute(SWEEP_SEED, {"due": SWEEP_DUE, "tasks": SWEEP_TASKS, "users": USERS})
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    run = run_job(["sweep-due", "--as-of", SWEEP_AS_OF, "--window", "24h"], job_env(url), url, "todoflow-sweep-due")
    assert run.counts["notified"] == SWEEP_DUE == run.counts["events"], run.counts
    return run


def bench_broker() -> contextlib.AbstractContextManager[str]:
    """A dedicated, empty broker: the benchmark's volume never lands in the shared topics."""
    from todoflow_dev.devstack.kafka import scratch_broker

    return scratch_broker("kafka-bench-pipeline", BROKER_PORT)


def _events(count: int) -> Iterator[tuple[str, bytes, bytes]]:
    """(topic, key, value) of count valid events, task-created shaped, spread over the six topics."""
    now = utc_z(datetime.now(UTC))
    users = [str(uuid.uuid4()) for _ in range(1000)]
    for i in range(count):
        user = users[i % len(users)]
        topic = TOPICS[i % 4]  # the four task-* types share one data shape
        data = {
            "task_id": i + 1,
            "user_id": user,
            "title": f"task {i + 1}",
            "description": "",
            "priority_id": 2,
            "due_date": "2026-03-10",
            "completed": topic == "task-completed",
            "completed_at": now if topic == "task-completed" else None,
            "is_recurring": False,
            "recurring_task_id": None,
            "created_at": now,
            "updated_at": now,
        }
        if topic == "task-deleted":
            data["deleted_at"] = now
        yield topic, user.encode(), json.dumps(envelope(topic, data)).encode()


def _produce(bootstrap: str, count: int) -> None:
    """Publish count events and wait for every acknowledgement (the producer is gone when this returns)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for topic, key, value in _events(count):
        while True:
            try:
                producer.produce(topic, value, key=key)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0


def bench_event_log(url: str) -> JobRun:
    """The event-log writer consuming EVENTS events from a bench Kafka broker."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE task_event_log, consumed_events")
        conn.execute("CHECKPOINT")
    with bench_broker() as bootstrap:
        _produce(bootstrap, EVENTS)
        argv = ["write-event-log", "--max-messages", str(EVENTS), "--max-seconds", "300"]
        run = run_job(argv, job_env(url, KAFKA_BOOTSTRAP_SERVERS=bootstrap), url, "")
    with psycopg.connect(url, autocommit=True) as conn:
        # Steady rate: the rows of every batch but the last over the time from the first batch's
        # transaction start to the last one's (no start-up, no group join).
        row = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE created_at < b.last), b.first, b.last
               FROM task_event_log, (SELECT min(created_at) AS first, max(created_at) AS last FROM task_event_log) b
               GROUP BY b.first, b.last"""
        ).fetchone()
    assert row is not None
    logged, before_last, first, last = row
    assert logged == EVENTS == run.counts["logged"], (logged, run.counts)
    run.counts["steady_per_s"] = round(before_last / max((last - first).total_seconds(), 1e-3))
    return run


def _cpu(run: JobRun) -> str:
    return f"backend {run.pg_cpu_s:.1f} s + job {run.cpu_s:.1f} s"


def _ok(value: float, target: float, lower_is_better: bool = True) -> str:
    met = value <= target if lower_is_better else value >= target
    return "met" if met else "**missed**"


# The figures before 0009_lean_rows (txid default through text; the job's events materialized), measured by
# this benchmark: where and when, job s, bare s.
BEFORE = (
    ("commit 12c1f61, 2026-11-29, load 1.4 to 3.2", 69.0, 49.0),
    ("commit 9cb2778, 2026-11-30 20:45 UTC, load 7.7, backend CPU 76.9 s vs bare 73.4 s = 1.05", 196.4, 177.9),
)


def expansion_section(expansion: Expansion) -> list[str]:
    """The expansion against the bare statements writing the same rows: a table, then the figures before."""
    big, shards_s, floor = expansion.big, expansion.parallel_wall_s, expansion.bare_all_s
    occurrences = SERIES * DAYS
    lines = [
        f"### Expansion against its floor ({occurrences:,} occurrences)",
        "",
        f"The floor is two bare statements writing the same rows, run right after the job on the same tables: "
        f"`INSERT ... SELECT generate_series` of the {occurrences:,} task rows ({expansion.bare_s:.1f} s alone), "
        f"then one `INSERT ... SELECT` of their {2 * occurrences:,} outbox events (the same jsonb envelopes). "
        "The job also locks and advances each series, computes each occurrence, checks each row for a "
        "conflict and commits per chunk of 2,000 series.",
        "",
        f"| run | job s | bare s | ratio (goal <= {TARGET_RATIO}) | CPU s: job's backend / bare | CPU ratio "
        "| load at start |",
        "|---|---|---|---|---|---|---|",
        f"| one process | {big.job_s:.1f} | {floor:.1f} | **{big.job_s / floor:.2f}** "
        f"({_ok(big.job_s / floor, TARGET_RATIO)}) | {big.pg_cpu_s:.1f} / {expansion.bare_cpu_s:.1f} "
        f"| {big.pg_cpu_s / expansion.bare_cpu_s:.2f} | {big.load:.1f} |",
    ]
    if expansion.parallel:
        lines.append(
            f"| {SHARDS} shards at once (wall) | {shards_s:.1f} | {floor:.1f} | {shards_s / floor:.2f} | "
            f"{max(r.pg_cpu_s for r in expansion.parallel):.1f} / {expansion.bare_cpu_s:.1f} | "
            f"{max(r.pg_cpu_s for r in expansion.parallel) / expansion.bare_cpu_s:.2f} | "
            f"{max(r.load for r in expansion.parallel):.1f} |"
        )
    before = "; ".join(
        f"{where}: job {job:.1f} s, bare {bare:.1f} s, ratio {job / bare:.2f}" for where, job, bare in BEFORE
    )
    lines += [
        "",
        f"Before `0009_lean_rows` (txid default through text, the job's events materialized), same benchmark: "
        f"{before}.",
    ]
    return lines


def run_expansion_only() -> str:
    """`python -m todoflow_dev.bench.pipeline`: the expansion and its floor only (for iteration; writes nothing)."""
    return "\n".join(expansion_section(bench_expand(prepare_database(), with_others=False)))


def run() -> str:
    """Run the pipeline benchmarks (expansion, sweep, event log); the Markdown section."""
    url = prepare_database()
    expansion = bench_expand(url)
    sweep = bench_sweep(url)
    events = bench_event_log(url)
    return report(expansion, sweep, events)


def report(expansion: Expansion, sweep: JobRun, events: JobRun) -> str:
    """The Markdown section."""
    big, small = expansion.big, expansion.small
    occurrences = SERIES * DAYS
    rate = EVENTS / events.job_s
    rss = big.job_rss_samples
    mid = rss[len(rss) // 4 : 3 * len(rss) // 4] or rss
    shards_s = expansion.parallel_wall_s
    loads = [r.load for r in (big, small, sweep, events, *expansion.parallel)]
    lines = [
        "## Pipeline jobs",
        "",
        "Each job runs as its command (`python -m todoflow.cli ...`, as in a job pod) against a dedicated "
        f"database `{BENCH_DB}`; {USERS:,} users in {len(ZONES)} time zones. Times are the job's own "
        "(from its log line); wall includes Python start-up. Peak memory is sampled every 50 ms: the job "
        "process's RSS, and the PostgreSQL backend serving it (RSS including the shared buffers it touches, "
        "USS = its private memory). The machine was shared with other work while this ran: 1-minute load "
        f"average {min(loads):.1f} to {max(loads):.1f} at the jobs' starts, on {os.cpu_count()} cores; so "
        "the CPU seconds the job and its PostgreSQL backend consumed are given too, as the figure least "
        "disturbed by the neighbours.",
        "",
        "| job | work | time | target | job peak RSS | PostgreSQL backend peak RSS / USS |",
        "|---|---|---|---|---|---|",
        f"| expand-recurrences, one process | {SERIES:,} daily series x {DAYS} days = {occurrences:,} occurrences, "
        f"{2 * occurrences:,} outbox events, {big.counts['chunks']} transactions | {big.job_s:.1f} s "
        f"(wall {big.wall_s:.1f} s, {occurrences / big.job_s:,.0f} occurrences/s; CPU: {_cpu(big)}) "
        f"| <= {TARGETS['expand_s']:.0f} s: "
        f"{_ok(big.job_s, TARGETS['expand_s'])} | {big.job_peak_rss:.0f} MiB | "
        f"{big.pg_peak_rss:.0f} / {big.pg_peak_uss:.0f} MiB |",
        f"| expand-recurrences, {SHARDS} shards at once (as the DAG maps them) | the same {occurrences:,} "
        f"occurrences | {shards_s:.1f} s wall for all shards ({occurrences / shards_s:,.0f} occurrences/s; "
        f"CPU: backends {max(r.pg_cpu_s for r in expansion.parallel):.1f} s) | "
        f"<= {TARGETS['expand_s']:.0f} s: {_ok(shards_s, TARGETS['expand_s'])} | "
        f"{max(r.job_peak_rss for r in expansion.parallel):.0f} MiB each | "
        f"{max(r.pg_peak_rss for r in expansion.parallel):.0f} / "
        f"{max(r.pg_peak_uss for r in expansion.parallel):.0f} MiB |",
        f"| expand-recurrences, a tenth | {SMALL_SERIES:,} series x {DAYS} days = {SMALL_SERIES * DAYS:,} occurrences "
        f"| {small.job_s:.1f} s | - | {small.job_peak_rss:.0f} MiB | {small.pg_peak_rss:.0f} / "
        f"{small.pg_peak_uss:.0f} MiB |",
        f"| sweep-due | {SWEEP_DUE:,} due (overdue included) among {SWEEP_TASKS:,} tasks: notified, "
        f"{sweep.counts['notifications']:,} notifications, {sweep.counts['events']:,} events, "
        f"{sweep.counts['batches']} transactions | {sweep.job_s:.1f} s (wall {sweep.wall_s:.1f} s; CPU: "
        f"{_cpu(sweep)}) | "
        f"<= {TARGETS['sweep_s']:.0f} s: {_ok(sweep.job_s, TARGETS['sweep_s'])} | {sweep.job_peak_rss:.0f} MiB | "
        f"{sweep.pg_peak_rss:.0f} / {sweep.pg_peak_uss:.0f} MiB |",
        f"| write-event-log | {EVENTS:,} events from a dedicated Kafka node (6 partitions per topic) into "
        f"task_event_log, batches of 2,000 | {events.job_s:.1f} s = {rate:,.0f} events/s (steady "
        f"{events.counts['steady_per_s']:,}/s, wall {events.wall_s:.1f} s; CPU: {_cpu(events)}) "
        f"| >= {TARGETS['events_per_s']:,.0f}/s: "
        f"{_ok(rate, TARGETS['events_per_s'], lower_is_better=False)} | {events.job_peak_rss:.0f} MiB | "
        f"{events.pg_peak_rss:.0f} / {events.pg_peak_uss:.0f} MiB |",
        "",
        f"Flat memory: the expansion job's RSS stayed between {min(mid):.0f} and {max(mid):.0f} MiB through the "
        f"middle half of the run and peaked at {big.job_peak_rss:.0f} MiB for {occurrences:,} occurrences, "
        f"against {small.job_peak_rss:.0f} MiB for a tenth of them; the backend's private memory peaked at "
        f"{big.pg_peak_uss:.0f} MiB (vs {small.pg_peak_uss:.0f} MiB): work per transaction is bounded by the chunk.",
        "",
        *expansion_section(expansion),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run_expansion_only())
