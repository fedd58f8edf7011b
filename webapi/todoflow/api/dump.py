"""Responses serialized by functions compiled from the output schemas.

The marshmallow schemas stay the single description of every response (they generate /openapi.json);
this module turns each into a plain function once, because dumping a page of 20 tasks field by field
through marshmallow costs more CPU than the rest of the request's Python. Only field types whose
marshmallow output is exactly reproduced here are accepted (anything else fails at import).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache, wraps
from typing import Any

from apiflask import APIBlueprint, Schema
from flask import Response, current_app
from marshmallow import fields

Converter = Callable[[Any], Any]


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _same(value: Any) -> Any:
    return value


def _converter(field: fields.Field) -> Converter:
    if isinstance(field, fields.Nested):
        nested = dumper(field.nested if isinstance(field.nested, type) else type(field.nested))
        return lambda value: None if value is None else nested(value)
    if isinstance(field, fields.List):
        item = _converter(field.inner)
        return lambda value: None if value is None else [item(v) for v in value]
    if isinstance(field, fields.DateTime | fields.Date):
        if getattr(field, "format", None) not in (None, "iso"):
            raise TypeError(f"{field!r}: only ISO 8601 dates are compiled")
        return _iso
    if isinstance(field, fields.UUID):
        return _text
    if isinstance(field, fields.Integer | fields.Boolean | fields.String | fields.Dict):
        return _same
    raise TypeError(f"no compiled dump for {type(field).__name__}")


@cache
def dumper(schema: type[Schema]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """obj -> the JSON-ready dict marshmallow's schema.dump(obj) would give, for mappings of the schema's fields."""
    plan = [(name, field.data_key or name, _converter(field)) for name, field in schema().dump_fields.items()]

    def dump(obj: Mapping[str, Any]) -> dict[str, Any]:
        return {key: convert(obj[name]) for name, key, convert in plan}

    return dump


def output(bp: APIBlueprint, schema: type[Schema], status_code: int = 200) -> Callable[[Any], Any]:
    """bp.output(schema, status_code) for the document, with the compiled dump for the response."""
    dump = dumper(schema)

    def decorator(view: Callable[..., Any]) -> Any:
        @wraps(view)
        def respond(*args: Any, **kwargs: Any) -> Any:
            result = view(*args, **kwargs)
            if isinstance(result, Response):
                return result
            response = current_app.json.response(dump(result))
            response.status_code = status_code
            return response

        return bp.output(schema, status_code=status_code)(respond)

    return decorator
