"""One error shape for every failure; probes; the OpenAPI document and docs page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.api.support import ApiUser, error_of


def test_unknown_route_is_404(client: Any) -> None:
    for path in ("/nope", "/api/nope", "/api/tasks/abc", "/api/tasks/-1"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_wrong_method_is_405_with_allow(client: Any, alice: ApiUser) -> None:
    response = client.delete("/api/tasks", headers=alice.headers)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]
    assert client.put("/health").status_code == 405


def test_body_over_one_mebibyte_is_413(client: Any, alice: ApiUser) -> None:
    body = json.dumps({"title": "t", "description": "x" * (1024 * 1024)})
    response = client.post("/api/tasks", data=body, content_type="application/json", headers=alice.headers)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_non_json_body_is_415(client: Any, alice: ApiUser) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = client.post("/api/tasks", data='{"title": "t"}', content_type=content_type, headers=alice.headers)
        assert response.status_code == 415, content_type
        assert error_of(response)["code"] == "unsupported_media_type"
    assert client.post("/api/auth/login", data="email=a", content_type="text/plain").status_code == 415


def test_malformed_json_is_400(client: Any, alice: ApiUser) -> None:
    for body in ('{"title": ', "[1, 2", "\xff\xfe", "{'title': 'single quotes'}"):
        response = client.post("/api/tasks", data=body, content_type="application/json", headers=alice.headers)
        assert response.status_code == 400, body
        assert error_of(response)["code"] == "malformed_json"


def test_json_that_is_not_an_object_is_400(client: Any, alice: ApiUser) -> None:
    for body in ("[1, 2]", '"title"', "null", "42", "true"):
        response = client.post("/api/tasks", data=body, content_type="application/json", headers=alice.headers)
        assert response.status_code == 400, body
        assert error_of(response)["code"] in {"validation_error", "malformed_json"}


def test_deeply_nested_json_is_400_not_500(client: Any, alice: ApiUser) -> None:
    body = "[" * 200_000 + "]" * 200_000
    response = client.post("/api/tasks", data=body, content_type="application/json", headers=alice.headers)
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_empty_body_is_a_validation_error(client: Any, alice: ApiUser) -> None:
    response = client.post("/api/tasks", headers=alice.headers)
    assert response.status_code == 400
    assert "title" in error_of(response)["details"]["json"]


def test_health_and_ready(client: Any) -> None:
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/ready").get_json() == {"status": "ready"}


def test_ready_is_503_when_the_database_is_unreachable() -> None:
    # A separate process: its app points at a port where no database listens.
    code = (
        "from todoflow.api import create_app\n"
        "r = create_app().test_client().get('/ready')\n"
        "print(r.status_code, r.get_json()['error']['code'])\n"
    )
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["503", "unavailable"], out.stderr[-2000:]


def test_the_app_refuses_to_start_without_a_jwt_secret() -> None:
    code = "from todoflow.api import create_app\ncreate_app()\n"
    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET_KEY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "JWT_SECRET_KEY" in out.stderr
    env["JWT_SECRET_KEY"] = "too-short"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "JWT_SECRET_KEY" in out.stderr


def test_openapi_document(client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    paths = spec["paths"]
    expected = {
        ("post", "/api/auth/register"),
        ("post", "/api/auth/login"),
        ("post", "/api/auth/refresh"),
        ("post", "/api/auth/logout"),
        ("get", "/api/auth/me"),
        ("get", "/api/priorities"),
        ("get", "/api/tasks"),
        ("post", "/api/tasks"),
        ("get", "/api/tasks/{task_id}"),
        ("patch", "/api/tasks/{task_id}"),
        ("put", "/api/tasks/{task_id}"),
        ("delete", "/api/tasks/{task_id}"),
        ("post", "/api/tasks/{task_id}/complete"),
        ("post", "/api/tasks/{task_id}/reopen"),
        ("get", "/api/tasks/{task_id}/events"),
        ("post", "/api/recurring-tasks"),
        ("get", "/api/recurring-tasks"),
        ("get", "/api/recurring-tasks/{rid}"),
        ("put", "/api/recurring-tasks/{rid}"),
        ("delete", "/api/recurring-tasks/{rid}"),
        ("post", "/api/recurring-tasks/{rid}/pause"),
        ("post", "/api/recurring-tasks/{rid}/resume"),
        ("get", "/api/notifications"),
        ("post", "/api/notifications/{nid}/read"),
        ("get", "/health"),
        ("get", "/ready"),
    }
    assert expected <= {(m, p) for p, ops in paths.items() for m in ops}
    assert paths["/api/tasks"]["get"]["security"] == [{"BearerAuth": []}]
    assert "security" not in paths["/api/auth/login"]["post"]
    # Generated from the same marshmallow schemas that validate requests.
    task_in = spec["components"]["schemas"]["TaskIn"]
    assert task_in["properties"]["title"]["maxLength"] == 500 and task_in["additionalProperties"] is False
    recurring_in = spec["components"]["schemas"]["RecurringTaskIn"]["properties"]
    assert recurring_in["recurrence_interval"]["maximum"] == 52
    assert recurring_in["recurrence_type"]["enum"] == ["daily", "weekly", "monthly", "yearly"]
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]


def test_docs_page(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and b"openapi.json" in page.data
