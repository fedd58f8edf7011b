"""Creates the project's Kafka topics with explicit partitions, replication and retention."""

from __future__ import annotations

import logging

from confluent_kafka.admin import NewTopic

from todoflow.core.events import ALL_TOPICS
from todoflow.core.kafka import admin_client, cluster_metadata
from todoflow.core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def topic_specs(settings: Settings) -> list[NewTopic]:
    """The topics as configuration says (replication 3 in production, 1 on the local broker)."""
    config = {
        "retention.ms": str(settings.kafka_retention_ms),
        "cleanup.policy": "delete",
        "min.insync.replicas": str(min(2, settings.kafka_replication_factor)),
    }
    return [
        NewTopic(
            topic,
            num_partitions=settings.kafka_topic_partitions,
            replication_factor=settings.kafka_replication_factor,
            config=config,
        )
        for topic in ALL_TOPICS
    ]


def ensure_topics(settings: Settings | None = None, timeout: float = 30.0) -> list[str]:
    """Create any missing topic; returns the names created. KafkaRefused at once if the brokers refuse us."""
    settings = settings or get_settings()
    admin, watch = admin_client(settings)
    existing = set(cluster_metadata(admin, watch, timeout).topics)
    missing = [spec for spec in topic_specs(settings) if spec.topic not in existing]
    if not missing:
        return []
    created = []
    for topic, future in admin.create_topics(missing, request_timeout=timeout).items():
        try:
            future.result()
            created.append(topic)
        except Exception as exc:  # a concurrent creator may have won the race
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    log.info("created topics %s", created)
    return created
