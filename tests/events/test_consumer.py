"""The consumer helper: work done once per event, offsets only after the database commit, bad input skipped."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.events.support import task_data
from todoflow.core.consumer import ConsumedMessage, consume, purge_consumed_events
from todoflow.core.events import TASK_CREATED, envelope
from todoflow.core.outbox import to_json_data
from todoflow_dev.devstack.kafka import Broker


@pytest.fixture
def topic(broker: Broker) -> Iterator[str]:
    """A fresh topic of three partitions, so nothing but this test's messages is in it."""
    name = f"consumer-test-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result()
    yield name
    admin.delete_topics([name])[name].result()


@pytest.fixture
def produce(broker: Broker) -> Callable[..., None]:
    """produce(topic, [(key, value bytes), ...]) with delivery confirmed."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "acks": "all"})

    def _produce(topic: str, messages: list[tuple[str, bytes]]) -> None:
        for key, value in messages:
            producer.produce(topic, value, key.encode())
        assert producer.flush(20) == 0

    return _produce


def _event(user: str, task_id: int) -> dict[str, Any]:
    return envelope(TASK_CREATED, to_json_data(task_data(user, task_id)))


def _raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


class Work:
    """A handler whose work is a row per event in a table (so 'done once' is checked in the database)."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.calls: list[list[str]] = []
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS consumer_test_work")
            conn.execute("CREATE TABLE consumer_test_work (event_id uuid, task_id bigint, kafka_key text)")

    def __call__(self, conn: psycopg.Connection, messages: list[ConsumedMessage]) -> None:
        self.calls.append([m.event["event_id"] for m in messages])
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO consumer_test_work VALUES (%s, %s, %s)",
                [(m.event["event_id"], m.event["data"]["task_id"], m.key) for m in messages],
            )

    def rows(self) -> list[tuple[str, int, str]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return [
                (str(r[0]), r[1], r[2])
                for r in conn.execute("SELECT event_id, task_id, kafka_key FROM consumer_test_work ORDER BY task_id")
            ]


@pytest.fixture
def work(clean_db: str) -> Iterator[Work]:
    w = Work(clean_db)
    yield w
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS consumer_test_work")


def _run(group: str, topic: str, handle: Any, database_url: str, bootstrap: str, expect: int, **kw: Any):
    return consume(
        group,
        [topic],
        handle,
        max_messages=expect,
        max_seconds=kw.pop("max_seconds", 30),
        database_url=database_url,
        kafka_config={"bootstrap.servers": bootstrap},
        **kw,
    )


def test_same_event_twice_in_one_batch_does_its_work_once(
    clean_db: str, broker: Broker, topic: str, produce: Callable[..., None], work: Work
) -> None:
    user = str(uuid.uuid4())
    e1, e2 = _event(user, 1), _event(user, 2)
    produce(topic, [(user, _raw(e1)), (user, _raw(e1)), (user, _raw(e2))])
    stats = _run(f"g-{uuid.uuid4().hex}", topic, work, clean_db, broker.bootstrap, expect=3)
    assert (stats.messages, stats.processed, stats.duplicates, stats.invalid) == (3, 2, 1, 0)
    assert work.rows() == [(e1["event_id"], 1, user), (e2["event_id"], 2, user)]


def test_redelivered_event_in_a_later_run_does_its_work_once(
    clean_db: str, broker: Broker, topic: str, produce: Callable[..., None], work: Work
) -> None:
    user = str(uuid.uuid4())
    group = f"g-{uuid.uuid4().hex}"
    e1, e2, e3 = _event(user, 1), _event(user, 2), _event(user, 3)
    produce(topic, [(user, _raw(e1)), (user, _raw(e2))])
    first = _run(group, topic, work, clean_db, broker.bootstrap, expect=2)
    assert (first.processed, first.duplicates) == (2, 0)
    # The relay re-sends e1 (say it was killed before marking it): the same envelope arrives again.
    produce(topic, [(user, _raw(e1)), (user, _raw(e3))])
    second = _run(group, topic, work, clean_db, broker.bootstrap, expect=2)
    assert (second.messages, second.processed, second.duplicates) == (2, 1, 1)
    assert [r[1] for r in work.rows()] == [1, 2, 3]
    with psycopg.connect(clean_db, autocommit=True) as conn:
        recorded = {
            str(r[0]) for r in conn.execute("SELECT event_id FROM consumed_events WHERE consumer_group = %s", (group,))
        }
    assert recorded == {e1["event_id"], e2["event_id"], e3["event_id"]}


def test_another_group_does_its_own_work(
    clean_db: str, broker: Broker, topic: str, produce: Callable[..., None], work: Work
) -> None:
    user = str(uuid.uuid4())
    produce(topic, [(user, _raw(_event(user, 1)))])
    assert _run(f"a-{uuid.uuid4().hex}", topic, work, clean_db, broker.bootstrap, expect=1).processed == 1
    assert _run(f"b-{uuid.uuid4().hex}", topic, work, clean_db, broker.bootstrap, expect=1).processed == 1
    assert len(work.rows()) == 2


def test_offsets_are_committed_after_the_work_so_a_rerun_reads_nothing(
    clean_db: str, broker: Broker, topic: str, produce: Callable[..., None], work: Work
) -> None:
    user = str(uuid.uuid4())
    group = f"g-{uuid.uuid4().hex}"
    produce(topic, [(user, _raw(_event(user, n))) for n in range(1, 51)])
    stats = _run(group, topic, work, clean_db, broker.bootstrap, expect=50, batch_size=20)
    assert (stats.processed, stats.batches >= 3) == (50, True)
    again = _run(group, topic, work, clean_db, broker.bootstrap, expect=1, max_seconds=4)
    assert again.messages == 0
    assert len(work.rows()) == 50


def test_failed_work_commits_neither_database_nor_offsets(
    clean_db: str, broker: Broker, topic: str, produce: Callable[..., None], work: Work
) -> None:
    user = str(uuid.uuid4())
    group = f"g-{uuid.uuid4().hex}"
    produce(topic, [(user, _raw(_event(user, n))) for n in (1, 2, 3)])

    def failing(conn: psycopg.Connection, messages: list[ConsumedMessage]) -> None:
        work(conn, messages)  # the work is written, then the job fails before the end of the batch
        raise RuntimeError("job crashed")

    with pytest.raises(RuntimeError, match="job crashed"):
        _run(group, topic, failing, clean_db, broker.bootstrap, expect=3)
    assert work.rows() == []
    with psycopg.connect(clean_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM consumed_events").fetchone()[0] == 0
    # Nothing was committed anywhere, so the next run gets the same events and does the work.
    stats = _run(group, topic, work, clean_db, broker.bootstrap, expect=3)
    assert (stats.messages, stats.processed) == (3, 3)
    assert [r[1] for r in work.rows()] == [1, 2, 3]


def test_invalid_messages_are_counted_and_skipped_not_retried(
    clean_db: str, broker: Broker, topic: str, produce: Callable[..., None], work: Work
) -> None:
    user = str(uuid.uuid4())
    group = f"g-{uuid.uuid4().hex}"
    good = _event(user, 1)
    bad_schema = {**_event(user, 2), "data": {"task_id": "not a number"}}
    bad_id = {**_event(user, 3), "event_id": "not-a-uuid"}
    produce(
        topic,
        [
            (user, b"\xff not json"),
            (user, b"[1, 2]"),
            (user, _raw(bad_schema)),
            (user, _raw(bad_id)),
            (user, _raw(good)),
        ],
    )
    stats = _run(group, topic, work, clean_db, broker.bootstrap, expect=5)
    assert (stats.messages, stats.invalid, stats.processed, stats.duplicates) == (5, 4, 1, 0)
    assert work.rows() == [(good["event_id"], 1, user)]
    # Their offsets were committed with the batch: a rerun does not trip over them again.
    assert _run(group, topic, work, clean_db, broker.bootstrap, expect=1, max_seconds=4).messages == 0


def test_purge_consumed_events_keeps_the_recent_ones(clean_db: str) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        for age_hours in (1, 1, 500, 500, 500):
            conn.execute(
                "INSERT INTO consumed_events (consumer_group, event_id, consumed_at) "
                "VALUES ('g', %s, now() - make_interval(hours => %s))",
                (uuid.uuid4(), age_hours),
            )
    assert purge_consumed_events(clean_db, retention_hours=200, batch_size=2) == 3
    with psycopg.connect(clean_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM consumed_events").fetchone()[0] == 2
    # The default retention outlives the topics' retention (7 days locally): 500 h old rows are gone, 1 h kept.
    assert purge_consumed_events(clean_db) == 0
