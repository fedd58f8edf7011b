"""A per-process cap on concurrent password hashing (argon2 at 19 MiB, tens of ms of CPU each).

Login and register hash inside slot(); when PASSWORD_HASH_CONCURRENCY hashes are already running in this
process, the request answers 429 login_busy at once (Retry-After: 1) instead of queueing, so a login flood
cannot take every worker thread and starve authenticated traffic.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, request

from todoflow.api import errors, login_gate
from todoflow.core.metrics import statsd

EXTENSION = "todoflow.password_hashing"


def init_app(app: Flask) -> None:
    """Give app its PASSWORD_HASH_CONCURRENCY hashing slots."""
    app.extensions[EXTENSION] = threading.BoundedSemaphore(app.config["PASSWORD_HASH_CONCURRENCY"])


@contextmanager
def slot() -> Iterator[None]:
    """Hold one hashing slot for the block, or raise 429 login_busy if none is free.

    Taken before any database work of the request, so a refused login costs no round trip.
    """
    if request.environ.get(login_gate.HELD):
        # login_gate.LoginGate took this request's slot before Flask saw it, and releases it.
        yield
        return
    slots: threading.BoundedSemaphore = current_app.extensions[EXTENSION]
    if not slots.acquire(blocking=False):
        statsd().incr("api.password_hashing.busy")
        raise errors.api_error(
            429, "login_busy", "too many logins at once; retry in a second", headers={"Retry-After": "1"}
        )
    try:
        yield
    finally:
        slots.release()
