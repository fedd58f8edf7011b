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
# How each value is written in the generated dump: {value} is replaced by the expression reading it.
_ISO = "(None if ({var} := {value}) is None else {var}.isoformat())"
_TEXT = "(None if ({var} := {value}) is None else str({var}))"


def _expression(field: fields.Field, value: str, var: str, helpers: dict[str, Converter]) -> str:
    """Python source computing the field's JSON value from the source expression value."""
    if isinstance(field, fields.Nested):
        name = f"_nested{len(helpers)}"
        helpers[name] = dumper(field.nested if isinstance(field.nested, type) else type(field.nested))
        return f"(None if ({var} := {value}) is None else {name}({var}))"
    if isinstance(field, fields.List):
        item = _expression(field.inner, "_item", "_inner", helpers)
        return f"(None if ({var} := {value}) is None else [{item} for _item in {var}])"
    if isinstance(field, fields.DateTime | fields.Date):
        if getattr(field, "format", None) not in (None, "iso"):
            raise TypeError(f"{field!r}: only ISO 8601 dates are compiled")
        return _ISO.format(var=var, value=value)
    if isinstance(field, fields.UUID):
        return _TEXT.format(var=var, value=value)
    if isinstance(field, fields.Integer | fields.Boolean | fields.String | fields.Dict):
        return value
    raise TypeError(f"no compiled dump for {type(field).__name__}")


@cache
def dumper(schema: type[Schema]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Make obj -> the JSON-ready dict schema.dump(obj) would give, for mappings of the schema's fields.

    Generated as one dict display per schema (keys in the schema's order): a page of 20 tasks is 280 values,
    and a call and a loop step per value cost more than the values themselves.
    """
    helpers: dict[str, Converter] = {}
    entries = [
        f"{field.data_key or name!r}: {_expression(field, f'obj[{name!r}]', f'_v{n}', helpers)}"
        for n, (name, field) in enumerate(schema().dump_fields.items())
    ]
    source = "def dump(obj):\n    return {" + ", ".join(entries) + "}\n"
    namespace: dict[str, Any] = dict(helpers)
    exec(compile(source, f"<dump {schema.__name__}>", "exec"), namespace)  # noqa: S102 - our own schema's fields
    return namespace["dump"]


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
