"""Issue 13 for the API: rule-based series, their English description, previews, repeat from completion.

A series is rule-based when recurring_tasks.rrule is set (recurrence_type/recurrence_interval then hold its
FREQ and INTERVAL for the seed's constraints and are shown as null); otherwise it is one of the seed's types.
repeat_from = 'completion': exactly one instance is open at a time, next_due_at is the due date of that
instance (or of the first one, before the expansion created it) and next_index its index in the series.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, false, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from todoflow.api.domain_errors import Conflict, Invalid, UnknownUser
from todoflow.core import rrule
from todoflow.core.events import RECURRING_TASK_DUE, TASK_CREATED
from todoflow.core.models import RecurringTask, Task, User
from todoflow.core.outbox import write_event
from todoflow.core.recurrence import first_index_on_or_after, occurrence

# A series or task row as the stores return it (SQLAlchemy's RowMapping) or a plain dict.
Row = Mapping[Any, Any]

recurring = cast(Table, RecurringTask.__table__)
tasks = cast(Table, Task.__table__)
users = cast(Table, User.__table__)

# Completion chains in a preview stop after this many steps (a far `from` on a daily series).
MAX_PREVIEW_STEPS = 5000


@lru_cache(maxsize=4096)
def parsed(text: str) -> rrule.Rule:
    """The parsed RRULE text (cached: every listed row parses its rule again)."""
    return rrule.parse(text)


@lru_cache(maxsize=4096)
def _describe_rule(text: str) -> str:
    return rrule.describe(parsed(text))


def describe(row: Row) -> str:
    """The series' recurrence in English, from its rule or its seed type and interval."""
    if row["rrule"] is not None:
        text = _describe_rule(row["rrule"])
    else:
        text = rrule.describe_seed(row["recurrence_type"], row["recurrence_interval"])
    return text + (", counted from each completion" if row["repeat_from"] == "completion" else "")


def present(row: Row) -> dict[str, Any]:
    """A series row as the API shows it: the rule or the seed's fields, and the description."""
    out = dict(row)
    out["recurrence_description"] = describe(row)
    if row["rrule"] is not None:
        out["recurrence_type"] = out["recurrence_interval"] = None
    return out


def present_page(result: dict[str, Any]) -> dict[str, Any]:
    """A page of series rows with each row presented as the API shows it."""
    return {**result, "items": [present(row) for row in result["items"]]}


def local_today(timezone: str) -> date:
    """Today's date in the IANA time zone."""
    return datetime.now(ZoneInfo(timezone)).date()


def rule_fields(session: Session, user_id: uuid.UUID, fields: dict[str, Any]) -> dict[str, Any]:
    """Return the columns of a new rule-based series.

    They are the normalised rule, its FREQ/INTERVAL, and the first occurrence on or after the later of its
    start date and its creation day in the owner's zone (never one before).
    """
    rule = parsed(fields["rrule"])
    timezone = session.execute(select(users.c.timezone).where(users.c.id == user_id)).scalar_one_or_none()
    if timezone is None:
        raise UnknownUser("the token's user no longer exists")
    day = max(fields["start_date"], local_today(timezone))
    first = rrule.index_of_first_on_or_after(rule, fields["start_date"], day)
    end = fields.get("end_date")
    if first is None or (end is not None and first[1] > end):
        raise Invalid(
            "Validation error",
            {"json": {"rrule": {"rrule": [f"the series has no occurrence on or after {day} (its first day)"]}}},
        )
    return {
        **fields,
        "rrule": rule.text(),
        "recurrence_type": rule.freq.lower(),
        "recurrence_interval": rule.interval,
        "next_index": first[0],
        "next_due_at": first[1],
    }


# -- what comes next ---------------------------------------------------------------------------------------------


def _ends(row: Row) -> date | None:
    return row["end_date"]


def after_completion(row: Row, done: date, after: date) -> date | None:
    """Repeat from completion: the due date of the instance after one completed on local day `done`.

    That instance's own due date was `after`; the next one is one interval (or the rule's first occurrence)
    counted from `done`, and always later than `after`. None when the series has ended (end date, UNTIL,
    COUNT).
    """
    if row["rrule"] is not None:
        rule = parsed(row["rrule"])
        if rule.count is not None and row["next_index"] + 1 >= rule.count:
            return None
        due = rrule.first_after(rule, done, after)
    else:
        kind, step = row["recurrence_type"], row["recurrence_interval"]
        n = 1
        try:
            due = occurrence(done, kind, step, n)
            while due <= after:
                n += 1
                due = occurrence(done, kind, step, n)
        except (ValueError, OverflowError):  # past the year 9999: the calendar ends the series
            return None
    end = _ends(row)
    if due is None or (end is not None and due > end):
        return None
    return due


def preview(row: Row, day: date, limit: int) -> list[date]:
    """Up to `limit` upcoming due dates on or after day, creating nothing.

    A completion-based series shows the dates it would have if each instance were completed on its due date.
    """
    end = _ends(row)
    out: list[date] = []
    if row["repeat_from"] == "completion":
        if not row["is_active"] and end is not None and row["next_due_at"] > end:
            return out
        due: date | None = row["next_due_at"]
        state = dict(row)
        for _ in range(MAX_PREVIEW_STEPS):
            if due is None or len(out) >= limit:
                break
            if due >= day:
                out.append(due)
            following = after_completion(state, due, due)
            state["next_index"] += 1
            due = following
        return out
    if row["rrule"] is not None:
        rule = parsed(row["rrule"])
        for _, due in rrule.dates(rule, row["start_date"], max(day, row["start_date"])):
            if len(out) >= limit or (end is not None and due > end):
                break
            out.append(due)
        return out
    kind, step, anchor = row["recurrence_type"], row["recurrence_interval"], row["start_date"]
    n = first_index_on_or_after(anchor, kind, step, day)
    while len(out) < limit:
        try:
            due = occurrence(anchor, kind, step, n)
        except (ValueError, OverflowError):  # past the year 9999: nothing later exists
            break
        if end is not None and due > end:
            break
        out.append(due)
        n += 1
    return out


# -- repeat from completion --------------------------------------------------------------------------------------


def instance_done(session: Session, task: Row, at: datetime) -> None:
    """Create the next instance after the open instance of a completion-based series was done at `at`.

    "Done" is completed or deleted; the next instance is created in the caller's transaction, with its
    task-created and recurring-task-due events.

    The series row is locked first, and only the instance due on next_due_at moves the series on, so two
    concurrent completions (or a completion and a delete) of one instance make one next instance; the
    unique (recurring_task_id, due_date) is the last guard. A reopened older instance moves nothing.
    """
    stmt = (
        select(recurring, users.c.timezone)
        .join(users, users.c.id == recurring.c.user_id)
        .where(recurring.c.id == task["recurring_task_id"], recurring.c.repeat_from == "completion")
        .with_for_update(of=recurring)
    )
    row = session.execute(stmt).mappings().first()
    if row is None or task["due_date"] != row["next_due_at"]:
        return
    done = at.astimezone(ZoneInfo(row["timezone"])).date()
    due = after_completion(row, done, row["next_due_at"])
    if due is None:
        session.execute(
            update(recurring).where(recurring.c.id == row["id"]).values(is_active=false(), updated_at=func.now())
        )
        return
    index = row["next_index"] + 1
    values: dict[str, Any] = {"next_due_at": due, "next_index": index, "updated_at": func.now()}
    if row["is_active"]:
        created = _create_instance(session, row, due, index)
        if created:
            values["last_created_at"] = func.now()
    # A paused series only moves on; the expansion creates the instance once it is resumed and due.
    session.execute(update(recurring).where(recurring.c.id == row["id"]).values(values))


def _create_instance(session: Session, row: Row, due: date, index: int) -> bool:
    from todoflow.api import task_store  # task_store calls this module on completion

    stmt = (
        pg_insert(tasks)
        .values(
            user_id=row["user_id"],
            title=row["title"],
            description=row["description"],
            priority_id=row["priority_id"],
            due_date=due,
            is_recurring=True,
            recurring_task_id=row["id"],
        )
        .on_conflict_do_nothing(index_elements=["recurring_task_id", "due_date"])
        .returning(*task_store.COLUMNS)
    )
    created = session.execute(stmt).mappings().first()
    if created is None:
        return False
    write_event(session, TASK_CREATED, task_store.event_data(created), key=str(row["user_id"]))
    write_event(
        session,
        RECURRING_TASK_DUE,
        {
            "recurring_task_id": row["id"],
            "task_id": created["id"],
            "user_id": row["user_id"],
            "title": row["title"],
            "due_date": due,
            "occurrence_index": index,
            "as_of": created["created_at"],
        },
        key=str(row["user_id"]),
    )
    return True


def resume_completion(row: Row) -> dict[str, Any]:
    """Resume of a completion-based series: next_due_at stays, unless the series has ended.

    next_due_at is the open instance's, or that of the one the expansion creates when due.
    """
    end = _ends(row)
    if end is not None and row["next_due_at"] > end:
        raise Conflict(f"the series ended on {end}: no occurrence is left to resume", code="series_ended")
    return {"next_due_at": row["next_due_at"], "next_index": row["next_index"]}


def resume_rule(row: Row) -> dict[str, Any]:
    """Resume of a rule-based series: the first occurrence on or after today (never moving back)."""
    rule = parsed(row["rrule"])
    day = max(row["next_due_at"], local_today(row["timezone"]))
    first = rrule.index_of_first_on_or_after(rule, row["start_date"], day)
    end = _ends(row)
    if first is None or (end is not None and first[1] > end):
        raise Conflict("the series has ended: no occurrence is left to resume", code="series_ended")
    return {"next_index": first[0], "next_due_at": first[1]}
