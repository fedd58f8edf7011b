"""Fixtures for the pipeline jobs: the emptied test database with its helpers (support.Db), a stand-in StatsD."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.jobs.support import Db


@pytest.fixture
def db(pg: psycopg.Connection[Any], clean_db: str) -> Db:
    return Db(clean_db, pg)


@pytest.fixture
def statsd_server() -> Iterator[socket.socket]:
    """A UDP socket standing in for the StatsD exporter."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    yield sock
    sock.close()
