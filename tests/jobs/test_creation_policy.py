"""Creation policy: a new series never gets occurrences before the day it was created (owner's zone).

The start date stays the anchor of the pattern (like resume); only an outage after creation is caught up,
within the per-run cap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.jobs.support import Db
from todoflow.jobs.expand import expand


def test_a_series_created_today_with_an_old_start_date_starts_today(db: Db) -> None:
    created = datetime(2026, 3, 10, 9, tzinfo=UTC)
    series_id = db.series(db.user(), "daily", 1, date(2000, 1, 1), created=created)
    result = expand(db.url, datetime(2026, 3, 10, 10, tzinfo=UTC))
    assert db.dates(series_id) == [date(2026, 3, 10)]
    assert (result.created, result.behind) == (1, 0)
    state = db.state(series_id)
    assert state["next_due_at"] == date(2026, 3, 11)
    assert state["next_index"] == (date(2026, 3, 11) - date(2000, 1, 1)).days
    # The anchor stays start_date: every 3 days from 2000-01-01 keeps its phase.
    every_third = db.series(db.user(), "daily", 3, date(2000, 1, 1), created=created)
    expand(db.url, datetime(2026, 3, 20, tzinfo=UTC))
    assert all((d - date(2000, 1, 1)).days % 3 == 0 for d in db.dates(every_third))
    assert db.dates(every_third)[0] - created.date() < timedelta(days=3)


def test_month_ends_and_leap_days_keep_their_anchor(db: Db) -> None:
    user = db.user()
    month_end = db.series(user, "monthly", 1, date(2000, 1, 31), created=datetime(2026, 3, 15, tzinfo=UTC))
    leap_day = db.series(user, "yearly", 1, date(2000, 2, 29), created=datetime(2026, 3, 1, tzinfo=UTC))
    on_the_day = db.series(user, "weekly", 2, date(2000, 1, 3), created=datetime(2026, 3, 23, 12, tzinfo=UTC))
    expand(db.url, datetime(2027, 3, 1, tzinfo=UTC), cap=100)
    assert db.dates(month_end)[:3] == [date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]
    assert db.dates(leap_day) == [date(2027, 2, 28)]
    # 2026-03-23 is a Monday of the fortnightly pattern from 2000-01-03: the creation day itself is included.
    assert db.dates(on_the_day)[:2] == [date(2026, 3, 23), date(2026, 4, 6)]


def test_the_creation_day_is_the_owners_local_date(db: Db) -> None:
    instant = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # Mar 11 in Tokyo, Mar 10 in Los Angeles
    tokyo = db.series(db.user("Asia/Tokyo"), "daily", 1, date(2026, 1, 1), created=instant)
    los_angeles = db.series(db.user("America/Los_Angeles"), "daily", 1, date(2026, 1, 1), created=instant)
    expand(db.url, datetime(2026, 3, 12, 9, tzinfo=UTC))
    assert db.dates(tokyo) == [date(2026, 3, 11), date(2026, 3, 12)]
    assert db.dates(los_angeles) == [date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)]


def test_an_outage_after_creation_is_caught_up_within_the_cap(db: Db) -> None:
    series_id = db.series(db.user(), "daily", 1, date(2000, 1, 1), created=datetime(2026, 1, 1, tzinfo=UTC))
    first = expand(db.url, datetime(2026, 1, 10, 12, tzinfo=UTC), cap=4)
    assert (first.created, first.behind) == (4, 1)
    assert db.dates(series_id) == [date(2026, 1, d) for d in range(1, 5)]
    second = expand(db.url, datetime(2026, 1, 10, 12, tzinfo=UTC), cap=100)
    assert (second.created, second.behind) == (6, 0)
    assert db.dates(series_id) == [date(2026, 1, d) for d in range(1, 11)]


def test_an_earlier_backfill_creates_nothing_before_creation_and_never_moves_back(db: Db) -> None:
    series_id = db.series(db.user(), "daily", 1, date(2026, 1, 1), created=datetime(2026, 2, 1, tzinfo=UTC))
    expand(db.url, datetime(2026, 2, 3, tzinfo=UTC))
    assert db.dates(series_id) == [date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)]
    before = db.state(series_id)
    for day in (1, 15, 31):  # runs as of January, before the series existed
        assert expand(db.url, datetime(2026, 1, day, 12, tzinfo=UTC)).created == 0
    assert db.state(series_id)["next_due_at"] == before["next_due_at"] == date(2026, 2, 4)


def test_a_future_start_date_is_unaffected(db: Db) -> None:
    series_id = db.series(db.user(), "weekly", 1, date(2026, 4, 6), created=datetime(2026, 3, 10, tzinfo=UTC))
    expand(db.url, datetime(2026, 4, 20, tzinfo=UTC))
    assert db.dates(series_id) == [date(2026, 4, 6), date(2026, 4, 13), date(2026, 4, 20)]
