"""Schemas shared by every resource: the error document and pagination."""

from __future__ import annotations

from apiflask import Schema
from marshmallow import fields


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = fields.String(required=True, metadata={"description": "human-readable explanation"})
    details = fields.Dict(
        required=True,
        metadata={"description": "for validation errors: {location: {field: [messages]}}; otherwise {}"},
    )


class Error(Schema):
    """Every error response."""

    error = fields.Nested(ErrorBody, required=True)


class Page(Schema):
    total = fields.Integer(required=True, metadata={"description": "matching items in all pages"})
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)
