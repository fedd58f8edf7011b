"""Each request sends a counter by endpoint and status and a timer by endpoint to StatsD."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.support import ApiUser
from todoflow.core import metrics


@pytest.fixture
def statsd_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A UDP socket standing in for the StatsD exporter, with the app's client pointed at it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    monkeypatch.setenv("STATSD_PORT", str(sock.getsockname()[1]))
    monkeypatch.setenv("STATSD_PREFIX", "todoflow")
    metrics.statsd.cache_clear()
    yield sock
    metrics.statsd.cache_clear()
    sock.close()


def _drain(sock: socket.socket) -> list[str]:
    lines: list[str] = []
    sock.settimeout(0.5)
    while True:
        try:
            lines += sock.recv(65535).decode().splitlines()
        except TimeoutError:
            return lines


def test_counter_and_timer_per_request(client: Any, alice: ApiUser, statsd_server: socket.socket) -> None:
    client.get("/api/tasks", headers=alice.headers)
    client.get("/api/tasks/12345", headers=alice.headers)
    client.get("/no/such/route")
    lines = _drain(statsd_server)
    assert "todoflow.api.requests.tasks.list_tasks.GET.200:1|c" in lines
    assert "todoflow.api.requests.tasks.get_task.GET.404:1|c" in lines
    assert "todoflow.api.requests.unmatched.GET.404:1|c" in lines
    timers = [line for line in lines if line.startswith("todoflow.api.latency.tasks.list_tasks:")]
    assert len(timers) == 1 and timers[0].endswith("|ms")
    assert float(timers[0].split(":")[1].split("|")[0]) > 0
