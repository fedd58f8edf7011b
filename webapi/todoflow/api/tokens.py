"""JWTs: issuing access and refresh tokens, the revocation list, and 401s in the API's error shape."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app
from flask_jwt_extended import create_access_token, create_refresh_token, get_jwt, get_jwt_identity
from sqlalchemy import text

from todoflow.api import errors
from todoflow.api.extensions import db, jwt

# A token is refused if its own jti or its login session (sid, shared by the tokens of one login) is revoked.
IS_REVOKED = text("SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti IN (:jti, :sid))")
REVOKE = text(
    """INSERT INTO revoked_tokens (jti, user_id, token_type, expires_at)
       VALUES (:jti, :user_id, :token_type, :expires_at) ON CONFLICT (jti) DO NOTHING"""
)
PURGE_EXPIRED = text("DELETE FROM revoked_tokens WHERE expires_at < now()")


def current_user_id() -> uuid.UUID:
    """The id of the user the request's verified token belongs to."""
    return uuid.UUID(get_jwt_identity())


def _lifetime(name: str) -> int:
    return int(current_app.config[name].total_seconds())


def access_token(user_id: uuid.UUID, sid: str) -> dict[str, Any]:
    return {
        "access_token": create_access_token(identity=str(user_id), additional_claims={"sid": sid}),
        "token_type": "Bearer",
        "expires_in": _lifetime("JWT_ACCESS_TOKEN_EXPIRES"),
    }


def login_tokens(user_id: uuid.UUID) -> dict[str, Any]:
    """A new login session: an access token and a refresh token sharing one session id."""
    sid = uuid.uuid4().hex
    return {
        **access_token(user_id, sid),
        "refresh_token": create_refresh_token(identity=str(user_id), additional_claims={"sid": sid}),
        "refresh_expires_in": _lifetime("JWT_REFRESH_TOKEN_EXPIRES"),
    }


def revoke_current_session() -> None:
    """Revoke the presented token and its login session, in the request's transaction."""
    claims = get_jwt()
    user_id = current_user_id()
    session_ends = datetime.now(UTC) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    rows = [
        {
            "jti": claims["jti"],
            "user_id": user_id,
            "token_type": claims["type"],
            "expires_at": datetime.fromtimestamp(claims["exp"], UTC),
        }
    ]
    if claims.get("sid"):
        rows.append({"jti": claims["sid"], "user_id": user_id, "token_type": "session", "expires_at": session_ends})
    db.session.execute(PURGE_EXPIRED)
    db.session.execute(REVOKE, rows)


def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    jti = payload.get("jti") or ""
    return bool(db.session.execute(IS_REVOKED, {"jti": jti, "sid": payload.get("sid") or jti}).scalar())


def _missing(reason: str) -> Response:
    return errors.response(401, "unauthorized", "missing or malformed Authorization: Bearer <token> header")


def _invalid(reason: str) -> Response:
    return errors.response(401, "invalid_token", f"invalid token: {reason}")


def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return errors.response(401, "token_expired", "the token has expired")


def _revoked(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return errors.response(401, "token_revoked", "the token has been revoked")


def _not_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return errors.response(401, "fresh_token_required", "a fresh token is required")


def _failed(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return errors.response(401, "invalid_token", "invalid token")


def init_app(app: Flask) -> None:
    jwt.init_app(app)
    jwt.token_in_blocklist_loader(_is_revoked)
    jwt.unauthorized_loader(_missing)
    jwt.invalid_token_loader(_invalid)
    jwt.expired_token_loader(_expired)
    jwt.revoked_token_loader(_revoked)
    jwt.needs_fresh_token_loader(_not_fresh)
    jwt.token_verification_failed_loader(_failed)
    jwt.user_lookup_error_loader(_failed)
