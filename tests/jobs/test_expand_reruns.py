"""Reruns, backfills, the catch-up cap, end dates, pauses and shards of the expansion job."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.jobs.support import Db
from todoflow.core.recurrence import first_index_on_or_after, occurrence
from todoflow.jobs.expand import expand
from todoflow.jobs.sql import shard_of

ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago")


def _mixed_series(db: Db, rng: random.Random, count: int) -> list[uuid.UUID]:
    users = [db.user(tz) for tz in ZONES]
    ids = []
    for i in range(count):
        kind = ("daily", "weekly", "monthly", "yearly")[i % 4]
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 60))
        if kind in ("monthly", "yearly") and i % 3 == 0:
            start = date(2026, 1, 31) if kind == "monthly" else date(2024, 2, 29)
        end = start + timedelta(days=rng.randrange(5, 70)) if i % 5 == 0 else None
        ids.append(db.series(users[i % len(users)], kind, rng.choice((1, 2, 3)), start, end, title=f"s{i}"))
    return ids


def _snapshot(db: Db) -> dict[str, Any]:
    """Everything an in-order pass decides, without ids, timestamps and the as_of that vary between runs."""
    tasks = db.conn.execute(
        """SELECT recurring_task_id, due_date, user_id, title, description, priority_id, is_recurring,
                  completed, notified, deleted_at FROM tasks ORDER BY recurring_task_id, due_date"""
    ).fetchall()
    series = db.conn.execute(
        """SELECT id, next_index, next_due_at, is_active, last_created_at IS NOT NULL
           FROM recurring_tasks ORDER BY id"""
    ).fetchall()
    key_of = {
        row[0]: (row[1], row[2])
        for row in db.conn.execute("SELECT id, recurring_task_id, due_date FROM tasks").fetchall()
    }
    events = []
    for row in db.events():
        data = dict(row["payload"]["data"])
        data["task"] = key_of[data.pop("task_id")]
        for varying in ("as_of", "created_at", "updated_at"):
            data.pop(varying, None)
        events.append((row["topic"], row["key"], sorted(data.items(), key=lambda kv: kv[0])))
    return {"tasks": tasks, "series": series, "events": sorted(events, key=repr)}


def _reset(db: Db) -> None:
    db.conn.execute("TRUNCATE tasks, event_outbox, notifications RESTART IDENTITY CASCADE")
    db.conn.execute(
        "UPDATE recurring_tasks SET next_index = 0, next_due_at = start_date, is_active = true, last_created_at = NULL"
    )


def _run_checking_monotonic(db: Db, as_ofs: list[datetime], seen: dict[uuid.UUID, date], **kw: Any) -> None:
    for as_of in as_ofs:
        expand(db.url, as_of, **kw)
        for series_id, next_due in db.conn.execute("SELECT id, next_due_at FROM recurring_tasks").fetchall():
            assert next_due >= seen.get(series_id, date.min), "next_due_at moved backwards"
            seen[series_id] = next_due


def test_reruns_and_backfills_in_any_order_leave_one_in_order_pass(db: Db) -> None:
    rng = random.Random(5)
    _mixed_series(db, rng, 40)
    as_ofs = [datetime(2026, 2, 20, 3, tzinfo=UTC) + timedelta(hours=11 * i) for i in range(150)]

    _run_checking_monotonic(db, as_ofs, {}, cap=1000, chunk_size=7)
    in_order = _snapshot(db)
    assert len(in_order["tasks"]) > 500

    _reset(db)
    seen: dict[uuid.UUID, date] = {}
    shuffled = as_ofs[:]
    rng.shuffle(shuffled)
    _run_checking_monotonic(db, shuffled, seen, cap=1000, chunk_size=7)
    assert _snapshot(db) == in_order

    # And again: the whole range reshuffled, then a backfill over a sub-range in order and one in reverse.
    rng.shuffle(shuffled)
    _run_checking_monotonic(db, shuffled + as_ofs[40:90] + as_ofs[90:20:-1], seen, cap=1000, chunk_size=7)
    assert _snapshot(db) == in_order


def test_a_run_for_an_earlier_or_the_same_as_of_changes_nothing(db: Db) -> None:
    _mixed_series(db, random.Random(9), 24)
    as_of = datetime(2026, 4, 1, 12, tzinfo=UTC)
    expand(db.url, as_of)

    def everything() -> tuple[Any, ...]:
        return (
            db.conn.execute("SELECT * FROM recurring_tasks ORDER BY id").fetchall(),
            db.conn.execute("SELECT * FROM tasks ORDER BY id").fetchall(),
            db.conn.execute("SELECT event_id, payload FROM event_outbox ORDER BY id").fetchall(),
        )

    before = everything()
    for earlier in (as_of, as_of - timedelta(hours=1), as_of - timedelta(days=1), as_of - timedelta(days=60)):
        result = expand(db.url, earlier)
        assert (result.series, result.created, result.events) == (0, 0, 0)
    assert everything() == before


def test_cap_bounds_each_run_and_the_rest_is_caught_up_next_run(db: Db) -> None:
    user = db.user("Europe/Berlin")
    open_ended = db.series(user, "daily", 1, date(2026, 1, 1))
    ending = db.series(user, "daily", 1, date(2026, 1, 1), end=date(2026, 1, 9))
    as_of = datetime(2026, 1, 10, 12, tzinfo=UTC)  # local Jan 10: 10 missed occurrences

    first = expand(db.url, as_of, cap=4)
    assert (first.created, first.behind, first.ended, first.events) == (8, 2, 0, 16)
    assert db.dates(open_ended) == [date(2026, 1, d) for d in range(1, 5)]
    assert db.state(open_ended)["next_due_at"] == date(2026, 1, 5)

    second = expand(db.url, as_of, cap=4)
    assert (second.created, second.behind, second.ended) == (8, 2, 0)

    third = expand(db.url, as_of, cap=4)
    assert (third.created, third.behind, third.ended) == (2 + 1, 0, 1)
    assert db.dates(open_ended) == [date(2026, 1, d) for d in range(1, 11)]
    assert db.dates(ending) == [date(2026, 1, d) for d in range(1, 10)]
    assert db.state(open_ended)["is_active"] is True
    assert db.state(ending)["is_active"] is False

    assert expand(db.url, as_of, cap=4).created == 0


def test_end_date_is_respected_and_ends_the_series(db: Db) -> None:
    user = db.user()
    daily = db.series(user, "daily", 1, date(2026, 1, 1), end=date(2026, 1, 5))
    monthly = db.series(user, "monthly", 1, date(2026, 1, 31), end=date(2026, 4, 29))
    single = db.series(user, "weekly", 1, date(2026, 1, 7), end=date(2026, 1, 7))
    still_running = db.series(user, "weekly", 1, date(2026, 1, 7), end=date(2026, 12, 31))

    result = expand(db.url, datetime(2026, 5, 1, tzinfo=UTC))
    assert db.dates(daily) == [date(2026, 1, d) for d in range(1, 6)]
    assert db.dates(monthly) == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert db.dates(single) == [date(2026, 1, 7)]
    assert result.ended == 3
    for ended, after_end in ((daily, date(2026, 1, 6)), (monthly, date(2026, 4, 30)), (single, date(2026, 1, 14))):
        assert db.state(ended)["is_active"] is False
        assert db.state(ended)["next_due_at"] == after_end
    assert db.state(still_running)["is_active"] is True

    assert expand(db.url, datetime(2026, 6, 1, tzinfo=UTC)).series == 1  # only the running one is due


def test_end_date_moved_before_next_due_ends_the_series_without_creating(db: Db) -> None:
    series_id = db.series(db.user(), "weekly", 1, date(2026, 1, 1))
    expand(db.url, datetime(2026, 1, 20, tzinfo=UTC))
    assert db.state(series_id)["next_due_at"] == date(2026, 1, 22)
    db.conn.execute("UPDATE recurring_tasks SET end_date = '2026-01-21' WHERE id = %s", (series_id,))

    result = expand(db.url, datetime(2026, 3, 1, tzinfo=UTC))
    assert (result.created, result.ended) == (0, 1)
    assert db.state(series_id)["is_active"] is False
    assert len(db.dates(series_id)) == 3


def _resume(db: Db, series_id: uuid.UUID, now: datetime) -> None:
    """What the API's resume does: next_due_at = first occurrence on or after today in the owner's zone."""
    start, kind, step, tz = db.conn.execute(
        """SELECT r.start_date, r.recurrence_type, r.recurrence_interval, u.timezone
           FROM recurring_tasks r JOIN users u ON u.id = r.user_id WHERE r.id = %s""",
        (series_id,),
    ).fetchone()
    today = now.astimezone(ZoneInfo(tz)).date()
    n = first_index_on_or_after(start, kind, step, today)
    db.conn.execute(
        "UPDATE recurring_tasks SET is_active = true, next_index = %s, next_due_at = %s WHERE id = %s",
        (n, occurrence(start, kind, step, n), series_id),
    )


@pytest.mark.parametrize("tz", ["Europe/Berlin", "Pacific/Pago_Pago"])
def test_paused_series_create_nothing_and_resume_does_not_flood(db: Db, tz: str) -> None:
    user = db.user(tz)
    daily = db.series(user, "daily", 1, date(2026, 1, 1))
    weekly = db.series(user, "weekly", 1, date(2026, 1, 1))  # Thursdays
    expand(db.url, datetime(2026, 1, 5, 12, tzinfo=UTC))
    made_before = {daily: db.dates(daily), weekly: db.dates(weekly)}
    db.conn.execute("UPDATE recurring_tasks SET is_active = false")

    for day in range(6, 21):
        result = expand(db.url, datetime(2026, 1, day, 12, tzinfo=UTC))
        assert (result.series, result.created) == (0, 0)
    assert {daily: db.dates(daily), weekly: db.dates(weekly)} == made_before

    resumed_at = datetime(2026, 1, 20, 12, tzinfo=UTC)  # local Tuesday Jan 20 in both zones
    _resume(db, daily, resumed_at)
    _resume(db, weekly, resumed_at)
    result = expand(db.url, resumed_at)
    assert result.created == 1  # today's daily occurrence, nothing missed while paused
    assert db.dates(daily) == [*made_before[daily], date(2026, 1, 20)]
    assert db.dates(weekly) == made_before[weekly]
    expand(db.url, datetime(2026, 1, 22, 12, tzinfo=UTC))
    assert db.dates(daily)[-3:] == [date(2026, 1, 20), date(2026, 1, 21), date(2026, 1, 22)]
    assert db.dates(weekly) == [*made_before[weekly], date(2026, 1, 22)]


def test_shards_partition_the_series(db: Db) -> None:
    users = [db.user() for _ in range(5)]
    ids = [db.series(users[i % 5], "daily", 1, date(2026, 1, 1)) for i in range(120)]
    as_of = datetime(2026, 1, 3, 12, tzinfo=UTC)
    shards = 4
    for k in range(shards):
        result = expand(db.url, as_of, shard=k, shards=shards)
        mine = [s for s in ids if shard_of(s, shards) == k]
        assert result.series == len(mine)
        assert all(len(db.dates(s)) == 3 for s in mine)
        others_pending = [s for s in ids if shard_of(s, shards) > k]
        assert all(db.dates(s) == [] for s in others_pending)
    assert {len(db.dates(s)) for s in ids} == {3}
    assert len({shard_of(s, shards) for s in ids}) == shards


def test_an_existing_occurrence_is_skipped_without_error_or_event(db: Db) -> None:
    user = db.user()
    series_id = db.series(user, "daily", 1, date(2026, 1, 1))
    db.conn.execute(
        """INSERT INTO tasks (user_id, title, due_date, is_recurring, recurring_task_id, deleted_at)
           VALUES (%s, 'already there', '2026-01-02', true, %s, now())""",
        (user, series_id),
    )
    result = expand(db.url, datetime(2026, 1, 3, 12, tzinfo=UTC))
    assert (result.created, result.events) == (2, 4)
    assert db.dates(series_id) == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    assert db.state(series_id)["next_index"] == 3
    titles = db.conn.execute("SELECT title FROM tasks WHERE due_date = '2026-01-02'").fetchall()
    assert titles == [("already there",)]


def test_bad_arguments_are_refused(db: Db) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expand(db.url, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="shard"):
        expand(db.url, datetime(2026, 1, 1, tzinfo=UTC), shard=4, shards=4)
    with pytest.raises(ValueError, match="cap"):
        expand(db.url, datetime(2026, 1, 1, tzinfo=UTC), cap=0)
