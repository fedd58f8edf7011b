"""Accounts in SQL: users, revoked tokens, failed logins and write buckets (statements built once, values bound)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Interval,
    String,
    Table,
    bindparam,
    delete,
    extract,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.dialects.postgresql import insert as pg_insert

from todoflow.core.models import LoginFailure, RevokedToken, User, WriteBucket

users = cast(Table, User.__table__)
revoked = cast(Table, RevokedToken.__table__)
failures = cast(Table, LoginFailure.__table__)
buckets = cast(Table, WriteBucket.__table__)

USER_COLUMNS = (users.c.id, users.c.email, users.c.timezone, users.c.created_at)
EMAIL = func.lower(bindparam("email", type_=String))

# ---- users ----
INSERT_USER = (
    pg_insert(users)
    .values(email=EMAIL, password_hash=bindparam("hash"), timezone=bindparam("zone"))
    .on_conflict_do_nothing(index_elements=[users.c.email])
    .returning(*USER_COLUMNS)
)
BY_EMAIL = select(users.c.id, users.c.password_hash).where(users.c.email == EMAIL)
BY_ID = select(*USER_COLUMNS).where(users.c.id == bindparam("user_id"))
SET_TIMEZONE = (
    update(users)
    .where(users.c.id == bindparam("user_id"))
    .values(timezone=bindparam("zone"), updated_at=func.now())
    .returning(*USER_COLUMNS)
)
REHASH = (
    update(users)
    .where(users.c.id == bindparam("user_id"))
    .values(password_hash=bindparam("hash"), updated_at=func.now())
)

# ---- revoked tokens ----
# A token is refused if its own jti or its login session (sid, shared by the tokens of one login) is revoked;
# a refresh token's jti is recorded as "rotated" once used, and its reuse revokes the session.
IS_REVOKED = select(revoked.c.jti, revoked.c.token_type).where(revoked.c.jti.in_([bindparam("jti"), bindparam("sid")]))
REVOKE = (
    pg_insert(revoked)
    .values(
        jti=bindparam("jti"),
        user_id=bindparam("user_id"),
        token_type=bindparam("token_type"),
        expires_at=bindparam("expires_at"),
    )
    .on_conflict_do_nothing(index_elements=[revoked.c.jti])
)
# Records a used refresh token (token_type "rotated"); no row back: it was used already.
ROTATE = REVOKE.returning(revoked.c.jti)
PURGE_EXPIRED = delete(revoked).where(revoked.c.expires_at < func.now())

# ---- failed logins ----
WINDOW = bindparam("window", type_=Interval)
IN_WINDOW = failures.c.attempted_at > func.now() - WINDOW
SAME_ADDRESS = failures.c.remote_addr.is_not_distinct_from(bindparam("addr", type_=String))


def _seconds(interval: ColumnElement[Any]) -> ColumnElement[float]:
    return sql_cast(extract("epoch", interval), DOUBLE_PRECISION)


# Serializes logins for one email so concurrent guesses cannot all pass the check before any is counted.
LOCK_EMAIL = select(func.pg_advisory_xact_lock(func.hashtextextended(literal("login:") + EMAIL, 0)))
# The pair's failures in the window and the seconds since the last one.
PAIR = select(func.count(), _seconds(func.now() - func.max(failures.c.attempted_at))).where(
    failures.c.email == EMAIL, SAME_ADDRESS, IN_WINDOW
)


def _ceiling(who: ColumnElement[bool]) -> Any:
    """Seconds until the (skip + 1)-th most recent failure of who leaves the window (no row: under the ceiling)."""
    return (
        select(_seconds(failures.c.attempted_at + WINDOW - func.now()))
        .where(who, IN_WINDOW)
        .order_by(failures.c.attempted_at.desc())
        .offset(bindparam("skip"))
        .limit(1)
    )


EMAIL_CEILING = _ceiling(failures.c.email == EMAIL)
ADDRESS_CEILING = _ceiling(failures.c.remote_addr == bindparam("addr", type_=String))
RECORD = insert(failures).values(email=EMAIL, remote_addr=bindparam("addr"))
FORGET_OLD = delete(failures).where(failures.c.email == EMAIL, failures.c.attempted_at <= func.now() - WINDOW)
FORGET_PAIR = delete(failures).where(failures.c.email == EMAIL, SAME_ADDRESS)

# ---- write buckets ----
BURST, RATE = bindparam("burst", type_=Float), bindparam("rate", type_=Float)
# The bucket's tokens after refilling since refilled_at; now() is the statement's start, so the refill and
# the new timestamp agree within the statement.
REFILLED = func.least(BURST, buckets.c.tokens + RATE * extract("epoch", func.now() - buckets.c.refilled_at))
_take = pg_insert(buckets).values(user_id=bindparam("user_id"), tokens=BURST - 1, refilled_at=func.now())
TAKE = _take.on_conflict_do_update(
    index_elements=[buckets.c.user_id],
    set_={"tokens": REFILLED - 1, "refilled_at": func.now()},
    where=REFILLED >= 1,
).returning(buckets.c.tokens)
# Seconds until the bucket holds one whole token again.
WAIT = select((1 - REFILLED) / RATE).where(buckets.c.user_id == bindparam("user_id"))
