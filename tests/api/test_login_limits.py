"""Issue 11: failed logins are limited per (email, client address) with a short growing delay, per email
and per address with higher ceilings, and password hashing has a per-process cap that answers 429."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from tests.api.support import PASSWORD, error_of
from todoflow.api import create_app

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


def _login(client: Any, email: str, password: str, addr: str, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": addr},
        headers=headers or {},
    )


def _age_failures(pg: psycopg.Connection[Any], seconds: float) -> None:
    pg.execute("UPDATE login_failures SET attempted_at = attempted_at - make_interval(secs => %s)", (seconds,))


def test_guesses_from_one_address_do_not_lock_the_owner_out_elsewhere(client: Any, make_user: Any) -> None:
    owner = make_user("owner@example.com")
    for _ in range(5):
        assert _login(client, owner.email, "guess", ATTACKER).status_code == 401
    blocked = _login(client, owner.email, "guess", ATTACKER)
    assert blocked.status_code == 429 and error_of(blocked)["code"] == "too_many_login_failures"
    # A short delay, not a 15-minute lockout.
    assert int(blocked.headers["Retry-After"]) == 1
    # The owner, from their own address, logs in at once.
    assert _login(client, owner.email, PASSWORD, OWNER).status_code == 200


def test_the_delay_grows_and_is_capped(client: Any, make_user: Any, pg: psycopg.Connection[Any]) -> None:
    user = make_user("delay@example.com")
    for _ in range(5):
        _login(client, user.email, "guess", ATTACKER)
    waits = []
    for _ in range(4):
        refused = _login(client, user.email, "guess", ATTACKER)
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        _age_failures(pg, wait)
        # Once the delay has passed, one more guess is heard (and fails).
        assert _login(client, user.email, "guess", ATTACKER).status_code == 401
    assert waits == [1, 2, 4, 8]
    # Many failures later the delay stops growing at LOGIN_DELAY_MAX (60 s).
    pg.execute(
        "INSERT INTO login_failures (email, remote_addr) SELECT %s, %s FROM generate_series(1, 30)",
        (user.email, ATTACKER),
    )
    assert int(_login(client, user.email, "guess", ATTACKER).headers["Retry-After"]) == 60
    # The right password from the same address waits as well (the delay is not an oracle)...
    assert _login(client, user.email, PASSWORD, ATTACKER).status_code == 429
    # ...and once the window has passed, it works and clears the pair's failures.
    _age_failures(pg, 16 * 60)
    assert _login(client, user.email, PASSWORD, ATTACKER).status_code == 200


def test_a_per_email_ceiling_across_addresses(clean_db: str, make_user: Any) -> None:
    user = make_user("ceiling@example.com")
    app = create_app({"LOGIN_MAX_FAILURES_PER_EMAIL": 6})
    client = app.test_client()
    for n in range(3):
        for _ in range(2):
            assert _login(client, user.email, "guess", f"192.0.2.{n}").status_code == 401
    refused = _login(client, user.email, PASSWORD, "192.0.2.99")
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "too_many_login_failures" and "this email" in error["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60


def test_a_per_address_limit_across_emails(clean_db: str, pg: psycopg.Connection[Any]) -> None:
    client = create_app({"LOGIN_MAX_FAILURES_PER_ADDRESS": 5}).test_client()
    for _ in range(5):
        assert _login(client, f"{uuid.uuid4().hex}@example.com", "guess", ATTACKER).status_code == 401
    refused = _login(client, f"{uuid.uuid4().hex}@example.com", "guess", ATTACKER)
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "too_many_login_failures" and "address" in error_of(refused)["message"]
    # Refused before any password hashing: nothing more is recorded.
    assert pg.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 5
    # Another address is not affected.
    assert _login(client, f"{uuid.uuid4().hex}@example.com", "guess", OWNER).status_code == 401
    # The process remembers the database's answer: the flood costs it no round trip while the block lasts.
    pg.execute("DELETE FROM login_failures WHERE remote_addr = %s", (ATTACKER,))
    assert _login(client, f"{uuid.uuid4().hex}@example.com", "guess", ATTACKER).status_code == 429
    other_worker = create_app({"LOGIN_MAX_FAILURES_PER_ADDRESS": 5}).test_client()
    assert _login(other_worker, f"{uuid.uuid4().hex}@example.com", "guess", ATTACKER).status_code == 401


def test_password_hashing_is_capped_per_process_and_answers_429(app: Any, client: Any, make_user: Any) -> None:
    user = make_user("busy@example.com")
    slots = app.extensions["todoflow.password_hashing"]
    assert slots.acquire(blocking=False)
    try:
        for response in (
            client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}),
            client.post("/api/auth/register", json={"email": "new@example.com", "password": PASSWORD}),
        ):
            assert response.status_code == 429
            assert error_of(response)["code"] == "login_busy"
            assert response.headers["Retry-After"] == "1"
    finally:
        slots.release()
    assert client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200


def test_a_burst_of_logins_gets_429s_not_a_queue(clean_db: str) -> None:
    """The issue's flood: parallel logins with random emails (each hashes against the decoy)."""
    app = create_app({"PASSWORD_HASH_CONCURRENCY": 1})
    start = threading.Barrier(12)

    def attempt(_: int) -> int:
        client = app.test_client()
        start.wait()
        email = f"{uuid.uuid4().hex}@example.com"
        return int(client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code)

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(attempt, range(12)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) >= 1 and statuses.count(429) >= 1, statuses


def test_the_client_address_comes_from_x_forwarded_for_only_behind_trusted_proxies(
    clean_db: str, pg: psycopg.Connection[Any]
) -> None:
    forwarded = {"X-Forwarded-For": "192.0.2.200, 198.51.100.50"}
    direct = create_app().test_client()
    _login(direct, "who@example.com", "guess", "10.1.2.3", forwarded)
    behind_one = create_app({"TRUSTED_PROXIES": 1}).test_client()
    _login(behind_one, "who@example.com", "guess", "10.1.2.3", forwarded)
    addresses = [row[0] for row in pg.execute("SELECT remote_addr FROM login_failures ORDER BY id")]
    # Without a trusted proxy the header is ignored; behind one, only the address it appended counts.
    assert addresses == ["10.1.2.3", "198.51.100.50"]
