"""Failed-login limits kept in PostgreSQL, so every API worker and replica counts the same failures.

Three limits, all over LOGIN_FAILURE_WINDOW (15 minutes), all checked before any password is hashed:
- per (email, client address): LOGIN_MAX_FAILURES (5) failures are free; after that each attempt waits a
  short delay from the last failure that doubles with every further failure (LOGIN_DELAY_BASE, 1 s, up to
  LOGIN_DELAY_MAX, 60 s). Guesses from one place slow down; the owner elsewhere is not locked out.
- per email, from every address: LOGIN_MAX_FAILURES_PER_EMAIL (50), the ceiling for distributed guessing.
- per client address, over every email: LOGIN_MAX_FAILURES_PER_ADDRESS (100), so one client flooding random
  emails stops costing argon2 work.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app, request
from sqlalchemy.orm import Session

from todoflow.api.domain_errors import RetryLater
from todoflow.api.user_store import (
    ADDRESS_CEILING,
    EMAIL_CEILING,
    FORGET_OLD,
    FORGET_PAIR,
    LOCK_EMAIL,
    PAIR,
    RECORD,
)


class BlockedAddresses:
    """Per process: client addresses the database found over their ceiling, until when (monotonic clock).

    An address over LOGIN_MAX_FAILURES_PER_ADDRESS stays over it until its failures age out (a success
    elsewhere does not clear them), so remembering the database's answer is exact; a flood from that
    address then costs no database round trip at all.
    """

    CAPACITY = 10_000

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, addr: str) -> float:
        """Seconds the address is still known to be blocked (0 if not known)."""
        until = self._until.get(addr)
        return 0.0 if until is None else max(0.0, until - time.monotonic())

    def block(self, addr: str, seconds: float) -> None:
        """Remember the address as blocked for the next `seconds` (dropping expired entries when full)."""
        with self._lock:
            if len(self._until) >= self.CAPACITY:
                now = time.monotonic()
                self._until = {a: u for a, u in self._until.items() if u > now}
                if len(self._until) >= self.CAPACITY:
                    del self._until[next(iter(self._until))]
            self._until[addr] = time.monotonic() + seconds


EXTENSION = "todoflow.blocked_addresses"


def init_app(app: Flask) -> None:
    """Give the app its per-process memory of blocked addresses."""
    app.extensions[EXTENSION] = BlockedAddresses()


def _blocked() -> BlockedAddresses:
    blocked: BlockedAddresses = current_app.extensions[EXTENSION]
    return blocked


def check_address_cached() -> None:
    """429 without touching the database for an address this process already found over its ceiling."""
    addr = client_address()
    wait = _blocked().wait(addr) if addr is not None else 0.0
    if wait > 0:
        raise _refuse(wait, "too many failed logins from this address")


def client_address() -> str | None:
    """The client's address: the peer, or behind TRUSTED_PROXIES the address they forwarded (ProxyFix)."""
    return (request.remote_addr or "")[:64] or None


def _refuse(wait: float, message: str) -> RetryLater:
    return RetryLater("too_many_login_failures", message, wait)


def pair_delay(failures: int) -> float:
    """Seconds the pair waits after its last failure, given its failures in the window."""
    config = current_app.config
    extra = failures - config["LOGIN_MAX_FAILURES"]
    if extra < 0:
        return 0.0
    base, cap = config["LOGIN_DELAY_BASE"].total_seconds(), config["LOGIN_DELAY_MAX"].total_seconds()
    # min() before the power would overflow: 2**extra grows without bound.
    return cap if extra >= 32 else min(cap, base * 2**extra)


def check(session: Session, email: str) -> None:
    """Lock the email for this transaction and answer 429 if any of the three limits applies."""
    config = current_app.config
    window, addr = config["LOGIN_FAILURE_WINDOW"], client_address()
    session.execute(LOCK_EMAIL, {"email": email})
    if addr is not None:
        wait = session.execute(
            ADDRESS_CEILING, {"addr": addr, "window": window, "skip": config["LOGIN_MAX_FAILURES_PER_ADDRESS"] - 1}
        ).scalar()
        if wait is not None:
            _blocked().block(addr, wait)
            raise _refuse(wait, "too many failed logins from this address")
    wait = session.execute(
        EMAIL_CEILING, {"email": email, "window": window, "skip": config["LOGIN_MAX_FAILURES_PER_EMAIL"] - 1}
    ).scalar()
    if wait is not None:
        raise _refuse(wait, "too many failed logins for this email")
    failures, elapsed = session.execute(PAIR, {"email": email, "addr": addr, "window": window}).one()
    if failures and pair_delay(failures) > elapsed:
        raise _refuse(pair_delay(failures) - elapsed, "too many failed logins for this email from this address")


def record_failure(session: Session, email: str) -> None:
    """Record a failed login for the email from the client's address, forgetting failures out of the window."""
    session.execute(FORGET_OLD, {"email": email, "window": current_app.config["LOGIN_FAILURE_WINDOW"]})
    session.execute(RECORD, {"email": email, "addr": client_address()})


def forget(session: Session, email: str) -> None:
    """A successful login clears the failures of its email from its address (others' guesses still count)."""
    session.execute(FORGET_PAIR, {"email": email, "addr": client_address()})
