"""Recurring tasks: the seed plan's shapes."""

from __future__ import annotations

from datetime import date
from typing import Any

from apiflask import Schema
from marshmallow import ValidationError, fields, validate, validates_schema

from todoflow.api.fields import JsonInteger, Text, description, limit, offset, priority_id, sort_order, title
from todoflow.api.schemas.common import Page
from todoflow.core.models import MAX_INTERVAL, RECURRENCE_TYPES

# Series start and end within these bounds keep the expansion's work per series bounded.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2999, 12, 31)
RECURRING_SORTS = ("next_due_at", "created_at")


def series_date(**kwargs: Any) -> fields.Date:
    return fields.Date(
        validate=validate.Range(min=FIRST_DATE, max=LAST_DATE),
        metadata={"description": f"between {FIRST_DATE} and {LAST_DATE}"},
        **kwargs,
    )


class RecurringTaskIn(Schema):
    title = title()
    description = description()
    priority_id = priority_id(load_default=2)
    recurrence_type = Text(required=True, validate=validate.OneOf(RECURRENCE_TYPES))
    recurrence_interval = JsonInteger(
        required=True,
        validate=validate.Range(min=1, max=MAX_INTERVAL),
        metadata={"description": "every N days, weeks, months or years"},
    )
    start_date = series_date(required=True)
    end_date = series_date(load_default=None, allow_none=True)

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("end_date") is not None and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")


class RecurringTaskUpdate(Schema):
    """The changeable fields; the recurrence rule itself is fixed once created."""

    title = Text(validate=RecurringTaskIn._declared_fields["title"].validators)
    description = Text(validate=validate.Length(max=2000))
    priority_id = priority_id()
    end_date = series_date(
        allow_none=True,
    )


class RecurringQuery(Schema):
    is_active = fields.Boolean()
    sort_by = Text(load_default="next_due_at", validate=validate.OneOf(RECURRING_SORTS))
    sort_order = sort_order("asc")
    limit = limit()
    offset = offset()


class RecurringTaskOut(Schema):
    id = fields.UUID(required=True)
    user_id = fields.UUID(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    priority_id = fields.Integer(required=True, allow_none=True)
    recurrence_type = fields.String(required=True, metadata={"enum": list(RECURRENCE_TYPES)})
    recurrence_interval = fields.Integer(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, allow_none=True)
    last_created_at = fields.DateTime(required=True, allow_none=True)
    next_due_at = fields.Date(required=True)
    is_active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class RecurringTaskPage(Page):
    items = fields.List(fields.Nested(RecurringTaskOut), required=True)
