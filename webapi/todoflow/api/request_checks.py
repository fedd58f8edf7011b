"""Checks every request passes before its view: query parameters and JSON numbers no view could accept.

- A query parameter the operation does not declare is 400 on every endpoint, including those that take
  no query at all (webargs only sees the endpoints that declare a query schema).
- A parameter given more than once is 400 whatever the order (webargs would keep the first).
- A JSON number with more digits than Python converts (sys.get_int_max_str_digits) is 400 malformed_json:
  json.loads raises a bare ValueError for it, which webargs does not treat as a JSON error.
"""

from __future__ import annotations

import json
import re
import sys

from flask import current_app, request

from todoflow.api import errors

# A run of digits longer than int() accepts: only then is the body parsed here (normally webargs parses once).
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (sys.get_int_max_str_digits() + 1))


def _declared_query(endpoint: str | None) -> bool:
    """Whether the endpoint's view declares a query schema (apiflask records inputs in view._spec)."""
    view = current_app.view_functions.get(endpoint or "")
    spec = getattr(view, "_spec", None) or {}
    return any(location == "query" for _schema, location in spec.get("args") or [])


def check_query() -> None:
    """400 for a repeated query parameter, or for any parameter of an operation that takes none."""
    if not request.args:
        return
    repeated = {name: ["Given more than once."] for name, values in request.args.lists() if len(values) > 1}
    if repeated:
        raise errors.api_error(400, "validation_error", "Validation error", {"query": repeated})
    if request.endpoint is not None and not _declared_query(request.endpoint):
        unknown = {name: ["Unknown field."] for name in request.args}
        raise errors.api_error(400, "validation_error", "Validation error", {"query": unknown})


def check_json_numbers() -> None:
    """400 malformed_json for a JSON body holding an integer too long to convert."""
    if not request.is_json:
        return
    data = request.get_data(cache=True)
    if not _LONG_DIGITS.search(data):
        return
    try:
        json.loads(data)
    except ValueError as exc:
        # JSONDecodeError included: either way the body is not JSON this API can read.
        raise errors.api_error(
            400, "malformed_json", "request body is not valid JSON (or holds an integer of over 4300 digits)"
        ) from exc
