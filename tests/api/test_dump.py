"""The compiled response dumpers give exactly what marshmallow's dump of the same schema gives."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from apiflask import Schema
from marshmallow import fields

from todoflow.api.dump import dumper
from todoflow.api.schemas.auth import TokensOut, UserOut
from todoflow.api.schemas.notifications import NotificationOut, NotificationPage
from todoflow.api.schemas.priorities import PriorityList
from todoflow.api.schemas.recurring import RecurringTaskOut, RecurringTaskPage
from todoflow.api.schemas.tasks import TaskEventPage, TaskOut, TaskPage

NOW = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _task(**overrides: Any) -> dict[str, Any]:
    row = {
        "id": 7,
        "user_id": uuid.uuid4(),
        "title": "t",
        "description": "",
        "priority_id": None,
        "due_date": date(2030, 1, 1),
        "completed": True,
        "completed_at": NOW,
        "is_recurring": True,
        "recurring_task_id": uuid.uuid4(),
        "notified": False,
        "created_at": NOW,
        "updated_at": NOW,
        "deleted_at": None,
        "total": 3,
    }
    return {**row, **overrides}


RECURRING = {
    "id": uuid.uuid4(),
    "user_id": uuid.uuid4(),
    "title": "r",
    "description": "d",
    "priority_id": 2,
    "recurrence_type": "monthly",
    "recurrence_interval": 1,
    "start_date": date(2030, 1, 31),
    "end_date": None,
    "last_created_at": None,
    "next_due_at": date(2030, 2, 28),
    "next_index": 1,
    "is_active": True,
    "created_at": NOW,
    "updated_at": NOW,
    "rrule": None,
    "repeat_from": "due",
    "recurrence_description": "monthly",
}
RULE_SERIES = {
    **RECURRING,
    "recurrence_type": None,
    "recurrence_interval": None,
    "rrule": "FREQ=MONTHLY;BYDAY=-1FR",
    "repeat_from": "completion",
    "recurrence_description": "monthly on the last Friday",
}
NOTIFICATION = {
    "id": uuid.uuid4(),
    "task_id": 1,
    "kind": "task-due-soon",
    "title": "t",
    "message": "m",
    "due_date": date(2030, 1, 1),
    "created_at": NOW,
    "read_at": None,
}

CASES: list[tuple[type[Schema], dict[str, Any]]] = [
    (TaskOut, _task()),
    (TaskOut, _task(due_date=None, completed_at=None, recurring_task_id=None, priority_id=4)),
    (TaskPage, {"items": [_task(), _task(id=8)], "total": 2, "limit": 20, "offset": 0, "next_cursor": None}),
    (
        TaskEventPage,
        {
            "items": [
                {
                    "event_id": uuid.uuid4(),
                    "event_type": "task-created",
                    "event_timestamp": NOW,
                    "data": {"nested": [1, {"a": None}]},
                }
            ],
            "total": 1,
            "limit": 100,
            "offset": 0,
            "next_cursor": "abc.def",
        },
    ),
    (RecurringTaskOut, RECURRING),
    (RecurringTaskOut, RULE_SERIES),
    (RecurringTaskPage, {"items": [RECURRING], "total": None, "limit": 20, "offset": 0, "next_cursor": None}),
    (NotificationOut, NOTIFICATION),
    (
        NotificationPage,
        {
            "items": [NOTIFICATION, {**NOTIFICATION, "read_at": NOW}],
            "total": 2,
            "limit": 1,
            "offset": 0,
            "next_cursor": "x",
        },
    ),
    (UserOut, {"id": uuid.uuid4(), "email": "a@example.com", "timezone": "UTC", "created_at": NOW}),
    (
        TokensOut,
        {"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expires_in": 900, "refresh_expires_in": 9},
    ),
    (PriorityList, {"items": [{"id": 1, "name": "low", "level": 1}]}),
]


@pytest.mark.parametrize(("schema", "obj"), CASES)
def test_compiled_dump_equals_marshmallow(schema: type[Schema], obj: dict[str, Any]) -> None:
    dumped, expected = dumper(schema)(obj), schema().dump(obj)
    assert dumped == expected
    # The same keys in the same order: the response's JSON text is what marshmallow's dump would give.
    assert json.dumps(dumped) == json.dumps(expected)


def test_a_field_type_it_cannot_reproduce_is_refused() -> None:
    class Odd(Schema):
        amount = fields.Decimal()

    with pytest.raises(TypeError):
        dumper(Odd)


def test_lists_of_lists_and_missing_nested_values() -> None:
    class Inner(Schema):
        at = fields.DateTime()
        ref = fields.UUID(allow_none=True)

    class Outer(Schema):
        grid = fields.List(fields.List(fields.Date()))
        inner = fields.Nested(Inner, allow_none=True)
        inners = fields.List(fields.Nested(Inner))

    ref = uuid.uuid4()
    obj = {
        "grid": [[date(2030, 1, 1), None], []],
        "inner": None,
        "inners": [{"at": NOW, "ref": ref}, {"at": NOW, "ref": None}],
    }
    assert json.dumps(dumper(Outer)(obj)) == json.dumps(Outer().dump(obj))
