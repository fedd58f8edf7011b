"""The local Kafka broker: project topics exist as configured, and a message makes the round trip."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from todoflow.core.events import TOPICS
from todoflow.core.settings import get_settings


def test_project_topics_exist_with_configured_settings(kafka_bootstrap: str) -> None:
    settings = get_settings()
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    metadata = admin.list_topics(timeout=10)
    for topic in TOPICS:
        assert topic in metadata.topics, topic
        assert len(metadata.topics[topic].partitions) == settings.kafka_topic_partitions
    resource = ConfigResource(ConfigResource.Type.TOPIC, TOPICS[0])
    config = admin.describe_configs([resource])[resource].result()
    assert config["retention.ms"].value == str(settings.kafka_retention_ms)


def test_produced_message_is_consumed(kafka_bootstrap: str, consume: Callable[..., list[Any]]) -> None:
    # A private topic: the shared ones hold whatever earlier runs and the local stack published.
    topic = f"roundtrip-{uuid.uuid4().hex}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=30)
    try:
        key = f"user-{uuid.uuid4()}"
        bodies = [uuid.uuid4().hex.encode() for _ in range(5)]
        producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
        delivered: list[Any] = []
        for body in bodies:
            producer.produce(topic, key=key, value=body, on_delivery=lambda err, msg: delivered.append(err))
        assert producer.flush(10) == 0
        assert delivered == [None] * len(bodies)
        messages = consume(topic, len(bodies), timeout=20)
        # One key lands on one partition, so its messages come back in the order they were produced.
        assert [(m.key(), m.value()) for m in messages] == [(key.encode(), body) for body in bodies]
    finally:
        admin.delete_topics([topic])[topic].result(timeout=30)


def test_auto_topic_creation_is_off(kafka_bootstrap: str) -> None:
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "message.timeout.ms": 3000})
    errors: list[Any] = []
    producer.produce(f"no-such-topic-{uuid.uuid4().hex}", value=b"x", on_delivery=lambda e, m: errors.append(e))
    producer.flush(10)
    assert errors and errors[0] is not None
