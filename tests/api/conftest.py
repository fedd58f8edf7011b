"""Fixtures for the REST API tests: the real app on the real test database, and users with tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from tests.api.support import PASSWORD, ApiUser


@pytest.fixture
def make_user(client: FlaskClient) -> Callable[..., ApiUser]:
    """make_user(email=None, timezone="UTC") registers and logs in a new user through the API."""

    def _make(email: str | None = None, timezone: str = "UTC", password: str = PASSWORD) -> ApiUser:
        email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
        registered = client.post(
            "/api/auth/register", json={"email": email, "password": password, "timezone": timezone}
        )
        assert registered.status_code == 201, registered.get_json()
        logged_in = client.post("/api/auth/login", json={"email": email, "password": password})
        assert logged_in.status_code == 200, logged_in.get_json()
        tokens = logged_in.get_json()
        return ApiUser(registered.get_json()["id"], email, password, tokens["access_token"], tokens["refresh_token"])

    return _make


@pytest.fixture
def alice(make_user: Callable[..., ApiUser]) -> ApiUser:
    return make_user("alice@example.com")


@pytest.fixture
def bob(make_user: Callable[..., ApiUser]) -> ApiUser:
    return make_user("bob@example.com")


@pytest.fixture
def outbox(pg: psycopg.Connection[Any]) -> Callable[[], list[dict[str, Any]]]:
    """outbox() returns every outbox row (topic, message_key, payload) in insertion order."""

    def _rows() -> list[dict[str, Any]]:
        rows = pg.execute("SELECT topic, message_key, payload FROM event_outbox ORDER BY id").fetchall()
        return [{"topic": t, "key": k, "payload": p} for t, k, p in rows]

    return _rows
