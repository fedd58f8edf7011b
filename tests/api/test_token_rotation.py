"""Issue 11: refresh tokens rotate on use; reusing a rotated one is theft and ends the login session."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.api.support import PASSWORD, ApiUser, error_of


def _refresh(client: Any, token: str) -> Any:
    return client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {token}"})


def _me(client: Any, access: str) -> Any:
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {access}"})


def test_refresh_rotates_the_refresh_token(client: Any, alice: ApiUser) -> None:
    first = _refresh(client, alice.refresh_token)
    assert first.status_code == 200
    body = first.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
    assert body["refresh_token"] != alice.refresh_token
    assert _me(client, body["access_token"]).status_code == 200
    # The chain goes on with each new refresh token.
    second = _refresh(client, body["refresh_token"])
    assert second.status_code == 200 and _me(client, second.get_json()["access_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_session(
    client: Any, alice: ApiUser, pg: psycopg.Connection[Any]
) -> None:
    other_login = client.post("/api/auth/login", json={"email": alice.email, "password": PASSWORD}).get_json()
    rotated = _refresh(client, alice.refresh_token).get_json()
    # The stolen (already used) refresh token comes back.
    reused = _refresh(client, alice.refresh_token)
    assert reused.status_code == 401
    assert error_of(reused)["code"] == "token_reused"
    # Everything of that login session stops working: the legitimate client's new tokens too.
    for refused in (_refresh(client, rotated["refresh_token"]), _me(client, rotated["access_token"])):
        assert refused.status_code == 401 and error_of(refused)["code"] == "token_revoked"
    assert _me(client, alice.access_token).status_code == 401
    # Another login of the same user is another session and goes on.
    assert _me(client, other_login["access_token"]).status_code == 200
    assert _refresh(client, other_login["refresh_token"]).status_code == 200
    kinds = {row[0] for row in pg.execute("SELECT token_type FROM revoked_tokens")}
    assert {"rotated", "session"} <= kinds


def test_a_refresh_token_presented_twice_at_once_counts_as_reuse(app: Any, client: Any, alice: ApiUser) -> None:
    """Two refreshes racing with one token: exactly one wins, the loser ends the session (no second chain)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: _refresh(app.test_client(), alice.refresh_token).status_code, range(4)))
    assert statuses.count(200) <= 1 and statuses.count(401) >= 3
    assert _me(client, alice.access_token).status_code == 401
