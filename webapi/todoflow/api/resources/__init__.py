"""One blueprint per resource; `endpoint` stacks the decorators every view needs, in their one order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint, Schema
from flask_jwt_extended import jwt_required
from marshmallow import RAISE

from todoflow.api import write_limit
from todoflow.api.domain_errors import NotFound
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation


def endpoint(
    bp: APIBlueprint,
    method: str,
    rule: str,
    summary: str,
    *,
    operation_id: str,
    out: type[Schema] | None = None,
    status_code: int = 200,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    write: bool = False,
    errors: dict[int, str] | None = None,
    description: str | None = None,
) -> Callable[[Any], Any]:
    """Declare a view: its route and OpenAPI operation, and what it takes and answers.

    It is documented (operation_id: the stable camelCase name generated clients call), requires an access token,
    spends a write token (write=True), loads the JSON body (as `data`) or the query string (as `query`, unknown
    parameters refused) and dumps the answer with out (none: an empty answer).
    """

    def decorate(view: Callable[..., Any]) -> Any:
        wrapped = (
            output(bp, out, status_code)(view) if out is not None else bp.output({}, status_code=status_code)(view)
        )
        if query is not None:
            wrapped = bp.input(query, location="query", arg_name="query", unknown=RAISE)(wrapped)
        if body is not None:
            wrapped = bp.input(body, arg_name="data")(wrapped)
        if write:
            wrapped = write_limit.limited(wrapped)
        wrapped = jwt_required()(wrapped)
        wrapped = operation(
            bp, summary, operation_id=operation_id, body=body is not None, errors=errors, description=description
        )(wrapped)
        return bp.route(rule, methods=[method])(wrapped)

    return decorate


def deleted(removed: bool, what: str) -> str:
    """The empty answer of a DELETE that removed something (committed), or NotFound naming what."""
    if not removed:
        raise NotFound(f"no such {what}")
    db.session.commit()
    return ""
