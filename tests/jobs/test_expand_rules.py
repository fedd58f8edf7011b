"""Expansion of rule-based (RRULE) series against dateutil's rrulestr, and the same guarantees as the seed types."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.jobs.support import Db, check_event
from tests.rrules.support import oracle, random_anchor, random_rule
from todoflow.core import rrule
from todoflow.jobs.expand import expand

ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago")


def rule_series(
    db: Db,
    user_id: uuid.UUID,
    text: str,
    start: date,
    end: date | None = None,
    repeat_from: str = "due",
) -> uuid.UUID:
    """A rule-based series as the API stores it (normalised rule, FREQ/INTERVAL, first occurrence and index)."""
    rule = rrule.parse(text)
    first = rrule.check(rule, start)
    return db.conn.execute(
        """INSERT INTO recurring_tasks (user_id, title, recurrence_type, recurrence_interval, start_date, end_date,
               next_due_at, next_index, rrule, repeat_from)
           VALUES (%s, %s, %s, %s, %s, %s, %s, 0, %s, %s) RETURNING id""",
        (user_id, text, rule.freq.lower(), rule.interval, start, end, first, rule.text(), repeat_from),
    ).fetchone()[0]


def _local(as_of: datetime, tz: str) -> date:
    return as_of.astimezone(ZoneInfo(tz)).date()


def test_random_rules_expand_to_rrulestr_dates(db: Db) -> None:
    """A few thousand seeded random rules, expanded in batches by several runs with a small cap: each series
    holds exactly rrulestr's dates up to the last run's local date (COUNT and UNTIL included), once each."""
    rng = random.Random(1345)
    users = {tz: db.user(tz) for tz in ZONES}
    made: list[tuple[uuid.UUID, str, date, str]] = []
    while len(made) < 2000:
        text, anchor = random_rule(rng), random_anchor(rng)
        try:
            rrule.check(rrule.parse(text), anchor)
        except rrule.RuleError:
            continue
        tz = rng.choice(ZONES)
        made.append((rule_series(db, users[tz], text, anchor), text, anchor, tz))
    as_ofs = [datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 9, 1, 23, tzinfo=UTC)]
    as_ofs.append(datetime(2027, 2, 28, 12, tzinfo=UTC))
    for as_of in as_ofs:
        while expand(db.url, as_of, cap=25, chunk_size=500).behind:
            pass
    final = as_ofs[-1]
    rows = db.conn.execute("SELECT recurring_task_id, due_date FROM tasks ORDER BY recurring_task_id, due_date")
    got: dict[uuid.UUID, list[date]] = {}
    for series_id, due in rows.fetchall():
        got.setdefault(series_id, []).append(due)
    total = 0
    for series_id, text, anchor, tz in made:
        expected = oracle(text, anchor, 5000, until=_local(final, tz))
        assert got.get(series_id, []) == expected, (text, anchor, tz)
        total += len(expected)
    assert total > 50_000
    assert db.conn.execute("SELECT count(*) FROM event_outbox").fetchone()[0] == 2 * total
    # Another run as of the same or an earlier instant changes nothing.
    assert expand(db.url, final).created == 0
    assert expand(db.url, as_ofs[0]).created == 0


def test_events_and_series_state(db: Db) -> None:
    user = db.user("Europe/Berlin")
    sid = rule_series(db, user, "FREQ=WEEKLY;BYDAY=MO,TH", date(2026, 1, 1))  # Thursday
    result = expand(db.url, datetime(2026, 1, 12, 12, tzinfo=UTC))
    assert (result.series, result.created, result.events) == (1, 4, 8)
    assert db.dates(sid) == [date(2026, 1, 1), date(2026, 1, 5), date(2026, 1, 8), date(2026, 1, 12)]
    state = db.state(sid)
    assert (state["next_index"], state["next_due_at"], state["is_active"]) == (4, date(2026, 1, 15), True)
    due = [check_event(e) for e in db.events("recurring-task-due")]
    assert [d["occurrence_index"] for d in due] == [0, 1, 2, 3]
    assert [d["due_date"] for d in due] == ["2026-01-01", "2026-01-05", "2026-01-08", "2026-01-12"]
    assert len([check_event(e) for e in db.events("task-created")]) == 4


def test_count_ends_the_series_after_its_last_occurrence(db: Db) -> None:
    user = db.user()
    sid = rule_series(db, user, "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", date(2026, 1, 1))
    expand(db.url, datetime(2026, 4, 1, tzinfo=UTC), cap=1)
    assert db.dates(sid) == [date(2026, 1, 31)]  # the cap: one per run
    expand(db.url, datetime(2026, 4, 1, tzinfo=UTC), cap=1)
    assert db.dates(sid) == [date(2026, 1, 31), date(2026, 3, 31)]  # February has no 31st: skipped
    assert db.state(sid)["is_active"] is True
    expand(db.url, datetime(2027, 1, 1, tzinfo=UTC))
    assert db.dates(sid) == [date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31)]
    state = db.state(sid)
    assert (state["is_active"], state["next_index"], state["next_due_at"]) == (False, 3, date(2026, 5, 31))
    assert expand(db.url, datetime(2028, 1, 1, tzinfo=UTC)).created == 0


def test_until_and_end_date_end_the_series(db: Db) -> None:
    user = db.user()
    until = rule_series(db, user, "FREQ=DAILY;INTERVAL=2;UNTIL=20260107", date(2026, 1, 1))
    ending = rule_series(db, user, "FREQ=DAILY", date(2026, 1, 1), end=date(2026, 1, 3))
    result = expand(db.url, datetime(2026, 1, 20, tzinfo=UTC))
    assert db.dates(until) == [date(2026, 1, d) for d in (1, 3, 5, 7)]
    assert db.dates(ending) == [date(2026, 1, d) for d in (1, 2, 3)]
    assert result.ended == 2
    assert not db.state(until)["is_active"] and not db.state(ending)["is_active"]


def test_local_date_of_the_owner(db: Db) -> None:
    east, west = db.user("Pacific/Kiritimati"), db.user("Pacific/Pago_Pago")  # UTC+14 and UTC-11
    a = rule_series(db, east, "FREQ=DAILY", date(2026, 1, 1))
    b = rule_series(db, west, "FREQ=DAILY", date(2026, 1, 1))
    expand(db.url, datetime(2026, 1, 2, 12, tzinfo=UTC))  # Jan 3 02:00 in Kiritimati, Jan 2 01:00 in Pago Pago
    assert db.dates(a)[-1] == date(2026, 1, 3) and db.dates(b)[-1] == date(2026, 1, 2)


def test_reruns_and_backfills_in_any_order_leave_one_in_order_pass(db: Db) -> None:
    rng = random.Random(21)
    users = [db.user(tz) for tz in ZONES]
    texts = ["FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYMONTHDAY=15,-1;COUNT=7",
             "FREQ=DAILY;INTERVAL=3;UNTIL=20260401", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"]  # fmt: skip
    for i in range(30):
        rule_series(db, users[i % 5], texts[i % 5], date(2026, 1, 1) + timedelta(days=rng.randrange(40)))
    as_ofs = [datetime(2026, 2, 20, 3, tzinfo=UTC) + timedelta(hours=13 * i) for i in range(80)]

    def snapshot() -> Any:
        return (
            db.conn.execute("SELECT recurring_task_id, due_date FROM tasks ORDER BY 1, 2").fetchall(),
            db.conn.execute(
                "SELECT id, next_index, next_due_at, is_active FROM recurring_tasks ORDER BY id"
            ).fetchall(),
            db.conn.execute("SELECT count(*) FROM event_outbox").fetchone(),
        )

    def run(order: list[datetime]) -> None:
        seen: dict[Any, date] = {}
        for as_of in order:
            expand(db.url, as_of, cap=5, chunk_size=4)
            for sid, due in db.conn.execute("SELECT id, next_due_at FROM recurring_tasks").fetchall():
                assert due >= seen.get(sid, date.min), "next_due_at moved backwards"
                seen[sid] = due

    def catch_up() -> None:
        while expand(db.url, as_ofs[-1], cap=5).behind:
            pass

    run(as_ofs)
    catch_up()
    in_order = snapshot()
    assert len(in_order[0]) > 300
    db.conn.execute("TRUNCATE tasks, event_outbox RESTART IDENTITY CASCADE")
    for sid, text, start in db.conn.execute("SELECT id, rrule, start_date FROM recurring_tasks").fetchall():
        db.conn.execute(
            """UPDATE recurring_tasks SET next_index = 0, is_active = true, last_created_at = NULL, next_due_at = %s
               WHERE id = %s""",
            (rrule.check(rrule.parse(text), start), sid),
        )
    shuffled = as_ofs[:]
    rng.shuffle(shuffled)
    run(shuffled + as_ofs[10:30] + as_ofs[60:5:-1])
    catch_up()
    assert snapshot() == in_order


def test_paused_rule_series_do_not_flood_on_resume(db: Db) -> None:
    user = db.user("America/New_York")
    sid = rule_series(db, user, "FREQ=WEEKLY;BYDAY=TU,TH", date(2026, 1, 1))
    expand(db.url, datetime(2026, 1, 8, 12, tzinfo=UTC))
    before = db.dates(sid)
    db.conn.execute("UPDATE recurring_tasks SET is_active = false")
    assert expand(db.url, datetime(2026, 2, 1, 12, tzinfo=UTC)).created == 0
    # Resume as the API does (series.resume_rule): the first occurrence on or after today.
    index, due = rrule.index_of_first_on_or_after(rrule.parse("FREQ=WEEKLY;BYDAY=TU,TH"), date(2026, 1, 1),
                                                  date(2026, 2, 1))  # fmt: skip
    db.conn.execute("UPDATE recurring_tasks SET is_active = true, next_index = %s, next_due_at = %s", (index, due))
    expand(db.url, datetime(2026, 2, 4, 12, tzinfo=UTC))
    assert db.dates(sid) == [*before, date(2026, 2, 3)]
