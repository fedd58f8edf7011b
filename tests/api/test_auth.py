"""Accounts and tokens: register, login (with its failure limit), refresh, logout, me."""

from __future__ import annotations

from typing import Any

import psycopg
from argon2 import PasswordHasher

from tests.api.support import PASSWORD, ApiUser, error_of
from todoflow.api import create_app


def test_register_creates_an_argon2id_account(client: Any, pg: psycopg.Connection[Any]) -> None:
    response = client.post(
        "/api/auth/register", json={"email": "Ada@Example.com", "password": PASSWORD, "timezone": "Europe/Berlin"}
    )
    assert response.status_code == 201
    user = response.get_json()
    assert set(user) == {"id", "email", "timezone", "created_at"}
    assert user["email"] == "ada@example.com" and user["timezone"] == "Europe/Berlin"
    stored = pg.execute("SELECT password_hash FROM users WHERE id = %s", (user["id"],)).fetchone()[0]
    assert stored.startswith("$argon2id$")
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    # OWASP's minimum: m=19 MiB, t=2, p=1.
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2 and int(params["p"]) >= 1
    assert PasswordHasher().verify(stored, PASSWORD)


def test_register_defaults_to_utc(client: Any) -> None:
    response = client.post("/api/auth/register", json={"email": "utc@example.com", "password": PASSWORD})
    assert response.status_code == 201 and response.get_json()["timezone"] == "UTC"


def test_register_twice_is_409_whatever_the_case(client: Any) -> None:
    assert client.post("/api/auth/register", json={"email": "dup@example.com", "password": PASSWORD}).status_code == 201
    again = client.post("/api/auth/register", json={"email": "DUP@example.com", "password": "another password"})
    assert again.status_code == 409
    assert error_of(again)["code"] == "email_taken"


def test_register_validation(client: Any, pg: psycopg.Connection[Any]) -> None:
    bad = [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "timezone": "Mars/Olympus"}, "timezone"),
        ({"email": "a@example.com", "password": PASSWORD, "timezone": "../../etc/passwd"}, "timezone"),
        ({"email": "a@example.com", "password": PASSWORD, "admin": True}, "admin"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "x" * 400 + "@example.com", "password": PASSWORD}, "email"),
        ({"email": 42, "password": PASSWORD}, "email"),
    ]
    for body, field in bad:
        response = client.post("/api/auth/register", json=body)
        assert response.status_code == 400, body
        error = error_of(response)
        assert error["code"] == "validation_error"
        assert field in error["details"]["json"], (body, error)
    assert pg.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_login_returns_bearer_tokens(client: Any, make_user: Any) -> None:
    user = make_user("login@example.com")
    response = client.post("/api/auth/login", json={"email": "LOGIN@example.com", "password": PASSWORD})
    assert response.status_code == 200
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    assert tokens["refresh_expires_in"] == 30 * 24 * 3600
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.get_json()["id"] == user.id


def test_bad_credentials_look_the_same_whether_or_not_the_email_exists(client: Any, make_user: Any) -> None:
    make_user("known@example.com")
    wrong_password = client.post("/api/auth/login", json={"email": "known@example.com", "password": "nope nope"})
    unknown_email = client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "nope nope"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.get_json() == unknown_email.get_json()
    assert error_of(wrong_password)["code"] == "invalid_credentials"


def test_failed_logins_are_limited_per_email_in_the_database(
    client: Any, make_user: Any, pg: psycopg.Connection[Any]
) -> None:
    make_user("target@example.com")
    for _ in range(5):
        assert (
            client.post("/api/auth/login", json={"email": "target@example.com", "password": "guess"}).status_code == 401
        )
    # A second app instance (another gunicorn worker) sees the same failures: the count lives in PostgreSQL.
    other_worker = create_app().test_client()
    blocked = other_worker.post("/api/auth/login", json={"email": "Target@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert error_of(blocked)["code"] == "too_many_login_failures"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 15 * 60
    # Other emails are not affected.
    assert client.post("/api/auth/login", json={"email": "else@example.com", "password": "x"}).status_code == 401
    # Once the failures leave the window, the right password works and clears the count.
    pg.execute("UPDATE login_failures SET attempted_at = attempted_at - interval '16 minutes'")
    assert client.post("/api/auth/login", json={"email": "target@example.com", "password": PASSWORD}).status_code == 200
    assert pg.execute("SELECT count(*) FROM login_failures WHERE email = 'target@example.com'").fetchone()[0] == 0


def test_successful_login_resets_the_failure_count(client: Any, make_user: Any) -> None:
    make_user("reset@example.com")
    for _ in range(4):
        client.post("/api/auth/login", json={"email": "reset@example.com", "password": "guess"})
    assert client.post("/api/auth/login", json={"email": "reset@example.com", "password": PASSWORD}).status_code == 200
    for _ in range(4):
        assert (
            client.post("/api/auth/login", json={"email": "reset@example.com", "password": "guess"}).status_code == 401
        )


def test_refresh_gives_a_working_access_token(client: Any, alice: ApiUser) -> None:
    response = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {alice.refresh_token}"})
    assert response.status_code == 200
    body = response.get_json()
    # Rotation (issue 11): every refresh also hands out the session's next refresh token.
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["email"] == alice.email


def test_refresh_refuses_an_access_token(client: Any, alice: ApiUser) -> None:
    response = client.post("/api/auth/refresh", headers=alice.headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_token"


def test_logout_revokes_the_token_and_its_session(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    assert client.get("/api/auth/me", headers=alice.headers).status_code == 200
    response = client.post("/api/auth/logout", headers=alice.headers)
    assert response.status_code == 204 and response.data == b""
    refused_access = client.get("/api/auth/me", headers=alice.headers)
    refused_refresh = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {alice.refresh_token}"})
    for refused in (refused_access, refused_refresh):
        assert refused.status_code == 401
        assert error_of(refused)["code"] == "token_revoked"
    kinds = {row[0] for row in pg.execute("SELECT token_type FROM revoked_tokens")}
    assert kinds == {"access", "session"}
    # A new login is a new session and works.
    fresh = client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD}).get_json()
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200


def test_logout_with_the_refresh_token_ends_the_session_too(client: Any, alice: ApiUser) -> None:
    assert (
        client.post("/api/auth/logout", headers={"Authorization": f"Bearer {alice.refresh_token}"}).status_code == 204
    )
    assert client.get("/api/auth/me", headers=alice.headers).status_code == 401


def test_me_and_changing_the_time_zone(client: Any, alice: ApiUser) -> None:
    me = client.get("/api/auth/me", headers=alice.headers).get_json()
    assert me["email"] == alice.email and me["timezone"] == "UTC"
    changed = client.patch("/api/auth/me", json={"timezone": "Asia/Tokyo"}, headers=alice.headers)
    assert changed.status_code == 200 and changed.get_json()["timezone"] == "Asia/Tokyo"
    assert client.get("/api/auth/me", headers=alice.headers).get_json()["timezone"] == "Asia/Tokyo"
    bad = client.patch("/api/auth/me", json={"timezone": "Nowhere/Land"}, headers=alice.headers)
    assert bad.status_code == 400 and "timezone" in error_of(bad)["details"]["json"]
    assert client.patch("/api/auth/me", json={"email": "x@example.com"}, headers=alice.headers).status_code == 400


def test_lifetimes_and_limits_are_configuration(clean_db: str, make_user: Any) -> None:
    from datetime import timedelta

    user = make_user("config@example.com")
    custom = create_app({"JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=60), "LOGIN_MAX_FAILURES": 2}).test_client()
    tokens = custom.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).get_json()
    assert tokens["expires_in"] == 60
    statuses = [
        custom.post("/api/auth/login", json={"email": user.email, "password": "bad"}).status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
