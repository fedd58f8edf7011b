"""Recurring tasks: the seed plan's shapes."""

from __future__ import annotations

from datetime import date
from typing import Any

from apiflask import Schema
from marshmallow import ValidationError, fields, validate, validates_schema

from todoflow.api.fields import JsonInteger, Text, description, limit, priority_id, sort_order, title
from todoflow.api.schemas.common import OwnedItemOut, Page, PageQuery, Partial
from todoflow.core import rrule as rrule_rules
from todoflow.core.models import MAX_INTERVAL, RECURRENCE_TYPES

REPEAT_FROM = ("due", "completion")

# Series start and end within these bounds keep the expansion's work per series bounded.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2999, 12, 31)
RECURRING_SORTS = ("next_due_at", "created_at")


def series_date(**kwargs: Any) -> fields.Date:
    """A date field limited to the dates a series may start or end on."""
    return fields.Date(
        validate=validate.Range(min=FIRST_DATE, max=LAST_DATE),
        metadata={"description": f"between {FIRST_DATE} and {LAST_DATE}"},
        **kwargs,
    )


class RecurringTaskChange(Schema):
    """The fields of a series that can change after it is created (the recurrence rule is fixed)."""

    title = title()
    description = description()
    priority_id = priority_id(load_default=2)
    end_date = series_date(load_default=None, allow_none=True)


class RecurringTaskIn(RecurringTaskChange):
    """A new series: by rrule or by recurrence type and interval, from start_date."""

    recurrence_type = Text(
        validate=validate.OneOf(RECURRENCE_TYPES), metadata={"description": "with recurrence_interval, or give rrule"}
    )
    recurrence_interval = JsonInteger(
        validate=validate.Range(min=1, max=MAX_INTERVAL),
        metadata={"description": "every N days, weeks, months or years"},
    )
    start_date = series_date(required=True)
    rrule = Text(
        validate=validate.Length(min=1, max=rrule_rules.MAX_LENGTH),
        metadata={
            "description": "an RFC 5545 RRULE value (FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, COUNT, "
            "UNTIL as a date, WKST) instead of recurrence_type/recurrence_interval; DTSTART is start_date",
            "example": "FREQ=WEEKLY;BYDAY=MO,TH",
        },
    )
    repeat_from = Text(
        load_default="due",
        validate=validate.OneOf(REPEAT_FROM),
        metadata={"description": "due: on schedule; completion: the next instance counts from completing this one"},
    )

    @validates_schema
    def _end_after_start(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("end_date") is not None and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")

    @validates_schema(skip_on_field_errors=True)
    def _one_form(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """Either rrule or recurrence_type with recurrence_interval; a rule must parse and have an occurrence."""
        seed = [name for name in ("recurrence_type", "recurrence_interval") if name in data]
        if "rrule" in data:
            if seed:
                raise ValidationError(f"Give either rrule or {' and '.join(seed)}, not both.", "rrule")
            try:
                rule = rrule_rules.parse(data["rrule"])
                rrule_rules.check(rule, data["start_date"])
            except rrule_rules.RuleError as exc:
                raise ValidationError({exc.part: [exc.message]}, "rrule") from None
            return
        missing = {name: ["Missing data for required field (or give rrule)."] for name in
                   ("recurrence_type", "recurrence_interval") if name not in data}  # fmt: skip
        if missing:
            raise ValidationError(missing)


class RecurringTaskUpdate(Partial, RecurringTaskChange):
    """The changeable fields: only those present change; the recurrence rule itself is fixed once created."""


class RecurringQuery(PageQuery):
    """A page of series, optionally only active or inactive ones, in a chosen order."""

    is_active = fields.Boolean()
    sort_by = Text(load_default="next_due_at", validate=validate.OneOf(RECURRING_SORTS))
    sort_order = sort_order("asc")


class RecurringTaskOut(OwnedItemOut):
    """A series as the API shows it, with its recurrence in English."""

    id = fields.UUID(required=True)
    recurrence_type = fields.String(
        required=True, allow_none=True, metadata={"enum": [*RECURRENCE_TYPES, None], "description": "null with rrule"}
    )
    recurrence_interval = fields.Integer(required=True, allow_none=True, metadata={"description": "null with rrule"})
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, allow_none=True)
    last_created_at = fields.DateTime(required=True, allow_none=True)
    next_due_at = fields.Date(required=True)
    is_active = fields.Boolean(required=True)
    rrule = fields.String(
        required=True, allow_none=True, metadata={"description": "normalised; null for the seed types"}
    )
    repeat_from = fields.String(required=True, metadata={"enum": list(REPEAT_FROM)})
    recurrence_description = fields.String(
        required=True, metadata={"description": "short English, e.g. 'every 2 weeks on Monday and Thursday'"}
    )


class RecurringTaskPage(Page):
    """A page of series."""

    items = fields.List(fields.Nested(RecurringTaskOut), required=True)


class OccurrencesQuery(Schema):
    """Which upcoming due dates to preview: from a day, at most limit."""

    from_ = series_date(data_key="from")  # default: today in the owner's time zone
    limit = limit(default=10, maximum=366)


class OccurrencesOut(Schema):
    """A series' upcoming due dates."""

    recurring_task_id = fields.UUID(required=True)
    from_ = fields.Date(required=True, data_key="from")
    occurrences = fields.List(fields.Date(), required=True)
