"""WSGI middleware in front of Flask for the two password-hashing routes (POST /api/auth/login, /register).

A login flood is answered here, before Flask, request parsing or the database: an address this process
already found over its failed-login ceiling (login_limit.BlockedAddresses) gets 429
too_many_login_failures, and a request that finds every hashing slot of the process taken
(PASSWORD_HASH_CONCURRENCY) gets 429 login_busy. What a refusal costs decides how long other users'
requests queue behind a flood in the worker, so it must cost as little as possible. A request that passes
holds its hashing slot until the view returns (password_work.slot sees it in the environ).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

from todoflow.api import errors, security_headers
from todoflow.core.metrics import statsd

GATED = frozenset({"/api/auth/login", "/api/auth/register"})
HELD = "todoflow.hashing_slot"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class LoginGate:
    """Refuse login floods cheaply; everything else passes straight through."""

    def __init__(self, app: WsgiApp, slots: threading.BoundedSemaphore, blocked: Any) -> None:
        self.app = app
        self.slots = slots
        self.blocked = blocked

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI call: a gated POST gets 429 while its address is blocked or no hashing slot is free."""
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in GATED:
            return self.app(environ, start_response)
        addr = (environ.get("REMOTE_ADDR") or "")[:64]
        wait = self.blocked.wait(addr) if addr and environ["PATH_INFO"] == "/api/auth/login" else 0.0
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            message = f"too many failed logins from this address; retry in {seconds} seconds"
            return _refuse(start_response, "too_many_login_failures", message, seconds)
        if not self.slots.acquire(blocking=False):
            statsd().incr("api.password_hashing.busy")
            return _refuse(start_response, "login_busy", "too many logins at once; retry in a second", 1)
        environ[HELD] = True
        try:
            # The view has run (and hashed) once the app returns: the body is already rendered.
            return self.app(environ, start_response)
        finally:
            self.slots.release()


def _refuse(start_response: StartResponse, code: str, message: str, retry_after: int) -> list[bytes]:
    body = json.dumps(errors.body(429, code, message)).encode()
    start_response(
        "429 TOO MANY REQUESTS",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Retry-After", str(retry_after)),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", security_headers.API_CSP),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]
