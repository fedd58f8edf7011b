"""Per-user write rate: a token bucket in PostgreSQL, shared by every API worker and replica.

Each authenticated write takes one token from the user's bucket (WRITE_BURST tokens, refilled at
WRITE_RATE_PER_SECOND); an empty bucket answers 429 rate_limited with Retry-After. The bucket is one row
per user, updated by one statement in its own autocommit transaction: a write that later fails still
spent its token, and one user's bucket never waits on another's. (flask-limiter's storages are memory,
Redis, Memcached or MongoDB; none of them is part of this stack, and a per-process memory bucket would
multiply the limit by the number of workers.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app

from todoflow.api.domain_errors import RetryLater
from todoflow.api.extensions import db
from todoflow.api.tokens import current_user_id
from todoflow.api.user_store import TAKE, WAIT

F = TypeVar("F", bound=Callable[..., Any])


def take() -> None:
    """Spend one of the current user's write tokens, or raise 429 rate_limited."""
    config = current_app.config
    params = {
        "user_id": current_user_id(),
        "burst": float(config["WRITE_BURST"]),
        "rate": float(config["WRITE_RATE_PER_SECOND"]),
    }
    with db.autocommit_connection() as conn:
        if conn.execute(TAKE, params).first() is not None:
            return
        wait = conn.execute(WAIT, params).scalar() or 0.0
    raise RetryLater("rate_limited", f"more than {config['WRITE_RATE_PER_SECOND']} writes per second", float(wait))


def limited(view: F) -> F:
    """Decorate a write view (under jwt_required): it runs only if the user's bucket has a token."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        take()
        return view(*args, **kwargs)

    # openapi.complete_spec documents the 429 of every operation marked so.
    wrapper._write_limited = True  # type: ignore[attr-defined]
    return cast(F, wrapper)
