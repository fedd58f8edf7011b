"""Issue 11: only time zones that both Python and PostgreSQL know are accepted (a bad one stopped every job)."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.api.support import PASSWORD, ApiUser, error_of
from todoflow.api.fields import time_zones

NOT_ZONES = ("localtime", "posixrules", "posix/Europe/Berlin", "right/UTC")


def test_every_accepted_zone_is_known_to_the_database(pg: psycopg.Connection[Any]) -> None:
    known = {row[0] for row in pg.execute("SELECT name FROM pg_timezone_names")}
    accepted = set(time_zones())
    assert "Europe/Berlin" in accepted and "UTC" in accepted
    assert accepted <= known, sorted(accepted - known)
    # And every one of them works where the jobs use it.
    for zone in sorted(accepted):
        pg.execute("SELECT now() AT TIME ZONE %s", (zone,))


def test_register_refuses_zones_the_database_does_not_know(client: Any, pg: psycopg.Connection[Any]) -> None:
    for zone in NOT_ZONES:
        response = client.post(
            "/api/auth/register", json={"email": "tz@example.com", "password": PASSWORD, "timezone": zone}
        )
        assert response.status_code == 400, zone
        error = error_of(response)
        assert error["code"] == "validation_error"
        (message,) = error["details"]["json"]["timezone"]
        assert "not a time zone" in message and "database" in message, (zone, message)
    assert pg.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_patch_me_refuses_them_too(client: Any, alice: ApiUser) -> None:
    for zone in NOT_ZONES:
        response = client.patch("/api/auth/me", json={"timezone": zone}, headers=alice.headers)
        assert response.status_code == 400, zone
        assert "timezone" in error_of(response)["details"]["json"]
    assert client.get("/api/auth/me", headers=alice.headers).get_json()["timezone"] == "UTC"


def test_the_document_says_they_are_refused(client: Any) -> None:
    # Published as a described string, not an enum of ~600 names (tests/api/test_openapi_document.py).
    spec = client.get("/openapi.json").get_json()
    description = spec["components"]["schemas"]["RegisterIn"]["properties"]["timezone"]["description"]
    assert all(name in description for name in ("localtime", "posixrules", "Factory", "posix/", "right/"))
