"""core.rrule against python-dateutil's rrulestr, without a database."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from tests.rrules.support import oracle, random_anchor, random_rule
from todoflow.core import rrule


def test_random_rules_match_rrulestr_from_any_day() -> None:
    rng = random.Random(13)
    checked = empty = 0
    while checked < 400:
        text, anchor = random_rule(rng), random_anchor(rng)
        rule = rrule.parse(text)
        assert rrule.parse(rule.text()) == rule
        try:
            rrule.check(rule, anchor)
        except rrule.RuleError:
            empty += 1
            assert oracle(text, anchor, 1, until=date(anchor.year + 100, 12, 31)) == []
            continue
        expected = oracle(text, anchor, 40, until=date(2060, 12, 31))
        got = [d for _, d in rrule.take(rrule.dates(rule, anchor, anchor, 0), 40) if d <= date(2060, 12, 31)]
        assert got == expected, (text, anchor)
        # Restarting from any day (as the expansion does from next_due_at) gives the rest, with its index.
        if expected:
            k = rng.randrange(len(expected))
            day = expected[k] - timedelta(days=rng.choice((0, 0, 1, 3)))
            first = next(i for i, d in enumerate(expected) if d >= day)
            rest = [(n, d) for n, d in rrule.take(rrule.dates(rule, anchor, day, first), 40) if d <= date(2060, 12, 31)]
            assert rest[: len(expected) - first] == list(enumerate(expected))[first:], (text, anchor, day)
            assert rrule.index_of_first_on_or_after(rule, anchor, day) == (first, expected[first])
        checked += 1
    assert empty < 100


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "rrule"),
        ("FREQ=HOURLY", "FREQ"),
        ("INTERVAL=2", "FREQ"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=53", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=x", "INTERVAL"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=XX", "BYDAY"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=10001", "COUNT"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20300101", "COUNT"),
        ("FREQ=DAILY;UNTIL=20300101T000000Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20230230", "UNTIL"),
        ("FREQ=DAILY;WKST=XX", "WKST"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR"),
        ("FREQ=YEARLY;BYWEEKNO=1", "BYWEEKNO"),
        ("FREQ=YEARLY;BYYEARDAY=1", "BYYEARDAY"),
        ("FREQ=DAILY;FOO=1", "FOO"),
        ("FREQ=DAILY;COUNT", "rrule"),
        ("FREQ=DAILY;COUNT=", "COUNT"),
    ],
)
def test_rejected_forms_name_the_part(text: str, part: str) -> None:
    with pytest.raises(rrule.RuleError) as caught:
        rrule.check(rrule.parse(text), date(2026, 1, 1))
    assert caught.value.part == part


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "BYMONTHDAY"),
        ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2", "BYSETPOS"),
        ("FREQ=DAILY;UNTIL=20251231", "UNTIL"),
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", "BYMONTHDAY"),
    ],
)
def test_rules_without_occurrence_are_rejected(text: str, part: str) -> None:
    with pytest.raises(rrule.RuleError) as caught:
        rrule.check(rrule.parse(text), date(2026, 1, 1))
    assert caught.value.part == part


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH,MO", "every 2 weeks on Monday and Thursday"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "monthly on the last Friday"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1,15", "monthly on the 15th and the last day"),
        ("FREQ=DAILY;COUNT=10", "daily, 10 times"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "yearly in February on the 29th"),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "monthly on the last of weekdays"),
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU;UNTIL=20271231", "every 3 months on the second Tuesday, until 2027-12-31"),
    ],
)
def test_descriptions(text: str, english: str) -> None:
    assert rrule.describe(rrule.parse(text)) == english


def test_normalised_text() -> None:
    rule = rrule.parse("rrule:byday=th,mo,mo;freq=weekly;interval=1;wkst=MO")
    assert rule.text() == "FREQ=WEEKLY;BYDAY=MO,TH"
    assert rrule.parse("FREQ=MONTHLY;BYMONTHDAY=-1,1,15").text() == "FREQ=MONTHLY;BYMONTHDAY=1,15,-1"


def test_repeat_from_completion_counts_from_the_completion_day() -> None:
    weekly = rrule.parse("FREQ=WEEKLY;BYDAY=MO,TH")
    assert rrule.first_after(weekly, date(2026, 3, 3), date(2026, 3, 2)) == date(2026, 3, 5)  # Tue -> Thu
    assert rrule.first_after(weekly, date(2026, 3, 5), date(2026, 3, 2)) == date(2026, 3, 9)  # Thu -> Mon
    every7 = rrule.parse("FREQ=DAILY;INTERVAL=7")
    assert rrule.first_after(every7, date(2026, 3, 3), date(2026, 3, 1)) == date(2026, 3, 10)
    # Completed early: never on or before the open instance's due date.
    assert rrule.first_after(every7, date(2026, 3, 3), date(2026, 3, 12)) == date(2026, 3, 17)
