"""The suite never touches the running local stack (`make up`): its own PostgreSQL, Kafka, state and StatsD port.

Before this, the suite reused the stack's PostgreSQL cluster and wrote into the stack's Kafka topics, and the
stack's event-log writer stored those events as history of users that did not exist.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from todoflow.core import settings as core_settings
from todoflow_dev.devstack import kafka as local_kafka
from todoflow_dev.devstack import postgres as local_pg

# What `make up` uses when nothing is set (core/settings.py and the StatsD default).
STACK_PG_PORT, STACK_KAFKA_PORT, STACK_STATSD_PORT = 55432, 59092, 8125


def test_the_suite_talks_to_its_own_services_never_the_stacks(database_url: str) -> None:
    current = core_settings.get_settings()
    assert urlsplit(current.database_url).port not in (None, STACK_PG_PORT)
    assert urlsplit(database_url).port == urlsplit(current.database_url).port
    assert int(current.kafka_bootstrap_servers.rsplit(":", 1)[1]) != STACK_KAFKA_PORT
    assert current.statsd_port != STACK_STATSD_PORT
    # The servers the fixtures start keep their state apart from the stack's .dev/ tree.
    stack_dev = core_settings.REPO_ROOT / ".dev"
    assert core_settings.DEV_DIR != stack_dev
    assert local_pg.DATA_DIR.is_relative_to(core_settings.DEV_DIR)
    assert local_kafka.DATA_DIR.is_relative_to(core_settings.DEV_DIR)
    assert local_pg.LOCAL_PG_PORT != STACK_PG_PORT and local_kafka.LOCAL_KAFKA_PORT != STACK_KAFKA_PORT
