"""The event_log DAG's lag probe against the real broker: it counts what a group has not committed yet."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from todoflow.pipeline.kafka_lag import consumer_lag


@pytest.fixture
def topic(kafka_bootstrap: str) -> Iterator[str]:
    """A private two-partition topic (the project's topics carry real events that others consume)."""
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    name = f"todoflow-test-lag-{uuid.uuid4().hex[:10]}"
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])[name].result(timeout=30)
    # Creation returns before every broker's metadata lists the topic with its leaders.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if described and described.error is None and len(described.partitions) == 2:
            if all(p.leader >= 0 for p in described.partitions.values()):
                break
        time.sleep(0.2)
    yield name
    admin.delete_topics([name])[name].result(timeout=30)


def _produce(bootstrap: str, topic: str, partition: int, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(n):
        producer.produce(topic, value=f"m{i}".encode(), partition=partition)
    assert producer.flush(30) == 0


def _commit(bootstrap: str, group: str, offsets: list[TopicPartition]) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def test_lag_counts_uncommitted_messages_per_topic(kafka_bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    group = f"test-lag-{uuid.uuid4().hex}"
    assert consumer_lag(admin, group, [topic, "no-such-topic"]) == {topic: 0}

    _produce(kafka_bootstrap, topic, 0, 3)
    _produce(kafka_bootstrap, topic, 1, 2)
    assert consumer_lag(admin, group, [topic]) == {topic: 5}  # nothing committed: from the log start

    _commit(kafka_bootstrap, group, [TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 2)])
    assert consumer_lag(admin, group, [topic]) == {topic: 1}

    _commit(kafka_bootstrap, group, [TopicPartition(topic, 0, 3)])
    assert consumer_lag(admin, group, [topic]) == {topic: 0}
    # Another group's progress is its own.
    assert consumer_lag(admin, f"{group}-other", [topic]) == {topic: 5}


def test_probing_never_joins_the_group(kafka_bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    group = f"test-lag-{uuid.uuid4().hex}"
    _produce(kafka_bootstrap, topic, 0, 1)
    consumer_lag(admin, group, [topic])
    described = admin.describe_consumer_groups([group])[group].result(timeout=30)
    assert described.members == []
