"""JWTs: issuing access and refresh tokens, the revocation list, and 401s in the API's error shape."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token, get_jwt, get_jwt_identity

from todoflow.api import errors
from todoflow.api.extensions import db, jwt
from todoflow.api.user_store import IS_REVOKED, PURGE_EXPIRED, REVOKE, ROTATE

REUSED = "todoflow_refresh_token_reused"


def current_user_id() -> uuid.UUID:
    """The id of the user the request's verified token belongs to."""
    return uuid.UUID(get_jwt_identity())


def _lifetime(name: str) -> int:
    return int(current_app.config[name].total_seconds())


def access_token(user_id: uuid.UUID, sid: str) -> dict[str, Any]:
    """A new access token for the user in session sid, as the token response carries it."""
    return {
        "access_token": create_access_token(identity=str(user_id), additional_claims={"sid": sid}),
        "token_type": "Bearer",
        "expires_in": _lifetime("JWT_ACCESS_TOKEN_EXPIRES"),
    }


def login_tokens(user_id: uuid.UUID) -> dict[str, Any]:
    """A new login session: an access token and a refresh token sharing one session id."""
    return session_tokens(user_id, uuid.uuid4().hex)


def session_tokens(user_id: uuid.UUID, sid: str) -> dict[str, Any]:
    """An access token and a refresh token of the login session sid."""
    return {
        **access_token(user_id, sid),
        "refresh_token": create_refresh_token(identity=str(user_id), additional_claims={"sid": sid}),
        "refresh_expires_in": _lifetime("JWT_REFRESH_TOKEN_EXPIRES"),
    }


def rotate_refresh_token() -> dict[str, Any] | None:
    """Use up the presented refresh token and issue the session's next pair, in the request's transaction.

    None if the token was used already (two requests racing with one token): the session is then revoked.
    """
    claims = get_jwt()
    user_id, sid = current_user_id(), claims.get("sid") or claims["jti"]
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    params = {"jti": claims["jti"], "user_id": user_id, "token_type": "rotated", "expires_at": expires_at}
    if db.session.execute(ROTATE, params).first() is None:
        _revoke_session(user_id, sid)
        return None
    return session_tokens(user_id, sid)


def _revoke_session(user_id: uuid.UUID, sid: str) -> None:
    session_ends = datetime.now(UTC) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    row = {"jti": sid, "user_id": user_id, "token_type": "session", "expires_at": session_ends}
    db.session.execute(REVOKE, [row])


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
    sid = payload.get("sid") or jti
    rows: dict[str, str] = {row.jti: row.token_type for row in db.session.execute(IS_REVOKED, {"jti": jti, "sid": sid})}
    if not rows:
        return False
    if rows.get(jti) == "rotated" and sid not in rows:
        # A used refresh token came back: someone holds a copy. End the session for every holder.
        _revoke_session(uuid.UUID(payload["sub"]), sid)
        db.session.commit()
        g.setdefault(REUSED, True)
    return True


def _missing(reason: str) -> Response:
    return errors.response(401, "unauthorized", "missing or malformed Authorization: Bearer <token> header")


def _invalid(reason: str) -> Response:
    return errors.response(401, "invalid_token", f"invalid token: {reason}")


def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return errors.response(401, "token_expired", "the token has expired")


def _revoked(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    if g.get(REUSED):
        return errors.response(401, "token_reused", "the refresh token was already used: the login session is revoked")
    return errors.response(401, "token_revoked", "the token has been revoked")


def _not_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return errors.response(401, "fresh_token_required", "a fresh token is required")


def _failed(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return errors.response(401, "invalid_token", "invalid token")


def init_app(app: Flask) -> None:
    """Set up JWT on app: the revocation check and the error responses for missing and bad tokens."""
    jwt.init_app(app)
    jwt.token_in_blocklist_loader(_is_revoked)
    jwt.unauthorized_loader(_missing)
    jwt.invalid_token_loader(_invalid)
    jwt.expired_token_loader(_expired)
    jwt.revoked_token_loader(_revoked)
    jwt.needs_fresh_token_loader(_not_fresh)
    jwt.token_verification_failed_loader(_failed)
    jwt.user_lookup_error_loader(_failed)
