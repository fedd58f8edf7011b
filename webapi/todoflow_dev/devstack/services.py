"""The services of the local stack in start order, each with start, stop and is_running."""

from __future__ import annotations

import os
from collections.abc import Callable

from todoflow_dev.devstack import airflow, api, deliver, kafka, mail, metrics, postgres, procs, relay

API_PORT = 8000
API_URL = f"http://127.0.0.1:{API_PORT}"


def _external_database() -> bool:
    """DATABASE_URL set by the operator means a database we do not manage."""
    return bool(os.environ.get("DATABASE_URL"))


def _start_postgres() -> None:
    if not _external_database():
        postgres.start()
    from todoflow.core import db

    db.upgrade()


def _start_kafka() -> None:
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        kafka.start()
    from todoflow.core.topics import ensure_topics

    ensure_topics()


START: dict[str, Callable[[], None]] = {
    # First, so that every other service's metrics from its first second are received.
    "metrics": metrics.start,
    "postgres": _start_postgres,
    "kafka": _start_kafka,
    "api": lambda: api.start(API_PORT),
    "relay": relay.start,
    "airflow": airflow.start,
    "mail": mail.start,
    "deliver": deliver.start,
}
STOP: dict[str, Callable[[], bool]] = {
    "metrics": metrics.stop,
    "postgres": postgres.stop,
    "kafka": kafka.stop,
    "api": api.stop,
    "relay": relay.stop,
    "airflow": airflow.stop,
    "mail": mail.stop,
    "deliver": deliver.stop,
}
RUNNING: dict[str, Callable[[], bool]] = {
    "metrics": metrics.is_running,
    "postgres": postgres.is_running,
    "kafka": kafka.is_running,
    "api": lambda: api.is_running(API_PORT),
    "relay": relay.is_running,
    "airflow": airflow.is_running,
    "mail": mail.is_running,
    "deliver": deliver.is_running,
}
ORDER: tuple[str, ...] = tuple(START)


def start(name: str) -> None:
    """Start the service name and wait until it is ready."""
    START[name]()


def stop(name: str) -> bool:
    """Stop the service name; True if it was running."""
    return STOP[name]()


def is_running(name: str) -> bool:
    """Whether the service name is running."""
    return RUNNING[name]()


__all__ = ["API_URL", "ORDER", "is_running", "procs", "start", "stop"]
