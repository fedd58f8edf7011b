"""Fixtures of the event tests: a private Kafka broker (these tests stop and start it), relays, StatsD.

The shared broker on LOCAL_KAFKA_PORT is never stopped here, nor written to: every event test runs
against its own KRaft node (same jars and configuration) under .dev/kafka-faults/.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.events.support import KafkaTail, RelayProcess, relay_environment
from tests.support import StatsdListener
from todoflow.core import db
from todoflow.core.events import TOPICS
from todoflow.core.settings import DEV_DIR, LOCAL_KAFKA_PORT, Settings
from todoflow.core.topics import ensure_topics
from todoflow_dev.devstack.kafka import Broker, wait_for_leaders

FAULT_BROKER = Broker(name="kafka-faults", port=LOCAL_KAFKA_PORT + 100, home=DEV_DIR / "kafka-faults")


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """The private broker with the project's topics, fresh for the session and stopped after it."""
    if not FAULT_BROKER.is_running():
        shutil.rmtree(FAULT_BROKER.data_dir, ignore_errors=True)
    FAULT_BROKER.start()
    ensure_topics(Settings(kafka_bootstrap_servers=FAULT_BROKER.bootstrap))
    wait_for_leaders(FAULT_BROKER.bootstrap, TOPICS)
    yield FAULT_BROKER
    FAULT_BROKER.stop()


@pytest.fixture
def engine(clean_db: str) -> Iterator[Engine]:
    """A SQLAlchemy engine on the emptied test database."""
    eng = db.make_engine(clean_db, pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture
def tail(broker: Broker) -> Iterator[Callable[..., KafkaTail]]:
    """tail(topics) -> a reader of what is written to topics from now on."""
    tails: list[KafkaTail] = []

    def _tail(*topics: str) -> KafkaTail:
        reader = KafkaTail(broker.bootstrap, topics)
        tails.append(reader)
        return reader

    yield _tail
    for reader in tails:
        reader.close()


@pytest.fixture
def start_relay(
    clean_db: str, broker: Broker, statsd_listener: StatsdListener, tmp_path: Path
) -> Iterator[Callable[..., RelayProcess]]:
    """start_relay(**env) -> a running `todoflow relay` on the test database and private broker."""
    relays: list[RelayProcess] = []

    def _start(**env: str) -> RelayProcess:
        environment = relay_environment(clean_db, broker.bootstrap, statsd_listener.port, **env)
        relay = RelayProcess(environment, tmp_path / f"relay-{len(relays)}.log")
        relays.append(relay)
        return relay

    yield _start
    for relay in relays:
        relay.kill()
