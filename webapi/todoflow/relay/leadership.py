"""Exactly one active relay: a session-level advisory lock held on a dedicated connection.

The lock lives as long as the session, so a relay that dies releases it when PostgreSQL drops its
connection (at once for a crash or SIGKILL; within about 25 s for a vanished host or network, by the
TCP keepalives set on the session), and a standby relay polling for the lock takes over. Advisory
locks are per database: relays of different databases never wait for each other. The same session
LISTENs on `event_outbox`, so every wait doubles as a check that the session (and the lock) lives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "event_outbox"


def sleep(seconds: float, stopping: Callable[[], bool]) -> None:
    """Sleep up to seconds, returning early once stopping() holds."""
    deadline = time.monotonic() + seconds
    while not stopping() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))


class LostLeadership(RuntimeError):
    """The lock session broke: another relay may be active now."""


class LeaderSession:
    """The dedicated session that holds the relay lock and receives outbox notifications."""

    def __init__(self, database_url: str, lock_key: int):
        self.lock_key = lock_key
        self.conn: psycopg.Connection[Any] = psycopg.connect(
            database_url,
            autocommit=True,
            application_name="todoflow-relay-lock",
            # Both ends notice a dead peer within ~25 s: the server frees the lock, the relay steps down.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            options="-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
        )

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; on success start listening for outbox inserts."""
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()
        if not (row and row[0]):
            return False
        self.conn.execute(f"LISTEN {CHANNEL}")
        return True

    def wait_until_leader(self, poll: float, stopping: Callable[[], bool]) -> bool:
        """Poll for the lock until held (True) or until stopping() (False)."""
        announced = False
        while not stopping():
            if self.try_acquire():
                return True
            if not announced:
                log.info("another relay holds the lock: standing by")
                announced = True
            sleep(poll, stopping)
        return False

    def check(self) -> None:
        """Raise LostLeadership unless the lock session still answers."""
        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise LostLeadership(str(exc)) from exc

    def drain(self) -> None:
        """Forget hints already received (called just before a read, which sees their rows anyway)."""
        try:
            for _ in self.conn.notifies(timeout=0):
                pass
        except psycopg.Error as exc:
            raise LostLeadership(str(exc)) from exc

    def wait(self, timeout: float) -> bool:
        """Wait up to timeout for an insert hint; True if one came."""
        try:
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                return True
        except psycopg.Error as exc:
            raise LostLeadership(str(exc)) from exc
        return False

    def close(self) -> None:
        """End the session, which releases the lock."""
        try:
            self.conn.close()
        except psycopg.Error:
            log.debug("closing lock session", exc_info=True)
