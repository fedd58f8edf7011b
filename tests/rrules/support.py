"""Random rules in the issue-13 subset (seeded, reproducible) and python-dateutil's rrulestr as the oracle."""

from __future__ import annotations

import datetime as datetime_module
import random
import types
from datetime import date, datetime, timedelta
from itertools import islice

from dateutil import rrule as du
from dateutil.rrule import rrulestr

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Anchors that stress the calendar: leap days, month ends, year ends, and random days.
SPECIAL_ANCHORS = (date(2024, 2, 29), date(2024, 1, 31), date(2025, 3, 31), date(2023, 12, 31), date(2028, 2, 29))


def random_rule(rng: random.Random) -> str:
    """One RRULE value in the subset (it may still be empty for its anchor: callers check)."""
    freq = rng.choice(("DAILY", "WEEKLY", "MONTHLY", "YEARLY"))
    parts = [f"FREQ={freq}"]
    if rng.random() < 0.5:
        parts.append(f"INTERVAL={rng.choice((1, 2, 3, 4, 7, 13, 52))}")
    if rng.random() < 0.15:
        parts.append(f"WKST={rng.choice(WEEKDAYS)}")
    if rng.random() < (0.5 if freq == "YEARLY" else 0.15):
        parts.append("BYMONTH=" + ",".join(str(m) for m in rng.sample(range(1, 13), rng.randint(1, 3))))
    if freq != "WEEKLY" and rng.random() < (0.2 if "BYDAY" in "".join(parts) else 0.35):
        days = rng.sample([*range(1, 32), *range(-31, 0)], rng.randint(1, 3))
        parts.append("BYMONTHDAY=" + ",".join(map(str, days)))
    if rng.random() < 0.55:
        picks = rng.sample(WEEKDAYS, rng.randint(1, 4))
        if freq in ("MONTHLY", "YEARLY") and rng.random() < 0.5:
            limit = 5 if freq == "MONTHLY" or "BYMONTH" in ";".join(parts) else 53
            picks = [f"{rng.choice([1, 2, 3, 4, -1, -2, rng.randint(-limit, limit) or 1])}{d}" for d in picks[:2]]
        parts.append("BYDAY=" + ",".join(picks))
    if freq != "DAILY" and any(p.startswith("BY") for p in parts) and rng.random() < 0.2:
        parts.append("BYSETPOS=" + ",".join(map(str, rng.sample([1, 2, 3, -1, -2], rng.randint(1, 2)))))
    ending = rng.random()
    if ending < 0.2:
        parts.append(f"COUNT={rng.randint(1, 30)}")
    elif ending < 0.35:
        parts.append(f"UNTIL={(date(2026, 1, 1) + timedelta(days=rng.randint(0, 1500))):%Y%m%d}")
    rng.shuffle(parts)
    return ";".join(parts)


def random_anchor(rng: random.Random) -> date:
    if rng.random() < 0.3:
        return rng.choice(SPECIAL_ANCHORS)
    return date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))


class _Calendar:
    def __init__(self, max_year: int) -> None:
        self.MAXYEAR = max_year

    def __getattr__(self, name: str) -> object:
        return getattr(datetime_module, name)


def _stopping_at(max_year: int) -> type[du.rrule]:
    """dateutil's rrule, whose iterator otherwise walks an empty rule period by period to the year 9999."""
    code = du.rrule._iter
    glob = {**code.__globals__, "datetime": _Calendar(max_year)}
    return type("Stopping", (du.rrule,), {"_iter": types.FunctionType(code.__code__, glob, "_iter")})


def oracle(text: str, anchor: date, limit: int, until: date | None = None) -> list[date]:
    """The first `limit` dates (up to until) of the rule with DTSTART = anchor, per dateutil's own parser."""
    rule = rrulestr(text, dtstart=datetime(anchor.year, anchor.month, anchor.day), cache=False)
    if until is not None:
        rule.__class__ = _stopping_at(until.year)
    out = []
    for moment in islice(rule, limit):
        if until is not None and moment.date() > until:
            break
        out.append(moment.date())
    return out
