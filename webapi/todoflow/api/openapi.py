"""One place that says what /openapi.json documents: each operation's errors, and what apispec cannot infer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint
from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import fields
from werkzeug.routing import IntegerConverter, UUIDConverter

from todoflow.api.fields import TimeZone

SECURITY = "BearerAuth"
RATE_LIMITED = {
    "description": "Over the user's write rate (rate_limited; see Retry-After)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def operation(
    bp: APIBlueprint,
    summary: str,
    *,
    operation_id: str | None = None,
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

    def document(view: Any) -> Any:
        # bp.doc sets every key it takes, operation_id too: without one given here, keep the one the view's own
        # @bp.doc(operation_id=...) line, written just below this decorator, has declared.
        declared = operation_id or getattr(view, "_spec", {}).get("operation_id")
        return bp.doc(
            summary=summary,
            description=description,
            responses=responses or None,
            security=SECURITY if auth else None,
            operation_id=declared,
        )(view)

    return document


TIME_ZONE_DOCS = {
    "example": "Europe/Berlin",
    "externalDocs": {"description": "IANA time zone database", "url": "https://www.iana.org/time-zones"},
}
TIME_ZONE_FORMAT = (
    "An IANA time zone name such as Europe/Berlin, America/New_York or UTC (case-sensitive). Names PostgreSQL "
    "does not know (localtime, posixrules, Factory, posix/..., right/...) and unknown names are refused with 400."
)


def _time_zone_docs(converter: Any, field: fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An apispec attribute function: a time zone field is a string described in words, not an enum of 600 names."""
    if not any(isinstance(validator, TimeZone) for validator in field.validators):
        return {}
    own = ret.get("description")
    return {**TIME_ZONE_DOCS, "description": f"{own.rstrip('.')}. {TIME_ZONE_FORMAT}" if own else TIME_ZONE_FORMAT}


class FieldDocs(BasePlugin):
    """apispec plugin (after APIFlask's MarshmallowPlugin): documents fields whose validators apispec cannot read."""

    def init_spec(self, spec: APISpec) -> None:
        """Register the time zone attribute function with the spec's marshmallow converter."""
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(_time_zone_docs)  # type: ignore[union-attr]


def complete_spec(app: Flask) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A spec processor: path parameters get their URL converters' formats, bodies are required, tags listed once."""

    def process(spec: dict[str, Any]) -> dict[str, Any]:
        if "tags" in spec:
            # Blueprints may share a tag (auth and notification_settings: Auth); OpenAPI wants each listed once.
            tags: dict[str, Any] = {}
            for tag in spec["tags"]:
                tags.setdefault(tag["name"], tag)
            spec["tags"] = list(tags.values())
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
