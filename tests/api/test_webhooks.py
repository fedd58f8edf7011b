"""The webhooks API and notification settings: contract, ownership, SSRF refusals, errors in the one shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.api.support import ApiUser, error_of
from todoflow.api import create_app

PUBLIC_URL = "https://93.184.215.14/hooks"  # a public literal address: no DNS needed
EVENTS = ["task-created", "task-due-soon"]


@pytest.fixture
def local_client(clean_db: str) -> Iterator[Any]:
    """A client of an app that allows private targets (as the local stack and the delivery tests do)."""
    app = create_app({"WEBHOOK_ALLOW_PRIVATE_TARGETS": True})
    app.testing = True
    yield app.test_client()


def _create(client: Any, user: ApiUser, url: str = PUBLIC_URL, **extra: Any) -> Any:
    return client.post("/api/webhooks", json={"url": url, "events": EVENTS, **extra}, headers=user.headers)


def test_create_shows_secret_once_and_lists_without_it(client: Any, alice: ApiUser) -> None:
    created = _create(client, alice, description="my receiver")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert set(body) == {
        "id",
        "url",
        "events",
        "description",
        "active",
        "consecutive_failures",
        "deactivated_reason",
        "created_at",
        "updated_at",
        "secret",
    }
    assert body["secret"].startswith("whsec_") and len(body["secret"]) >= 6 + 43  # 32 random bytes, base64url
    assert body["active"] is True and body["events"] == EVENTS and body["description"] == "my receiver"

    listed = client.get("/api/webhooks", headers=alice.headers).get_json()["items"]
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"/api/webhooks/{body['id']}", headers=alice.headers).get_json()
    assert "secret" not in one and one["url"] == PUBLIC_URL


def test_patch_rotate_delete(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    hook = _create(client, alice).get_json()
    path = f"/api/webhooks/{hook['id']}"
    patched = client.patch(path, json={"events": ["task-deleted"], "description": "x"}, headers=alice.headers)
    assert patched.status_code == 200
    assert patched.get_json()["events"] == ["task-deleted"] and patched.get_json()["description"] == "x"

    pg.execute("UPDATE webhooks SET active = false, consecutive_failures = 20, deactivated_reason = 'r'")
    reactivated = client.patch(path, json={"active": True}, headers=alice.headers).get_json()
    assert reactivated["active"] is True
    assert reactivated["consecutive_failures"] == 0 and reactivated["deactivated_reason"] is None

    rotated = client.post(f"{path}/rotate-secret", headers=alice.headers)
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] != hook["secret"]
    assert pg.execute("SELECT secret FROM webhooks").fetchone()[0] == rotated.get_json()["secret"]

    assert client.delete(path, headers=alice.headers).status_code == 204
    assert client.get(path, headers=alice.headers).status_code == 404
    assert client.delete(path, headers=alice.headers).status_code == 404


def test_ping_queues_a_delivery_listed_newest_first(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    hook = _create(client, alice).get_json()
    first = client.post(f"/api/webhooks/{hook['id']}/ping", headers=alice.headers)
    second = client.post(f"/api/webhooks/{hook['id']}/ping", headers=alice.headers)
    assert first.status_code == 202, first.get_json()
    assert first.get_json()["event_type"] == "ping" and first.get_json()["state"] == "pending"
    page = client.get(f"/api/webhooks/{hook['id']}/deliveries?total=true", headers=alice.headers).get_json()
    assert page["total"] == 2
    assert [d["id"] for d in page["items"]] == [second.get_json()["id"], first.get_json()["id"]]
    assert set(page["items"][0]) == {
        "id",
        "event_id",
        "event_type",
        "state",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    }
    pending = client.get(f"/api/webhooks/{hook['id']}/deliveries?state=delivered&total=true", headers=alice.headers)
    assert pending.get_json()["total"] == 0
    assert (
        pg.execute("SELECT count(*) FROM deliveries WHERE endpoint = %s", (f"webhook:{hook['id']}",)).fetchone()[0] == 2
    )


def test_another_users_webhook_is_404(client: Any, alice: ApiUser, bob: ApiUser) -> None:
    hook = _create(client, alice).get_json()
    path = f"/api/webhooks/{hook['id']}"
    for method, suffix, body in (
        ("get", "", None),
        ("patch", "", {"description": "mine now"}),
        ("delete", "", None),
        ("post", "/rotate-secret", None),
        ("post", "/ping", None),
        ("get", "/deliveries", None),
    ):
        kwargs: dict[str, Any] = {"headers": bob.headers}
        if body is not None:
            kwargs["json"] = body
        response = getattr(client, method)(path + suffix, **kwargs)
        assert response.status_code == 404, (method, suffix)
        assert error_of(response)["code"] == "not_found"
    assert client.get("/api/webhooks", headers=bob.headers).get_json()["items"] == []
    assert client.get(path, headers=alice.headers).get_json()["description"] == ""


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://93.184.215.14/hook", "https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),  # a host name that resolves to 127.0.0.1
        ("https://[::1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://172.16.5.4/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://100.64.0.1/hook", "non-public"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://does-not-exist.invalid/hook", "does not resolve"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("ftp://93.184.215.14/hook", "https"),
        ("not a url", "https"),
    ],
)
def test_unsafe_urls_are_refused(client: Any, alice: ApiUser, url: str, fragment: str) -> None:
    response = _create(client, alice, url=url)
    assert response.status_code == 400, response.get_json()
    error = error_of(response)
    assert error["code"] == "unsafe_url"
    assert fragment in error["message"] and error["details"]["json"]["url"]


def test_patch_to_unsafe_url_is_refused(client: Any, alice: ApiUser) -> None:
    hook = _create(client, alice).get_json()
    response = client.patch(f"/api/webhooks/{hook['id']}", json={"url": "https://localhost/"}, headers=alice.headers)
    assert response.status_code == 400 and error_of(response)["code"] == "unsafe_url"
    assert client.get(f"/api/webhooks/{hook['id']}", headers=alice.headers).get_json()["url"] == PUBLIC_URL


def test_private_targets_allowed_by_the_setting(local_client: Any, make_user: Callable[..., ApiUser]) -> None:
    user = make_user()
    response = _create(local_client, user, url="http://127.0.0.1:9/hook")
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": EVENTS}, "url"),
        ({"url": PUBLIC_URL}, "events"),
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL, "events": ["task-exploded"]}, "events"),
        ({"url": PUBLIC_URL, "events": ["task-created", "task-created"]}, "events"),
        ({"url": PUBLIC_URL, "events": "task-created"}, "events"),
        ({"url": PUBLIC_URL, "events": EVENTS, "description": "x" * 501}, "description"),
        ({"url": PUBLIC_URL, "events": EVENTS, "secret": "mine"}, "secret"),
        ({"url": 5, "events": EVENTS}, "url"),
    ],
)
def test_invalid_bodies_are_400(client: Any, alice: ApiUser, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/webhooks", json=body, headers=alice.headers)
    assert response.status_code == 400
    error = error_of(response)
    assert field in error["details"]["json"], error


def test_errors_of_the_other_kinds(client: Any, alice: ApiUser) -> None:
    unauthenticated = client.get("/api/webhooks")
    assert unauthenticated.status_code == 401 and error_of(unauthenticated)
    not_json = client.post("/api/webhooks", data="x", headers={**alice.headers, "Content-Type": "text/plain"})
    assert not_json.status_code == 415 and error_of(not_json)["code"] == "unsupported_media_type"
    malformed = client.post("/api/webhooks", data="{", headers={**alice.headers, "Content-Type": "application/json"})
    assert malformed.status_code == 400 and error_of(malformed)["code"] == "malformed_json"
    bad_id = client.get("/api/webhooks/not-a-uuid", headers=alice.headers)
    assert bad_id.status_code == 404 and error_of(bad_id)
    wrong_method = client.put("/api/webhooks", json={}, headers=alice.headers)
    assert wrong_method.status_code == 405 and error_of(wrong_method)
    hook = _create(client, alice).get_json()
    bad_query = client.get(f"/api/webhooks/{hook['id']}/deliveries?state=lost", headers=alice.headers)
    assert bad_query.status_code == 400 and "state" in error_of(bad_query)["details"]["query"]
    unknown_query = client.get(f"/api/webhooks/{hook['id']}/deliveries?color=red", headers=alice.headers)
    assert unknown_query.status_code == 400 and error_of(unknown_query)


def test_webhook_cap_per_user(client: Any, alice: ApiUser, pg: psycopg.Connection[Any]) -> None:
    from todoflow.api.webhook_store import MAX_WEBHOOKS_PER_USER

    pg.execute(
        "INSERT INTO webhooks (user_id, url, events, secret) SELECT %s, %s, ARRAY['task-created'], 's' "
        "FROM generate_series(1, %s)",
        (alice.id, PUBLIC_URL, MAX_WEBHOOKS_PER_USER),
    )
    response = _create(client, alice)
    assert response.status_code == 409 and error_of(response)["code"] == "webhook_limit"


def test_notification_settings_default_and_patch(client: Any, alice: ApiUser, bob: ApiUser) -> None:
    path = "/api/auth/me/notification-settings"
    assert client.get(path, headers=alice.headers).get_json() == {"email_reminders": True, "webhook_reminders": True}
    changed = client.patch(path, json={"email_reminders": False}, headers=alice.headers)
    assert changed.status_code == 200
    assert changed.get_json() == {"email_reminders": False, "webhook_reminders": True}
    again = client.patch(path, json={"webhook_reminders": False}, headers=alice.headers).get_json()
    assert again == {"email_reminders": False, "webhook_reminders": False}
    assert client.get(path, headers=alice.headers).get_json() == again
    assert client.get(path, headers=bob.headers).get_json() == {"email_reminders": True, "webhook_reminders": True}
    bad = client.patch(path, json={"email_reminders": "maybe"}, headers=alice.headers)
    assert bad.status_code == 400 and "email_reminders" in error_of(bad)["details"]["json"]
    unknown = client.patch(path, json={"sms": True}, headers=alice.headers)
    assert unknown.status_code == 400 and error_of(unknown)
    assert client.get(path).status_code == 401
