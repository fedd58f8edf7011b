"""Fixtures of the delivery tests: the suite's broker, receivers on free ports, delivery processes, an SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.delivery.support import (
    DeliverProcess,
    Receiver,
    Subscribe,
    Subscriber,
    add_user,
    add_webhook,
    deliver_environment,
)
from tests.support import StatsdListener
from todoflow_dev.devstack import mail


@pytest.fixture(scope="session")
def bootstrap(kafka_bootstrap: str) -> str:
    """The suite's broker, its topics' leaders elected (kafka_bootstrap waits for them)."""
    return kafka_bootstrap


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """receivers(respond=..., listening=True) -> a new real HTTP receiver on a free port."""
    made: list[Receiver] = []

    def _make(respond: Callable[..., Any] | None = None, listening: bool = True) -> Receiver:
        receiver = Receiver(respond) if respond is not None else Receiver()
        if listening:
            receiver.listen()
        made.append(receiver)
        return receiver

    yield _make
    for receiver in made:
        receiver.close()


@pytest.fixture
def subscribed(pg: psycopg.Connection[Any], receivers: Callable[..., Receiver]) -> Subscribe:
    """subscribed(respond=None, users=1, listening=True) -> a new receiver and users each with a webhook to it."""

    def _subscribed(
        respond: Callable[..., Any] | None = None, users: int = 1, listening: bool = True
    ) -> tuple[Receiver, list[Subscriber]]:
        receiver = receivers(respond, listening)
        subscribers = []
        for _ in range(users):
            user_id = add_user(pg)
            subscribers.append(Subscriber(user_id, *add_webhook(pg, user_id, receiver.url)))
        return receiver, subscribers

    return _subscribed


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The local stack's SMTP server (aiosmtpd keeping a Maildir) on a free port: (port, maildir)."""
    directory = tmp_path / "mail"
    port = mail.free_port()
    server = mail.controller(directory, port)
    server.start()
    yield port, directory
    server.stop()


@pytest.fixture
def start_deliver(
    clean_db: str, bootstrap: str, statsd_listener: StatsdListener, tmp_path: Path
) -> Iterator[Callable[..., DeliverProcess]]:
    """start_deliver(**env) -> a started `todoflow deliver` on the test database and broker (killed afterwards).

    Processes started by one test share its consumer group unless DELIVERY_GROUP is given.
    """
    processes: list[DeliverProcess] = []
    group = deliver_environment(clean_db, bootstrap, statsd_listener.port)["DELIVERY_GROUP"]

    def _start(**env: str) -> DeliverProcess:
        environment = deliver_environment(clean_db, bootstrap, statsd_listener.port, DELIVERY_GROUP=group)
        environment.update(env)
        process = DeliverProcess(environment, tmp_path / f"deliver-{len(processes)}.log")
        processes.append(process)
        process.wait_started()
        return process

    yield _start
    for process in processes:
        process.kill()
