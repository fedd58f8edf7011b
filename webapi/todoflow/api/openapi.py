"""One place that says which errors an operation documents, so /openapi.json lists what the API answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint
from flask import Flask
from werkzeug.routing import IntegerConverter, UUIDConverter

SECURITY = "BearerAuth"
RATE_LIMITED = {
    "description": "Over the user's write rate (rate_limited; see Retry-After)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def operation(
    bp: APIBlueprint,
    summary: str,
    *,
    auth: bool = True,
    body: bool = False,
    errors: dict[int, str] | None = None,
    description: str | None = None,
) -> Callable[[Any], Any]:
    """bp.doc for a view: its summary, security and every error status it can answer besides 400/401/404."""
    responses: dict[int, str] = {}
    if body:
        responses[413] = "Request body larger than 1 MiB"
        responses[415] = "Request body is not JSON"
    responses.update(errors or {})
    return bp.doc(
        summary=summary,
        description=description,
        responses=responses or None,
        security=SECURITY if auth else None,
    )


def complete_spec(app: Flask) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A spec processor: path parameters get the formats their URL converters enforce; bodies are required."""

    def process(spec: dict[str, Any]) -> dict[str, Any]:
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                if "requestBody" in operation:
                    # Every body schema is a JSON object; an absent body is read as {}, which fails validation.
                    operation["requestBody"]["required"] = True
        for rule in app.url_map.iter_rules():
            path = re.sub(r"<([^<:]+:)?", "{", rule.rule).replace(">", "}")
            if getattr(app.view_functions.get(rule.endpoint), "_write_limited", False):
                for method in rule.methods or ():
                    operation = spec.get("paths", {}).get(path, {}).get(method.lower())
                    if operation is not None:
                        operation["responses"].setdefault("429", RATE_LIMITED)
            for operation in spec.get("paths", {}).get(path, {}).values():
                for parameter in operation.get("parameters", []):
                    converter = rule._converters.get(parameter["name"]) if parameter.get("in") == "path" else None
                    if isinstance(converter, UUIDConverter):
                        parameter["schema"] = {"type": "string", "format": "uuid"}
                    elif isinstance(converter, IntegerConverter):
                        parameter["schema"] = {"type": "integer", "minimum": 0}
        return spec

    return process
