"""The expansion job creates exactly the right due dates: rrule as oracle, month ends, time zones, DST, date line."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule

from tests.jobs.support import Db
from todoflow.jobs.expand import expand

FREQ = {"daily": DAILY, "weekly": WEEKLY, "monthly": MONTHLY, "yearly": YEARLY}
ZONES = (
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)
# Progressive as-of instants, two of them on DST changes (New York spring, Berlin autumn).
AS_OFS = (
    datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
    datetime(2027, 7, 1, 10, 30, tzinfo=UTC),
)


def local_date(as_of: datetime, tz: str) -> date:
    return as_of.astimezone(ZoneInfo(tz)).date()


def _rule(kind: str, interval: int, start: date) -> rrule:
    return rrule(FREQ[kind], dtstart=datetime.combine(start, time()), interval=interval)


def oracle(kind: str, interval: int, start: date, until: date) -> list[date]:
    """rrule's occurrences from start through until (inclusive)."""
    if until < start:
        return []
    return [
        d.date()
        for d in _rule(kind, interval, start).between(
            datetime.combine(start, time()), datetime.combine(until, time()), inc=True
        )
    ]


def oracle_after(kind: str, interval: int, start: date, day: date) -> date:
    """rrule's first occurrence after day."""
    return _rule(kind, interval, start).after(datetime.combine(day, time())).date()


def test_occurrences_match_rrule_where_policies_agree(db: Db) -> None:
    """Daily, weekly, monthly, yearly on days 1-28 with various intervals, zones and end dates, run after run."""
    rng = random.Random(20260308)
    specs = []
    users = {tz: db.user(tz) for tz in ZONES}
    for i in range(200):
        kind = ("daily", "weekly", "monthly", "yearly")[i % 4]
        interval = rng.choice((1, 1, 2, 3, 4, 5, 7, 12, 52) if kind != "yearly" else (1, 1, 2, 3, 4))
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 1000))
        start = start.replace(day=min(start.day, 28))
        end = start + timedelta(days=rng.randrange(0, 900)) if rng.random() < 0.3 else None
        tz = rng.choice(ZONES)
        series_id = db.series(users[tz], kind, interval, start, end)
        specs.append((series_id, kind, interval, start, end, tz))

    for as_of in AS_OFS:
        expand(db.url, as_of, cap=10_000, chunk_size=37)
        for series_id, kind, interval, start, end, tz in specs:
            until = min(local_date(as_of, tz), end or date.max)
            expected = oracle(kind, interval, start, until)
            assert db.dates(series_id) == expected, (kind, interval, start, end, tz, as_of)
            following = oracle_after(kind, interval, start, expected[-1]) if expected else start
            state = db.state(series_id)
            assert state["next_index"] == len(expected)
            assert state["next_due_at"] == following
            assert state["is_active"] == (end is None or following <= end)


@pytest.mark.parametrize(
    ("kind", "interval", "start", "as_of_day", "expected"),
    [
        (
            "monthly",
            1,
            date(2026, 1, 31),
            date(2026, 12, 31),
            [
                "2026-01-31",
                "2026-02-28",
                "2026-03-31",
                "2026-04-30",
                "2026-05-31",
                "2026-06-30",
                "2026-07-31",
                "2026-08-31",
                "2026-09-30",
                "2026-10-31",
                "2026-11-30",
                "2026-12-31",
            ],
        ),
        (
            "monthly",
            1,
            date(2027, 12, 31),
            date(2028, 5, 1),
            ["2027-12-31", "2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"],
        ),
        ("monthly", 1, date(2026, 1, 30), date(2026, 4, 30), ["2026-01-30", "2026-02-28", "2026-03-30", "2026-04-30"]),
        ("monthly", 1, date(2026, 1, 29), date(2026, 3, 29), ["2026-01-29", "2026-02-28", "2026-03-29"]),
        ("monthly", 1, date(2028, 1, 29), date(2028, 3, 28), ["2028-01-29", "2028-02-29"]),
        (
            "monthly",
            2,
            date(2025, 12, 31),
            date(2026, 8, 31),
            ["2025-12-31", "2026-02-28", "2026-04-30", "2026-06-30", "2026-08-31"],
        ),
        ("monthly", 3, date(2026, 11, 30), date(2027, 8, 30), ["2026-11-30", "2027-02-28", "2027-05-30", "2027-08-30"]),
        (
            "yearly",
            1,
            date(2024, 2, 29),
            date(2028, 3, 1),
            ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"],
        ),
        ("yearly", 4, date(2024, 2, 29), date(2032, 12, 31), ["2024-02-29", "2028-02-29", "2032-02-29"]),
        ("yearly", 1, date(2025, 2, 28), date(2028, 2, 29), ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-28"]),
    ],
)
def test_month_end_and_leap_day_policy(
    db: Db, kind: str, interval: int, start: date, as_of_day: date, expected: list[str]
) -> None:
    """Days 29-31 clamp to the month's last day and come back; Feb 29 gives Feb 28 in common years."""
    series_id = db.series(db.user(), kind, interval, start)
    # One run per month, the way the hourly schedule would have met them, then one late catch-up run.
    day = start
    while day <= as_of_day:
        expand(db.url, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=12))
        day += timedelta(days=29)
    expand(db.url, datetime.combine(as_of_day, datetime.min.time(), UTC) + timedelta(hours=12))
    assert [d.isoformat() for d in db.dates(series_id)] == expected


@pytest.mark.parametrize(
    ("tz", "as_of", "last"),
    [
        # New York springs forward on 2026-03-08 (EST -5 -> EDT -4): local midnight moves from 05:00Z to 04:00Z.
        ("America/New_York", datetime(2026, 3, 8, 4, 59, tzinfo=UTC), date(2026, 3, 7)),
        ("America/New_York", datetime(2026, 3, 8, 5, 0, tzinfo=UTC), date(2026, 3, 8)),
        ("America/New_York", datetime(2026, 3, 9, 3, 59, tzinfo=UTC), date(2026, 3, 8)),
        ("America/New_York", datetime(2026, 3, 9, 4, 0, tzinfo=UTC), date(2026, 3, 9)),
        # Berlin falls back on 2026-10-25 (CEST +2 -> CET +1): local midnight moves from 22:00Z to 23:00Z.
        ("Europe/Berlin", datetime(2026, 10, 24, 21, 59, tzinfo=UTC), date(2026, 10, 24)),
        ("Europe/Berlin", datetime(2026, 10, 24, 22, 0, tzinfo=UTC), date(2026, 10, 25)),
        ("Europe/Berlin", datetime(2026, 10, 25, 22, 59, tzinfo=UTC), date(2026, 10, 25)),
        ("Europe/Berlin", datetime(2026, 10, 25, 23, 0, tzinfo=UTC), date(2026, 10, 26)),
        # Either side of the date line, 25 hours apart: +14 and -11.
        ("Pacific/Kiritimati", datetime(2026, 5, 1, 9, 59, tzinfo=UTC), date(2026, 5, 1)),
        ("Pacific/Kiritimati", datetime(2026, 5, 1, 10, 0, tzinfo=UTC), date(2026, 5, 2)),
        ("Pacific/Pago_Pago", datetime(2026, 5, 1, 10, 59, tzinfo=UTC), date(2026, 4, 30)),
        ("Pacific/Pago_Pago", datetime(2026, 5, 1, 11, 0, tzinfo=UTC), date(2026, 5, 1)),
    ],
)
def test_due_means_on_or_before_the_owners_local_date(db: Db, tz: str, as_of: datetime, last: date) -> None:
    series_id = db.series(db.user(tz), "daily", 1, date(2026, 3, 1))
    expand(db.url, as_of, cap=1000)
    dates = db.dates(series_id)
    assert dates[-1] == last
    assert dates == [date(2026, 3, 1) + timedelta(days=i) for i in range(len(dates))]
    assert db.state(series_id)["next_due_at"] == last + timedelta(days=1)


def test_one_instant_is_two_dates_apart_across_the_date_line(db: Db) -> None:
    ahead = db.series(db.user("Pacific/Kiritimati"), "daily", 1, date(2026, 4, 28))
    behind = db.series(db.user("Pacific/Pago_Pago"), "daily", 1, date(2026, 4, 28))
    weekly_ny = db.series(db.user("America/New_York"), "weekly", 1, date(2026, 2, 22))
    result = expand(db.url, datetime(2026, 5, 1, 10, 30, tzinfo=UTC))
    assert db.dates(ahead)[-1] == date(2026, 5, 2)
    assert db.dates(behind)[-1] == date(2026, 4, 30)
    # Weekly across New York's DST change keeps its weekday.
    assert db.dates(weekly_ny) == [date(2026, 2, 22) + timedelta(weeks=i) for i in range(10)]
    assert result.series == 3
    assert result.created == 5 + 3 + 10


def test_the_occurrence_function_is_inlinable_and_still_null_safe(db: Db) -> None:
    """Not STRICT, so PostgreSQL inlines it into the set-based expansion; NULL in still gives NULL out."""
    strict = db.conn.execute("SELECT proisstrict FROM pg_proc WHERE proname = 'todoflow_occurrence'").fetchone()[0]
    assert strict is False
    for args in (
        (None, "daily", 1, 1),
        (date(2026, 1, 31), None, 1, 1),
        (date(2026, 1, 31), "monthly", None, 1),
        (date(2026, 1, 31), "monthly", 1, None),
    ):
        assert db.conn.execute("SELECT todoflow_occurrence(%s, %s, %s, %s)", args).fetchone()[0] is None
    plan = db.conn.execute(
        "EXPLAIN VERBOSE SELECT todoflow_occurrence(DATE '2026-01-31', 'monthly', 1, g) FROM generate_series(0, 3) g"
    ).fetchall()
    assert "todoflow_occurrence" not in "\n".join(r[0] for r in plan)
