"""The relay under faults: SIGKILL mid-batch, a second relay beside the first, SIGTERM (Kafka down: test_api_events)."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Engine

from tests.events.support import (
    KafkaTail,
    RelayProcess,
    first_occurrences,
    outbox_counts,
    task_ids_by_key,
    write_task_events,
)
from tests.support import wait_until
from todoflow.core.events import TASK_CREATED
from todoflow_dev.devstack import procs
from todoflow_dev.devstack.kafka import Broker


def _interleaved(users: list[str], per_user: int) -> list[tuple[str, int]]:
    """(user, n) for n = 1..per_user, users interleaved, each user's n increasing."""
    return [(user, n) for n in range(1, per_user + 1) for user in users]


def _assert_complete_and_ordered(received: list, users: list[str], per_user: int) -> None:
    unique = first_occurrences(received)
    by_key = task_ids_by_key(unique)
    assert set(by_key) == set(users)
    for user in users:
        assert by_key[user] == list(range(1, per_user + 1)), f"{user}: gap or order broken"


def test_sigkill_during_a_busy_stream_loses_nothing(
    engine: Engine, clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    users = [str(uuid.uuid4()) for _ in range(10)]
    per_user = 1500
    total = len(users) * per_user
    reader = tail(TASK_CREATED)
    write_task_events(engine, _interleaved(users, per_user), per_transaction=500)
    batch = 100
    kills = 0
    for threshold in (total // 5, total // 2, 4 * total // 5):
        relay = start_relay(RELAY_BATCH_SIZE=str(batch))
        wait_until(lambda t=threshold: outbox_counts(clean_db)[0] >= t, 60, f"{threshold} rows published", 0.005)
        relay.kill()
        kills += 1
        assert outbox_counts(clean_db)[1] > 0, "the relay was killed while rows were still unpublished"
    start_relay(RELAY_BATCH_SIZE=str(batch))
    wait_until(lambda: outbox_counts(clean_db) == (total, 0), 120, "everything published after the restarts")
    received = reader.collect(total, timeout=60, where=lambda r: r.key in users)
    received = reader.settle()
    _assert_complete_and_ordered(received, users, per_user)
    # A kill re-sends at most the batch that was in flight: duplicates, bounded, never a gap.
    assert len(received) - total <= kills * batch


def test_sigkill_while_a_batch_awaits_its_acknowledgements(
    engine: Engine,
    clean_db: str,
    broker: Broker,
    tail: Callable[..., KafkaTail],
    start_relay: Callable[..., RelayProcess],
) -> None:
    users = [str(uuid.uuid4()) for _ in range(3)]
    reader = tail(TASK_CREATED)
    relay = start_relay(RELAY_MESSAGE_TIMEOUT_MS="60000")
    relay.wait_active()
    broker_pid = procs.read_pid(broker.name)
    assert broker_pid is not None
    # A frozen broker holds the batch between produce() and its delivery reports: the relay is mid-batch.
    os.kill(broker_pid, signal.SIGSTOP)
    try:
        write_task_events(engine, _interleaved(users, 40), per_transaction=10)
        time.sleep(1.5)  # let the relay read and produce the batch, which now waits for acknowledgements
        assert outbox_counts(clean_db) == (0, 120)
        relay.kill()
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    start_relay()
    wait_until(lambda: outbox_counts(clean_db) == (120, 0), 60, "everything published after the restart")
    reader.collect(120, timeout=30, where=lambda r: r.key in users)
    _assert_complete_and_ordered(reader.settle(), users, 40)


def test_second_relay_stands_by_then_takes_over(
    engine: Engine, clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    users = [str(uuid.uuid4()) for _ in range(8)]
    reader = tail(TASK_CREATED)
    first = start_relay(RELAY_BATCH_SIZE="50")
    first.wait_active()
    second = start_relay(RELAY_BATCH_SIZE="50")
    second.wait_for_log("standing by")

    def write(start: int, stop: int) -> None:
        # Users write concurrently, each user's changes one after the other.
        threads = [
            threading.Thread(target=write_task_events, args=(engine, [(u, n) for n in range(start, stop)]))
            for u in users
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    write(1, 201)
    reader.collect(8 * 200, timeout=60, where=lambda r: r.key in users)
    steady = reader.settle()
    assert len(steady) == 8 * 200, "two relays side by side publish nothing twice"
    _assert_complete_and_ordered(steady, users, 200)
    assert "holding the relay lock" not in second.output()

    first.kill()
    second.wait_active()
    write(201, 301)
    reader.collect(8 * 300, timeout=60, where=lambda r: r.key in users)
    _assert_complete_and_ordered(reader.settle(), users, 300)
    wait_until(lambda: outbox_counts(clean_db) == (2400, 0), 20, "all rows marked published")


def test_sigterm_finishes_the_batch_and_releases_the_lock(
    engine: Engine, clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    users = [str(uuid.uuid4()) for _ in range(4)]
    reader = tail(TASK_CREATED)
    write_task_events(engine, _interleaved(users, 1500), per_transaction=500)
    relay = start_relay(RELAY_BATCH_SIZE="100")
    wait_until(lambda: outbox_counts(clean_db)[0] >= 1000, 60, "publishing under way", 0.005)
    assert relay.terminate(timeout=30) == 0
    assert "relay stopped" in relay.output()
    successor = start_relay(RELAY_BATCH_SIZE="100")
    successor.wait_active(timeout=10)
    wait_until(lambda: outbox_counts(clean_db) == (6000, 0), 60, "the successor to finish")
    reader.collect(6000, timeout=60, where=lambda r: r.key in users)
    received = reader.settle()
    # Graceful: the interrupted batch was confirmed and marked, so nothing was sent twice.
    assert len(received) == 6000
    _assert_complete_and_ordered(received, users, 1500)
