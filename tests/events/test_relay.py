"""The relay against real PostgreSQL and Kafka: delivery, wake-up, commit order, retention, metrics."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Engine

from tests.events.support import KafkaTail, RelayProcess, outbox_counts, task_data, task_ids_by_key, write_task_events
from tests.support import StatsdListener, wait_until
from todoflow.core import outbox
from todoflow.core.event_schemas import validate_event
from todoflow.core.events import TASK_COMPLETED, TASK_CREATED, TASK_DELETED, TASK_UPDATED, TOPICS
from todoflow.relay import store
from todoflow.relay.service import instance_name


def test_each_outbox_row_reaches_its_topic_once_keyed_with_headers(
    engine: Engine, clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    reader = tail(*TOPICS)
    user = str(uuid.uuid4())
    written = []
    for event_type in (TASK_CREATED, TASK_UPDATED, TASK_COMPLETED):
        with engine.begin() as conn:
            written.append(outbox.write_event(conn, event_type, task_data(user, 7), key=user))
    deleted = {**task_data(user, 7), "deleted_at": "2026-01-01T00:00:00Z"}
    with engine.begin() as conn:
        written.append(outbox.write_event(conn, TASK_DELETED, deleted, key=user))
    start_relay().wait_active()

    received = reader.collect(4, timeout=30)
    reader.settle()
    assert len(reader.received) == 4, "each row is published exactly once"
    by_id = {r.event["event_id"]: r for r in received}
    assert set(by_id) == {e["event_id"] for e in written}
    for event in written:
        message = by_id[event["event_id"]]
        assert message.topic == event["event_type"]
        assert message.key == user
        assert message.headers["event_type"] == event["event_type"].encode()
        assert message.headers["content-type"] == b"application/json"
        assert message.headers["event_id"] == event["event_id"].encode()
        assert message.event == event
        validate_event(message.event)
    wait_until(lambda: outbox_counts(clean_db) == (4, 0), 10, "all rows marked published")


def test_relay_wakes_on_notify_without_polling(
    engine: Engine, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    # With polling effectively off, only the NOTIFY of the insert can wake the idle relay.
    start_relay(RELAY_POLL_INTERVAL_SECONDS="3600").wait_active()
    reader = tail(TASK_CREATED)
    user = str(uuid.uuid4())
    for task_id in (1, 2, 3):
        write_task_events(engine, [(user, task_id)])
        received = reader.collect(task_id, timeout=20, where=lambda r: r.key == user)
    assert [r.event["data"]["task_id"] for r in received] == [1, 2, 3]


def test_polling_fallback_finds_rows_without_notify(
    clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    start_relay(RELAY_POLL_INTERVAL_SECONDS="0.3").wait_active()
    reader = tail(TASK_CREATED)
    user = str(uuid.uuid4())
    with psycopg.connect(clean_db, autocommit=True) as conn:
        # Triggers do not fire in replica mode: this insert sends no NOTIFY at all.
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            event = _write_raw(conn, user, 1)
    received = reader.collect(1, timeout=20, where=lambda r: r.key == user)
    assert received[0].event["event_id"] == event["event_id"]


def _write_raw(conn: psycopg.Connection[Any], user: str, task_id: int) -> dict[str, Any]:
    """write_event's insert on a plain psycopg connection (for sessions with special settings)."""
    import json

    from todoflow.core.events import envelope

    event = envelope(TASK_CREATED, outbox.to_json_data(task_data(user, task_id)))
    validate_event(event)
    conn.execute(
        "INSERT INTO event_outbox (event_id, topic, message_key, payload) VALUES (%s, %s, %s, %s::jsonb)",
        (event["event_id"], TASK_CREATED, user, json.dumps(event)),
    )
    return event


def test_transactions_committing_out_of_id_order_are_both_published(
    clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    start_relay().wait_active()
    reader = tail(TASK_CREATED)
    user = str(uuid.uuid4())
    with psycopg.connect(clean_db) as first, psycopg.connect(clean_db) as second:
        # first takes outbox id 1 (and the smaller txid), second takes id 2; second commits first.
        e1 = _write_raw(first, user, 1)
        e2 = _write_raw(second, user, 2)
        ids = dict(first.execute("SELECT event_id::text, id FROM event_outbox").fetchall())
        assert (
            ids[e1["event_id"]]
            < second.execute("SELECT id FROM event_outbox WHERE event_id = %s", (e2["event_id"],)).fetchone()[0]
        )
        second.commit()
        # A relay reading "id > last seen" would now publish 2 and step over 1 for good. Ours must not
        # even publish 2 yet: the open transaction of 1 holds xmin back, so 2 waits to keep the order.
        with psycopg.connect(clean_db, autocommit=True) as watcher:
            wait_until(
                lambda: (
                    watcher.execute("SELECT count(*) FROM event_outbox WHERE published_at IS NULL").fetchone()[0] == 1
                ),
                10,
                "the committed row to be visible",
            )
        reader.settle(quiet=1.0)
        assert not [r for r in reader.received if r.key == user]
        first.commit()
    received = reader.collect(2, timeout=20, where=lambda r: r.key == user)
    assert [r.event["event_id"] for r in received] == [e1["event_id"], e2["event_id"]]
    wait_until(lambda: outbox_counts(clean_db) == (2, 0), 10, "both rows marked published")


def test_txid_order_and_id_order_disagreeing_loses_nothing(
    clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    start_relay().wait_active()
    reader = tail(TASK_CREATED)
    user = str(uuid.uuid4())
    with psycopg.connect(clean_db) as early, psycopg.connect(clean_db) as late:
        early.execute("SELECT pg_current_xact_id()")  # early gets the smaller transaction id ...
        e_late = _write_raw(late, user, 1)  # ... but late takes the smaller outbox id
        e_early = _write_raw(early, user, 2)
        late.commit()
        early.commit()
    received = reader.collect(2, timeout=20, where=lambda r: r.key == user)
    # Published in transaction order: the one that got its transaction id first comes first.
    assert [r.event["event_id"] for r in received] == [e_early["event_id"], e_late["event_id"]]


def test_many_users_concurrent_writers_all_delivered_in_per_user_order(
    engine: Engine, clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    import threading

    start_relay(RELAY_BATCH_SIZE="50").wait_active()
    reader = tail(TASK_CREATED)
    users = [str(uuid.uuid4()) for _ in range(8)]

    def writer(user: str) -> None:
        # Each user's changes are sequential (one request after the other), users run concurrently.
        write_task_events(engine, [(user, n) for n in range(1, 151)])

    threads = [threading.Thread(target=writer, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    received = reader.collect(8 * 150, timeout=60, where=lambda r: r.key in users)
    reader.settle()
    assert len([r for r in reader.received if r.key in users]) == 8 * 150, "no duplicates in steady state"
    for user, task_ids in task_ids_by_key(received).items():
        assert task_ids == list(range(1, 151)), user


def test_purge_deletes_only_old_published_rows_in_bounded_batches(engine: Engine, clean_db: str) -> None:
    user = str(uuid.uuid4())
    write_task_events(engine, [(user, n) for n in range(1, 11)], per_transaction=10)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM event_outbox ORDER BY id")]
        old, recent, unpublished_old = ids[:5], ids[5:8], ids[8:]
        conn.execute("UPDATE event_outbox SET published_at = now() - interval '73 hours' WHERE id = ANY(%s)", (old,))
        conn.execute("UPDATE event_outbox SET published_at = now() - interval '71 hours' WHERE id = ANY(%s)", (recent,))
        conn.execute(
            "UPDATE event_outbox SET created_at = now() - interval '100 hours' WHERE id = ANY(%s)", (unpublished_old,)
        )
        deleted = []
        while n := store.purge_published(conn, retention_hours=72, batch_size=2):
            deleted.append(n)
        assert deleted == [2, 2, 1]
        remaining = [r[0] for r in conn.execute("SELECT id FROM event_outbox ORDER BY id")]
    assert remaining == recent + unpublished_old


def test_running_relay_purges_after_the_configured_retention(
    engine: Engine, clean_db: str, start_relay: Callable[..., RelayProcess]
) -> None:
    user = str(uuid.uuid4())
    write_task_events(engine, [(user, n) for n in range(1, 8)], per_transaction=7)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM event_outbox ORDER BY id")]
        conn.execute("UPDATE event_outbox SET published_at = now() - interval '3 hours' WHERE id = ANY(%s)", (ids[:5],))
    start_relay(OUTBOX_RETENTION_HOURS="2", RELAY_PURGE_INTERVAL_SECONDS="0.2", RELAY_PURGE_BATCH_SIZE="2")
    # The two unpublished rows get published now and are young: they stay; the five old ones go.
    wait_until(lambda: outbox_counts(clean_db) == (2, 0), 30, "old published rows purged")
    with psycopg.connect(clean_db, autocommit=True) as conn:
        assert [r[0] for r in conn.execute("SELECT id FROM event_outbox ORDER BY id")] == ids[5:]


def test_metrics_report_publishing_and_lag(
    engine: Engine,
    clean_db: str,
    statsd_listener: StatsdListener,
    tail: Callable[..., KafkaTail],
    start_relay: Callable[..., RelayProcess],
) -> None:
    reader = tail(TASK_CREATED)
    user = str(uuid.uuid4())
    write_task_events(engine, [(user, n) for n in range(1, 301)], per_transaction=100)
    start_relay(RELAY_BATCH_SIZE="100").wait_active()
    reader.collect(300, timeout=30, where=lambda r: r.key == user)
    wait_until(lambda: outbox_counts(clean_db) == (300, 0), 10, "all marked")
    wait_until(lambda: 0 in statsd_listener.values("todoflow.relay.outbox.lag", "g"), 10, "lag back to 0")
    assert statsd_listener.values("todoflow.relay.outbox.lag", "g")[0] == 300
    assert sum(statsd_listener.values("todoflow.relay.published", "c")) == 300
    assert statsd_listener.values(f"todoflow.relay.leader.{instance_name()}", "g")[-1] == 1
    assert len(statsd_listener.values("todoflow.relay.batch.duration", "ms")) >= 3
    assert statsd_listener.values("todoflow.relay.batch.size", "g")[:3] == [100, 100, 100]
    assert statsd_listener.values("todoflow.relay.outbox.oldest_age_seconds", "g")
    assert not statsd_listener.values("todoflow.relay.errors.publish", "c")


def test_a_message_kafka_refuses_blocks_loudly_and_is_never_skipped(
    engine: Engine,
    clean_db: str,
    statsd_listener: StatsdListener,
    tail: Callable[..., KafkaTail],
    start_relay: Callable[..., RelayProcess],
) -> None:
    reader = tail(TASK_CREATED)
    user = str(uuid.uuid4())
    with psycopg.connect(clean_db, autocommit=True) as conn:
        # Larger than the producer's message.max.bytes: produce() refuses it outright.
        poison = {"event_id": str(uuid.uuid4()), "event_type": TASK_CREATED, "data": {"blob": "x" * 1_500_000}}
        conn.execute(
            "INSERT INTO event_outbox (event_id, topic, message_key, payload) VALUES (%s, %s, %s, %s::jsonb)",
            (poison["event_id"], TASK_CREATED, user, json.dumps(poison)),
        )
    after = write_task_events(engine, [(user, 2)])[0]
    relay = start_relay()
    wait_until(lambda: len(statsd_listener.values("todoflow.relay.errors.publish", "c")) >= 2, 30, "retries")
    assert relay.alive()
    assert "Message size too large" in relay.output() or "MSG_SIZE_TOO_LARGE" in relay.output()
    assert outbox_counts(clean_db) == (0, 2), "the event behind it waits: per-key order is never broken"
    assert not [r for r in reader.settle(quiet=1.0) if r.key == user]
    # The operator's way out (README): remove the row that can never be delivered; the rest follows.
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM event_outbox WHERE event_id = %s", (poison["event_id"],))
    received = reader.collect(1, timeout=30, where=lambda r: r.key == user)
    assert received[0].event["event_id"] == after["event_id"]


def test_open_transaction_in_another_database_does_not_hold_publication_back(
    engine: Engine, clean_db: str, tail: Callable[..., KafkaTail], start_relay: Callable[..., RelayProcess]
) -> None:
    from todoflow_dev.devstack import postgres

    start_relay().wait_active()
    reader = tail(TASK_CREATED)
    user = str(uuid.uuid4())
    with psycopg.connect(postgres.admin_url("postgres")) as elsewhere, psycopg.connect(clean_db) as here:
        elsewhere.execute("SELECT pg_current_xact_id()")  # an older transaction id, open in another database
        here.execute("SELECT pg_current_xact_id()")  # and one open in ours, which started before the event
        event = write_task_events(engine, [(user, 1)])[0]
        reader.settle(quiet=1.0)
        assert not [r for r in reader.received if r.key == user], "an older transaction of ours may still write"
        here.rollback()
        received = reader.collect(1, timeout=20, where=lambda r: r.key == user)
        assert received[0].event["event_id"] == event["event_id"]
        elsewhere.rollback()
