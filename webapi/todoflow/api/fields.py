"""Input fields stricter than marshmallow's defaults, so nothing PostgreSQL would refuse gets through."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from marshmallow import ValidationError, fields, validate

INT32_MAX = 2**31 - 1
EMAIL_MAX = 320


class Text(fields.String):
    """A string PostgreSQL can store: valid UTF-8 (no lone surrogates) and no NUL character."""

    default_error_messages = {
        "nul": "Must not contain the NUL character.",
        "encoding": "Must be valid Unicode text.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise self.make_error("encoding") from exc
        return text


class JsonInteger(fields.Integer):
    """An integer as JSON Schema defines it: 3 and 3.0 are integers; "3", true and 3.5 are not."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


def not_blank(value: str) -> None:
    """Reject a string of whitespace only."""
    if not value.strip():
        raise ValidationError("Must not be blank.")


def email_address(value: str) -> None:
    """A plausible email address of at most 320 characters (checked before the regular expression)."""
    if len(value) > EMAIL_MAX:
        raise ValidationError(f"Longer than maximum length {EMAIL_MAX}.")
    validate.Email()(value)


# Files of the tz database that Python lists or loads but that are not zones, and PostgreSQL does not know:
# a user with one of them would fail every job's AT TIME ZONE. tests/api/test_timezones.py checks the
# accepted list against the real database's pg_timezone_names.
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
NOT_ZONE_PREFIXES = ("posix/", "right/")
NOT_A_ZONE = "{input!r} is not a time zone the database knows (it is a tz database file, not an IANA zone)."


@cache
def time_zones() -> frozenset[str]:
    """IANA time zone names that both Python and PostgreSQL know (the values time_zone() accepts)."""
    return frozenset(zone for zone in available_timezones() if _is_zone_name(zone))


def _is_zone_name(name: str) -> bool:
    return name not in NOT_ZONES and not name.startswith(NOT_ZONE_PREFIXES)


class TimeZone(validate.Validator):
    """One of time_zones(); the tz database's non-zone files get a message that says what they are.

    Not a validate.OneOf on purpose: apispec would publish its ~600 choices as an enum, which client generators
    turn into colliding constants (GMT0, GMT+0, GMT-0); the document says "an IANA zone name" instead
    (openapi.FieldDocs).
    """

    error = "Not a known IANA time zone name (for example Europe/Berlin)."

    def __call__(self, value: Any) -> Any:
        """Return the value if it names a known IANA zone; ValidationError otherwise."""
        if isinstance(value, str) and not _is_zone_name(value):
            raise ValidationError(NOT_A_ZONE.format(input=value))
        if value not in time_zones():
            raise ValidationError(self.error)
        return value


def time_zone() -> TimeZone:
    """The validator of a time zone field (published as a string; openapi.FieldDocs says which strings)."""
    return TimeZone()


def title() -> Text:
    """A task's title: required, 1 to 500 characters, not only whitespace."""
    return Text(
        required=True,
        validate=[validate.Length(min=1, max=500), not_blank],
        metadata={"description": "1 to 500 characters, not only whitespace"},
    )


def description() -> Text:
    """A task's description: at most 2000 characters, empty by default."""
    return Text(
        load_default="", validate=validate.Length(max=2000), metadata={"description": "at most 2000 characters"}
    )


def priority_id(**kwargs: Any) -> fields.Integer:
    """A priority's id (from GET /api/priorities) or null."""
    return JsonInteger(
        allow_none=True,
        validate=validate.Range(min=1, max=INT32_MAX),
        metadata={"description": "id of a priority from GET /api/priorities, or null"},
        **kwargs,
    )


def limit(default: int = 20, maximum: int = 100) -> fields.Integer:
    """A page size between 1 and maximum."""
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=maximum))


def offset() -> fields.Integer:
    """How many rows a page skips (offset paging)."""
    return fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


def sort_order(default: str) -> Text:
    """The direction of a sort: asc or desc."""
    return Text(load_default=default, validate=validate.OneOf(["asc", "desc"]))
