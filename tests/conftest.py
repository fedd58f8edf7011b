"""Shared fixtures: the suite's own PostgreSQL and Kafka (not the local stack's), started here when not running."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# The suite runs its own PostgreSQL and Kafka (own ports, own state under .dev/test), never the local stack's
# (`make up`): set before anything imports todoflow, whose settings read these at import time. A developer's
# stack survives `make test` unchanged; two checkouts can test at once by moving TODOFLOW_TEST_*.
_REPO = Path(__file__).resolve().parents[1]
os.environ["TODOFLOW_DEV_DIR"] = os.environ.get("TODOFLOW_TEST_DEV_DIR") or str(_REPO / ".dev" / "test")
os.environ["TODOFLOW_PG_PORT"] = os.environ.get("TODOFLOW_TEST_PG_PORT") or "56432"
os.environ["TODOFLOW_KAFKA_PORT"] = os.environ.get("TODOFLOW_TEST_KAFKA_PORT") or "60092"
# StatsD too: metrics of the suite never reach the local stack's exporter (tests that read metrics bind their own).
os.environ["STATSD_HOST"] = "127.0.0.1"
os.environ["STATSD_PORT"] = os.environ.get("TODOFLOW_TEST_STATSD_PORT") or "58125"

import psycopg  # noqa: E402
import pytest  # noqa: E402

from tests.support import StatsdListener  # noqa: E402
from todoflow_dev.devstack import kafka as local_kafka  # noqa: E402
from todoflow_dev.devstack import postgres as local_pg  # noqa: E402

TEST_DB = os.environ.get("TODOFLOW_TEST_DB", "todoflow_test")
APP_TABLES = (
    "notifications",
    "task_event_log",
    "event_outbox",
    "tasks",
    "recurring_tasks",
    "revoked_tokens",
    "login_failures",
    "users",
    "consumed_events",
    "quality_results",
)

# Everything the application reads from the environment points at the test services.
os.environ["DATABASE_URL"] = local_pg.admin_url(TEST_DB)
os.environ.setdefault("JWT_SECRET_KEY", "test-only-" + uuid.uuid4().hex)
os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[None]:
    """The local PostgreSQL cluster; stopped afterwards only if this session started it."""
    started = not local_pg.is_running()
    local_pg.start()
    yield
    if started:
        local_pg.stop()


@pytest.fixture(scope="session")
def database_url(postgres_server: None) -> str:
    """A fresh test database at the latest migration."""
    from todoflow.core import db

    url = local_pg.recreate_database(TEST_DB)
    db.upgrade(url)
    return url


@pytest.fixture
def clean_db(database_url: str) -> str:
    """The test database with every application table emptied (priorities stay seeded)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(APP_TABLES)} RESTART IDENTITY CASCADE")
    return database_url


@pytest.fixture
def pg(clean_db: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the emptied test database."""
    with psycopg.connect(clean_db, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def app(database_url: str) -> Any:
    """The Flask application (create_app) bound to the test database."""
    from todoflow.api import create_app

    application = create_app()
    application.testing = True
    return application


@pytest.fixture
def client(app: Any, clean_db: str) -> Any:
    """A test client of the real app over the emptied test database."""
    return app.test_client()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The local Kafka broker with the project's topics; stopped afterwards only if started here."""
    from todoflow.core.events import TOPICS
    from todoflow.core.topics import ensure_topics

    started = not local_kafka.is_running()
    local_kafka.start()
    ensure_topics()
    bootstrap = f"127.0.0.1:{local_kafka.LOCAL_KAFKA_PORT}"
    # Fresh topics answer NOT_LEADER_FOR_PARTITION until their leaders are elected (slow on a loaded machine).
    local_kafka.wait_for_leaders(bootstrap, TOPICS)
    yield bootstrap
    if started:
        local_kafka.stop()


@pytest.fixture
def consume(kafka_bootstrap: str) -> Callable[..., list[Any]]:
    """consume(topic, n, timeout=...) reads n messages of topic from its beginning with a fresh group."""
    from confluent_kafka import Consumer

    def _consume(topic: str, n: int, timeout: float = 20.0, **config: Any) -> list[Any]:
        consumer = Consumer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "group.id": f"test-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                **config,
            }
        )
        consumer.subscribe([topic])
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        try:
            while len(messages) < n and time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None:
                    continue
                if message.error():
                    raise RuntimeError(message.error())
                messages.append(message)
        finally:
            consumer.close()
        return messages

    return _consume


@pytest.fixture
def statsd_listener() -> Iterator[StatsdListener]:
    """A StatsD server on a free UDP port that keeps every metric line it receives."""
    listener = StatsdListener()
    yield listener
    listener.close()
