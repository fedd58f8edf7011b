"""Schemas shared by every resource: the error document and pagination."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from marshmallow import fields, validate

from todoflow.api.fields import Text, limit, offset


class ErrorBody(Schema):
    """The inside of every error response: code, message and details."""

    code = fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = fields.String(required=True, metadata={"description": "human-readable explanation"})
    details = fields.Dict(
        required=True,
        metadata={"description": "for validation errors: {location: {field: [messages]}}; otherwise {}"},
    )


class Error(Schema):
    """Every error response."""

    error = fields.Nested(ErrorBody, required=True)


class Stamped(Schema):
    """When a row was created and last changed."""

    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class OwnedItemOut(Stamped):
    """The fields a task and a recurring task share."""

    user_id = fields.UUID(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    priority_id = fields.Integer(required=True, allow_none=True)


class Partial(Schema):
    """Base for an update schema derived from a create schema.

    Every field is optional and no defaults are filled in: only the fields present change.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class PageQuery(Schema):
    """How to ask for a page: by cursor (a previous page's next_cursor) or by offset; the total on request."""

    limit = limit()
    offset = offset()
    cursor = Text(
        validate=validate.Length(min=1, max=1000),
        metadata={
            "description": "next_cursor of the previous page, with the same sort and filters (not with offset); "
            "a cursor stays valid however the list changes"
        },
    )
    total = fields.Boolean(
        load_default=False,
        metadata={"description": "true: count the matching items of all pages (costs a count); default false"},
    )


class Page(Schema):
    """The fields of every page besides its items: total, limit, offset and next_cursor."""

    total = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "matching items in all pages, with total=true; else null"},
    )
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as cursor to get the next page; null on the last page"},
    )


def page_of(out: type[Schema], name: str) -> type[Schema]:
    """<name>Page: a page whose items are <name>Item, a subclass of out with its own name.

    The document meets the page before the single item, so the item in a page gets the page's own schema name.
    """
    doc = f"A {name.lower()} in a page."
    item = type(f"{name}Item", (out,), {"__doc__": doc, "__module__": out.__module__})
    items = fields.List(fields.Nested(item), required=True)
    return type(f"{name}Page", (Page,), {"items": items, "__module__": out.__module__})
