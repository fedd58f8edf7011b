"""Priority levels."""

from __future__ import annotations

from apiflask import Schema
from marshmallow import fields


class PriorityOut(Schema):
    """A priority level."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    level = fields.Integer(required=True, metadata={"description": "higher is more urgent"})


class PriorityList(Schema):
    """Every priority level."""

    items = fields.List(fields.Nested(PriorityOut), required=True)
