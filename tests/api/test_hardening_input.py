"""Issue 11: bad input answers the right 4xx in the error shape; security headers; the docs page offline."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import psycopg

from tests.api.support import ApiUser, error_of

HUGE = "1" * 5000


def test_a_huge_integer_in_any_json_body_is_malformed_json_not_500(client: Any, alice: ApiUser) -> None:
    bodies = [
        ("/api/auth/register", f'{{"email": "a@example.com", "password": {HUGE}}}', {}),
        ("/api/auth/login", f'{{"email": "a@example.com", "password": {HUGE}}}', {}),
        ("/api/tasks", f'{{"title": "t", "priority_id": {HUGE}}}', alice.headers),
        ("/api/recurring-tasks", f'{{"title": "t", "recurrence_interval": -{HUGE}}}', alice.headers),
    ]
    for path, body, headers in bodies:
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400, (path, response.get_json())
        assert error_of(response)["code"] == "malformed_json", path
    patched = client.patch(
        "/api/auth/me", data=f'{{"timezone": {HUGE}}}', content_type="application/json", headers=alice.headers
    )
    assert patched.status_code == 400 and error_of(patched)["code"] == "malformed_json"


def test_unknown_query_parameters_are_400_everywhere(client: Any, alice: ApiUser) -> None:
    task = client.post("/api/tasks", json={"title": "t"}, headers=alice.headers).get_json()
    for path in (
        "/api/priorities?x=1",
        "/api/auth/me?x=1",
        f"/api/tasks/{task['id']}?x=1",
        "/api/tasks?x=1",
        "/api/notifications?x=1",
        "/api/recurring-tasks?x=1",
        f"/api/tasks/{task['id']}/events?x=1",
    ):
        response = client.get(path, headers=alice.headers)
        assert response.status_code == 400, path
        error = error_of(response)
        assert error["code"] == "validation_error", path
        assert error["details"] == {"query": {"x": ["Unknown field."]}}, (path, error)


def test_repeated_query_parameters_are_400_in_either_order(client: Any, alice: ApiUser) -> None:
    for query in ("limit=5&limit=500", "limit=500&limit=5", "limit=5&limit=5", "completed=true&completed=false"):
        response = client.get(f"/api/tasks?{query}", headers=alice.headers)
        assert response.status_code == 400, query
        error = error_of(response)
        name = query.split("=")[0]
        assert error["code"] == "validation_error"
        assert error["details"] == {"query": {name: ["Given more than once."]}}, (query, error)
    assert client.get("/api/tasks?limit=5&offset=0", headers=alice.headers).status_code == 200


def test_security_headers_on_every_response(client: Any, alice: ApiUser) -> None:
    responses = {
        "health": client.get("/health"),
        "login": client.post("/api/auth/login", json={"email": alice.email, "password": alice.password}),
        "me": client.get("/api/auth/me", headers=alice.headers),
        "error": client.get("/api/tasks"),
        "not found": client.get("/nope"),
        "docs": client.get("/docs"),
        "spec": client.get("/openapi.json"),
    }
    for name, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] == "no-referrer", name
        assert response.headers["X-Frame-Options"] == "DENY", name
    for name in ("login", "me", "error"):
        assert "no-store" in response_cache(responses[name]), name


def response_cache(response: Any) -> str:
    return str(response.headers.get("Cache-Control", ""))


def test_docs_serve_pinned_swagger_ui_from_the_package_under_a_strict_csp(client: Any) -> None:
    from swagger_ui_bundle import swagger_ui_path

    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    # No CDN: every script and stylesheet is ours, and no inline script needs 'unsafe-inline'.
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/docs/") or a == "/openapi.json" for a in assets), assets
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        name = asset.rsplit("/", 1)[1]
        packaged = swagger_ui_path / name
        if packaged.is_file():
            # Byte for byte the pinned package's file.
            assert hashlib.sha256(response.data).digest() == hashlib.sha256(packaged.read_bytes()).digest()
    assert client.get("/docs/../openapi.json").status_code in {200, 404}
    assert client.get("/docs/assets/../../etc/passwd").status_code == 404


def test_task_events_match_the_owner_too(
    client: Any, alice: ApiUser, bob: ApiUser, pg: psycopg.Connection[Any]
) -> None:
    task = client.post("/api/tasks", json={"title": "mine"}, headers=alice.headers).get_json()
    # A foreign event with the same task id (another database's id space, or a forged event) in the log.
    pg.execute(
        """INSERT INTO task_event_log (event_id, task_id, user_id, event_type, event_data, event_timestamp)
           VALUES (gen_random_uuid(), %s, %s, 'task-created', '{"title": "not yours"}', now()),
                  (gen_random_uuid(), %s, %s, 'task-created', '{"title": "yours"}', now())""",
        (task["id"], bob.id, task["id"], alice.id),
    )
    page = client.get(f"/api/tasks/{task['id']}/events?total=true", headers=alice.headers).get_json()
    assert page["total"] == 1
    assert [item["data"]["title"] for item in page["items"]] == ["yours"]
