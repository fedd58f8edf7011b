"""Fixtures of the delivery tests: the suite's broker, receivers on free ports, delivery processes, an SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.delivery.support import DeliverProcess, Receiver, deliver_environment
from tests.events.support import StatsdListener, wait_for_leaders
from todoflow_dev.devstack import mail


@pytest.fixture(scope="session")
def bootstrap(kafka_bootstrap: str) -> str:
    wait_for_leaders(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
def statsd_listener() -> Iterator[StatsdListener]:
    listener = StatsdListener()
    yield listener
    listener.close()


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
