"""How many events a consumer group has not consumed yet, read from the brokers without joining the group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import OffsetSpec

from todoflow.core.kafka import client_config
from todoflow.core.settings import Settings


def airflow_connection(settings: Settings | None = None) -> dict[str, Any]:
    """The Airflow connection the probe's KafkaAdminClientHook reads, in the JSON form AIRFLOW_CONN_<ID> takes.

    Its extra is the configuration every other Kafka client uses (core/kafka.py): brokers, security
    protocol, SASL mechanism and credentials, CA file (a path that must exist where the probe runs).
    """
    return {"conn_type": "kafka", "extra": client_config(settings)}


def consumer_lag(admin: Any, group: str, topics: Sequence[str], timeout: float = 15.0) -> dict[str, int]:
    """Per topic, the messages after the group's committed offsets (from the log start where none is committed).

    admin is a confluent_kafka AdminClient (e.g. KafkaAdminClientHook(...).get_conn); only metadata and
    offsets are read, so the probe never triggers a rebalance of the group it looks at.
    """
    metadata = admin.list_topics(timeout=timeout)
    partitions = [
        TopicPartition(topic, partition)
        for topic in topics
        if topic in metadata.topics
        for partition in sorted(metadata.topics[topic].partitions)
    ]
    if not partitions:
        return {}
    request = [ConsumerGroupTopicPartitions(group, partitions)]
    committed_result = admin.list_consumer_group_offsets(request, request_timeout=timeout)[group].result()
    committed = {(tp.topic, tp.partition): tp.offset for tp in committed_result.topic_partitions}
    earliest = _offsets(admin, partitions, OffsetSpec.earliest(), timeout)
    latest = _offsets(admin, partitions, OffsetSpec.latest(), timeout)
    lag: dict[str, int] = {}
    for tp in partitions:
        key = (tp.topic, tp.partition)
        start = max(committed.get(key, -1), earliest[key])  # a negative offset means "nothing committed"
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, latest[key] - start)
    return lag


def _offsets(admin: Any, partitions: Sequence[TopicPartition], spec: OffsetSpec, timeout: float) -> dict:
    futures = admin.list_offsets({tp: spec for tp in partitions}, request_timeout=timeout)
    return {(tp.topic, tp.partition): future.result().offset for tp, future in futures.items()}
