"""/openapi.json as client generators read it: valid OpenAPI 3.1, named operations, no giant enums, one error shape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from openapi_spec_validator import validate

from tests.api.support import PASSWORD, ApiUser, error_of
from todoflow.api.fields import time_zones

METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})
CAMEL_CASE = re.compile(r"[a-z]+(?:[A-Z][a-z0-9]*)*")
# Client generators turn each enum value into a named constant; a long list is a sign of a field like the
# time zone that should be a documented string (its ~600 names made colliding constants such as GMT0).
LONGEST_ENUM = 20


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the document (schemas and the rest): enough to find every enum."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def test_the_document_is_valid_openapi_3_1(client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema (e.g. a tag listed twice)
    assert len({tag["name"] for tag in spec["tags"]}) == len(spec["tags"])


def test_every_operation_has_a_unique_camel_case_operation_id(client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    ids: dict[str, tuple[str, str]] = {}
    for method, path, operation in _operations(spec):
        operation_id = operation.get("operationId")
        assert operation_id and CAMEL_CASE.fullmatch(operation_id), (method, path, operation_id)
        assert operation_id not in ids, (operation_id, ids.get(operation_id), (method, path))
        ids[operation_id] = (method, path)
        # The operation_id line must not erase what openapi.operation() documents (bp.doc sets every key).
        assert operation.get("summary"), (method, path)
        assert "security" in operation or operation_id in {"register", "login", "getHealth", "getReadiness"}, path
    assert len(ids) >= 38
    expected = {
        "listTasks": ("get", "/api/tasks"),
        "createTask": ("post", "/api/tasks"),
        "getTask": ("get", "/api/tasks/{task_id}"),
        "updateTask": ("patch", "/api/tasks/{task_id}"),
        "replaceTask": ("put", "/api/tasks/{task_id}"),
        "deleteTask": ("delete", "/api/tasks/{task_id}"),
        "completeTask": ("post", "/api/tasks/{task_id}/complete"),
        "login": ("post", "/api/auth/login"),
        "register": ("post", "/api/auth/register"),
        "refreshToken": ("post", "/api/auth/refresh"),
        "listRecurringTasks": ("get", "/api/recurring-tasks"),
        "listNotifications": ("get", "/api/notifications"),
    }
    assert {name: ids.get(name) for name in expected} == expected


def test_the_time_zone_is_a_documented_string_not_an_enum(client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("RegisterIn", "UserUpdateIn"):
        field = schemas[name]["properties"]["timezone"]
        assert field["type"] == "string" and "enum" not in field, name
        assert field["example"] in time_zones()
        assert field["externalDocs"]["url"] == "https://www.iana.org/time-zones"
        assert "IANA time zone name" in field["description"] and "localtime" in field["description"]
    # The field's own words stay in front of the format's.
    assert schemas["RegisterIn"]["properties"]["timezone"]["description"].startswith("IANA time zone of the user")
    longest = max((len(node["enum"]) for node in _schemas(spec) if isinstance(node.get("enum"), list)), default=0)
    assert longest <= LONGEST_ENUM


def test_the_server_still_refuses_unknown_zones_naming_the_field(client: Any, alice: ApiUser) -> None:
    body = {"email": "zone@example.com", "password": PASSWORD, "timezone": "Mars/Olympus_Mons"}
    refused = client.post("/api/auth/register", json=body)
    assert refused.status_code == 400
    assert error_of(refused)["details"] == {
        "json": {"timezone": ["Not a known IANA time zone name (for example Europe/Berlin)."]}
    }
    for zone in ("europe/berlin", "", "Europe/Berlin ", "GMT0x"):
        response = client.patch("/api/auth/me", json={"timezone": zone}, headers=alice.headers)
        assert response.status_code == 400, zone
        assert list(error_of(response)["details"]["json"]) == ["timezone"]
    # Any zone of the list is accepted, also ones a generated enum would have had trouble naming.
    for zone in ("America/Argentina/Buenos_Aires", "Etc/GMT+5", "GMT0", "GMT-0"):
        response = client.patch("/api/auth/me", json={"timezone": zone}, headers=alice.headers)
        assert response.status_code == 200 and response.get_json()["timezone"] == zone


def test_every_error_response_is_the_error_schema(client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    error_ref = {"$ref": "#/components/schemas/Error"}
    for method, path, operation in _operations(spec):
        errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
        assert "400" in errors or "requestBody" not in operation, (method, path)
        for status, response in errors.items():
            assert response["content"]["application/json"]["schema"] == error_ref, (method, path, status)
    schemas = spec["components"]["schemas"]
    assert schemas["Error"]["required"] == ["error"]
    assert schemas["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert sorted(schemas["ErrorBody"]["required"]) == ["code", "details", "message"]


def test_the_docs_page_shows_the_operation_ids(client: Any) -> None:
    script = client.get("/docs/init.js")
    assert script.status_code == 200 and "displayOperationId: true" in script.get_data(as_text=True)
