"""Accounts and tokens: register, login, refresh, logout, me."""

from __future__ import annotations

from functools import cache
from typing import Any

from apiflask import APIBlueprint
from argon2.exceptions import InvalidHashError, VerificationError
from flask_jwt_extended import jwt_required

from todoflow.api import errors, login_limit, password_work, tokens, write_limit
from todoflow.api.domain_errors import Conflict, UnknownUser
from todoflow.api.dump import output
from todoflow.api.extensions import db, passwords
from todoflow.api.openapi import operation
from todoflow.api.schemas.auth import LoginIn, RegisterIn, TokensOut, UserOut, UserUpdateIn
from todoflow.api.user_store import BY_EMAIL, BY_ID, INSERT_USER, REHASH, SET_TIMEZONE

bp = APIBlueprint("auth", __name__, url_prefix="/api/auth", tag="Auth")


@cache
def _decoy_hash() -> str:
    """A hash to verify against when the email is unknown, so both failures take as long."""
    return passwords.hash("decoy password for unknown emails")


@bp.post("/register")
@operation(
    bp,
    "Create an account",
    auth=False,
    body=True,
    errors={409: "The email is already registered", 429: "Too many logins at once in this process (login_busy)"},
)
@bp.doc(operation_id="register")
@bp.input(RegisterIn, arg_name="data")
@output(bp, UserOut, status_code=201)
def register(data: dict[str, Any]) -> Any:
    """Create an account with a hashed password."""
    with password_work.slot():
        password_hash = passwords.hash(data["password"])
    session = db.session
    row = (
        session.execute(INSERT_USER, {"email": data["email"], "hash": password_hash, "zone": data["timezone"]})
        .mappings()
        .first()
    )
    if row is None:
        raise Conflict("an account with this email already exists", code="email_taken")
    session.commit()
    return row


@bp.post("/login")
@operation(
    bp,
    "Log in: get an access token and a refresh token",
    auth=False,
    body=True,
    errors={
        401: "Wrong email or password",
        429: "Too many failed logins for this email and address, email or address, or too many logins at once "
        "(see Retry-After)",
    },
)
@bp.doc(operation_id="login")
@bp.input(LoginIn, arg_name="data")
@output(bp, TokensOut)
def login(data: dict[str, Any]) -> Any:
    """Issue tokens for a correct email and password, within the failed-login limits."""
    session = db.session
    email = data["email"]
    # Cheapest refusals first: neither of these two touches the database.
    login_limit.check_address_cached()
    with password_work.slot():
        login_limit.check(session, email)
        user = session.execute(BY_EMAIL, {"email": email}).first()
        matches = _password_matches(user.password_hash if user else _decoy_hash(), data["password"])
        if matches and user is not None and passwords.check_needs_rehash(user.password_hash):
            session.execute(REHASH, {"user_id": user.id, "hash": passwords.hash(data["password"])})
    if not matches or user is None:
        login_limit.record_failure(session, email)
        session.commit()
        raise errors.api_error(401, "invalid_credentials", "wrong email or password")
    login_limit.forget(session, email)
    session.commit()
    return tokens.login_tokens(user.id)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return passwords.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@bp.post("/refresh")
@operation(
    bp,
    "Rotate the refresh token: get a new access token and a new refresh token",
    description="Send the refresh token as the bearer. Each refresh token works once: presenting one that was "
    "already used (a stolen copy, or a retry) revokes the whole login session (401 token_reused).",
)
@bp.doc(operation_id="refreshToken")
@jwt_required(refresh=True)
@output(bp, TokensOut)
def refresh() -> Any:
    """Exchange a refresh token, once, for a new pair of tokens."""
    issued = tokens.rotate_refresh_token()
    db.session.commit()
    if issued is None:
        raise errors.api_error(401, "token_reused", "the refresh token was already used: the login session is revoked")
    return issued


@bp.post("/logout")
@operation(
    bp,
    "Log out: revoke the presented token and its login session",
    description="Either token of a login may be presented; both stop working.",
)
@bp.doc(operation_id="logout")
@jwt_required(verify_type=False)
@bp.output({}, status_code=204)
def logout() -> Any:
    """Revoke the login session of the presented token."""
    tokens.revoke_current_session()
    db.session.commit()
    return ""


@bp.get("/me")
@operation(bp, "The current user")
@bp.doc(operation_id="getCurrentUser")
@jwt_required()
@output(bp, UserOut)
def me() -> Any:
    """Answer the current user."""
    return _current_user()


@bp.patch("/me")
@operation(bp, "Change the current user's time zone", body=True)
@bp.doc(operation_id="updateCurrentUser")
@jwt_required()
@write_limit.limited
@bp.input(UserUpdateIn, arg_name="data")
@output(bp, UserOut)
def update_me(data: dict[str, Any]) -> Any:
    """Change the current user's time zone."""
    params = {"user_id": tokens.current_user_id(), "zone": data["timezone"]}
    row = db.session.execute(SET_TIMEZONE, params).mappings().first()
    if row is None:
        raise UnknownUser("the token's user no longer exists")
    db.session.commit()
    return row


def _current_user() -> Any:
    row = db.session.execute(BY_ID, {"user_id": tokens.current_user_id()}).mappings().first()
    if row is None:
        raise UnknownUser("the token's user no longer exists")
    return row
