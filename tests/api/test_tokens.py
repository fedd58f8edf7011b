"""Token lifecycle: every way a token can be unacceptable answers 401 in the error shape."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt as pyjwt
from flask_jwt_extended import create_access_token

from tests.api.support import ApiUser, error_of


def _refused(client: Any, token: str | None, header: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": header if header is not None else f"Bearer {token}"}
    response = client.get("/api/tasks", headers=headers)
    assert response.status_code == 401, response.get_json()
    return error_of(response)


def test_a_valid_token_is_accepted(client: Any, alice: ApiUser) -> None:
    assert client.get("/api/tasks", headers=alice.headers).status_code == 200


def test_missing_or_malformed_header(client: Any) -> None:
    assert error_of(client.get("/api/tasks"))["code"] == "unauthorized"
    assert _refused(client, None, "Token abc")["code"] == "unauthorized"
    assert _refused(client, None, "Bearer")["code"] in {"unauthorized", "invalid_token"}
    assert _refused(client, None, "Bearer a b")["code"] == "invalid_token"
    assert _refused(client, "not.a.jwt")["code"] == "invalid_token"


def test_expired_token(app: Any, client: Any, alice: ApiUser) -> None:
    with app.app_context():
        token = create_access_token(identity=alice.id, expires_delta=timedelta(seconds=-5))
    assert _refused(client, token)["code"] == "token_expired"


def test_tampered_token(client: Any, alice: ApiUser, bob: ApiUser) -> None:
    header, payload, signature = alice.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = bob.id
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _refused(client, f"{header}.{forged}.{signature}")["code"] == "invalid_token"
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert _refused(client, f"{header}.{payload}.{flipped}")["code"] == "invalid_token"


def test_token_signed_with_another_secret_or_none(client: Any, alice: ApiUser) -> None:
    claims = pyjwt.decode(alice.access_token, options={"verify_signature": False})
    assert (
        _refused(client, pyjwt.encode(claims, "some-other-secret-entirely-32-bytes-long!", algorithm="HS256"))["code"]
        == "invalid_token"
    )
    unsigned = pyjwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    assert _refused(client, unsigned)["code"] == "invalid_token"


def test_refresh_token_used_as_access_token(client: Any, alice: ApiUser) -> None:
    assert _refused(client, alice.refresh_token)["code"] == "invalid_token"


def test_revoked_after_logout(client: Any, alice: ApiUser, bob: ApiUser) -> None:
    assert client.post("/api/auth/logout", headers=alice.headers).status_code == 204
    assert _refused(client, alice.access_token)["code"] == "token_revoked"
    assert client.post("/api/auth/logout", headers=alice.headers).status_code == 401
    # Someone else's session is untouched.
    assert client.get("/api/tasks", headers=bob.headers).status_code == 200


def test_a_token_verified_before_still_expires(app: Any, client: Any, alice: ApiUser) -> None:
    import time

    with app.app_context():
        token = create_access_token(identity=alice.id, expires_delta=timedelta(seconds=2))
    # The first use verifies the signature and remembers the claims; later uses rely on them...
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    time.sleep(2.1)
    # ...but never past the token's expiry.
    assert _refused(client, token)["code"] == "token_expired"


def test_a_remembered_token_is_still_checked_for_revocation(client: Any, alice: ApiUser) -> None:
    assert client.get("/api/tasks", headers=alice.headers).status_code == 200
    assert client.post("/api/auth/logout", headers=alice.headers).status_code == 204
    assert _refused(client, alice.access_token)["code"] == "token_revoked"


def test_tokens_of_another_signing_key_are_not_remembered_across_apps(client: Any, alice: ApiUser) -> None:
    from todoflow.api import create_app

    other = create_app({"JWT_SECRET_KEY": "a-different-signing-key-of-enough-length"}).test_client()
    for _ in range(2):
        # Verified (and remembered) by the first app, refused by the app with another key.
        assert client.get("/api/tasks", headers=alice.headers).status_code == 200
        response = other.get("/api/tasks", headers=alice.headers)
        assert response.status_code == 401 and error_of(response)["code"] == "invalid_token"
