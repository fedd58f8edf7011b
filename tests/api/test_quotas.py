"""Issue 11: per-user quotas (open tasks, active series: 409) and a write-rate token bucket (429 + Retry-After)."""

from __future__ import annotations

import time
from typing import Any

from tests.api.support import ApiUser, error_of
from todoflow.api import create_app

SERIES = {"title": "s", "recurrence_type": "daily", "recurrence_interval": 1, "start_date": "2030-01-01"}


def _quota_error(response: Any, quota: str, limit: int) -> None:
    assert response.status_code == 409, response.get_json()
    error = error_of(response)
    assert error["code"] == "quota_exceeded"
    assert error["details"] == {"quota": quota, "limit": limit}


def test_open_tasks_quota(clean_db: str, alice: ApiUser, bob: ApiUser) -> None:
    client = create_app({"QUOTA_OPEN_TASKS": 3}).test_client()
    ids = [client.post("/api/tasks", json={"title": f"t{n}"}, headers=alice.headers).get_json()["id"] for n in range(3)]
    _quota_error(client.post("/api/tasks", json={"title": "one too many"}, headers=alice.headers), "open_tasks", 3)
    # Another user has a quota of their own.
    assert client.post("/api/tasks", json={"title": "bob's"}, headers=bob.headers).status_code == 201
    # Completing one frees a place; reopening it while full is refused.
    assert client.post(f"/api/tasks/{ids[0]}/complete", headers=alice.headers).status_code == 200
    assert client.post("/api/tasks", json={"title": "fits"}, headers=alice.headers).status_code == 201
    _quota_error(client.post(f"/api/tasks/{ids[0]}/reopen", headers=alice.headers), "open_tasks", 3)
    # Deleting frees a place too.
    assert client.delete(f"/api/tasks/{ids[1]}", headers=alice.headers).status_code == 204
    assert client.post(f"/api/tasks/{ids[0]}/reopen", headers=alice.headers).status_code == 200


def test_active_series_quota(clean_db: str, alice: ApiUser) -> None:
    client = create_app({"QUOTA_ACTIVE_SERIES": 2}).test_client()
    created = [client.post("/api/recurring-tasks", json=SERIES, headers=alice.headers) for _ in range(2)]
    assert [r.status_code for r in created] == [201, 201]
    _quota_error(client.post("/api/recurring-tasks", json=SERIES, headers=alice.headers), "active_series", 2)
    first = created[0].get_json()["id"]
    assert client.post(f"/api/recurring-tasks/{first}/pause", headers=alice.headers).status_code == 200
    assert client.post("/api/recurring-tasks", json=SERIES, headers=alice.headers).status_code == 201
    _quota_error(client.post(f"/api/recurring-tasks/{first}/resume", headers=alice.headers), "active_series", 2)


def test_quotas_hold_under_concurrent_creates(app: Any, clean_db: str, alice: ApiUser) -> None:
    from concurrent.futures import ThreadPoolExecutor

    limited = create_app({"QUOTA_OPEN_TASKS": 5, "WRITE_BURST": 100})

    def create(n: int) -> int:
        return int(limited.test_client().post("/api/tasks", json={"title": f"t{n}"}, headers=alice.headers).status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(create, range(12)))
    assert sorted(statuses) == [201] * 5 + [409] * 7


def test_the_defaults_are_a_real_products(app: Any) -> None:
    assert app.config["QUOTA_OPEN_TASKS"] == 10_000
    assert app.config["QUOTA_ACTIVE_SERIES"] == 200
    assert app.config["WRITE_RATE_PER_SECOND"] == 10
    assert app.config["WRITE_BURST"] == 50


def test_writes_per_user_are_rate_limited(clean_db: str, alice: ApiUser, bob: ApiUser) -> None:
    client = create_app({"WRITE_RATE_PER_SECOND": 1, "WRITE_BURST": 3}).test_client()
    statuses = [client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    limited = client.patch("/api/auth/me", json={"timezone": "UTC"}, headers=alice.headers)
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) == 1
    # Reads are not writes, and bob has his own bucket.
    assert client.get("/api/tasks", headers=alice.headers).status_code == 200
    assert client.post("/api/tasks", json={"title": "bob"}, headers=bob.headers).status_code == 201
    # The bucket refills at the rate.
    time.sleep(1.1)
    assert client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).status_code == 201
    assert client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).status_code == 429


def test_the_write_bucket_is_shared_by_every_worker(clean_db: str, alice: ApiUser) -> None:
    config = {"WRITE_RATE_PER_SECOND": 1, "WRITE_BURST": 2}
    one, two = create_app(config).test_client(), create_app(config).test_client()
    assert one.post("/api/tasks", json={"title": "t"}, headers=alice.headers).status_code == 201
    assert two.post("/api/tasks", json={"title": "t"}, headers=alice.headers).status_code == 201
    assert one.post("/api/tasks", json={"title": "t"}, headers=alice.headers).status_code == 429
    assert two.post("/api/tasks", json={"title": "t"}, headers=alice.headers).status_code == 429
