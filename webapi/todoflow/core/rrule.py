"""RFC 5545 recurrence rules (the subset of issue 13): parse, validate, normalise, describe, generate.

Subset: FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL (1-52), BYDAY (ordinals such as 1MO, -1FR only
with MONTHLY/YEARLY), BYMONTHDAY (1..31, -31..-1; not with WEEKLY), BYMONTH, BYSETPOS (with another BYxxx
part), COUNT (1-10000), UNTIL (a date, YYYYMMDD), WKST. DTSTART is the series' start_date, every date is
the owner's local date, and the semantics are RFC 5545's as python-dateutil implements them: an invalid
date (Feb 30, the 31st of a 30-day month) is skipped, never clamped; month-end is BYMONTHDAY=-1.

Generation uses dateutil's rrule. A rule is restarted at the aligned period that contains a given day
(with every default that dateutil would derive from DTSTART made explicit), so producing the occurrences
after next_due_at costs the same however long the series has run.
"""

from __future__ import annotations

import datetime as _datetime_module
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import islice

from dateutil import rrule as du

from todoflow.core.models import MAX_INTERVAL

FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PARTS = ("FREQ", "INTERVAL", "WKST", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "COUNT", "UNTIL")
# RFC 5545 parts outside the subset (named as such in the error rather than as unknown).
OUTSIDE = ("BYSECOND", "BYMINUTE", "BYHOUR", "BYWEEKNO", "BYYEARDAY", "RSCALE", "SKIP")
MAX_COUNT = 10000
MAX_LENGTH = 500
# Every search looks at most this many years ahead: a rule without an occurrence in the 100 years from its
# start is refused as empty, and a series whose next occurrence lies further away than that has ended.
HORIZON_YEARS = 100

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_FREQ_ATTR = {"DAILY": du.DAILY, "WEEKLY": du.WEEKLY, "MONTHLY": du.MONTHLY, "YEARLY": du.YEARLY}
_INT = re.compile(r"[+-]?\d{1,4}")
_BYDAY = re.compile(r"([+-]?\d{1,2})?([A-Z]{2})")


class RuleError(ValueError):
    """A rule outside the subset, contradictory or empty; `part` names the offending RRULE part."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part
        self.message = message


@dataclass(frozen=True)
class Rule:
    """A parsed rule; tuples are sorted and free of duplicates, so equal rules are equal objects."""

    freq: str
    interval: int = 1
    wkst: str = "MO"
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byday: tuple[tuple[int, str], ...] = ()  # (ordinal or 0, weekday code)
    bysetpos: tuple[int, ...] = ()
    count: int | None = None
    until: date | None = None

    def text(self) -> str:
        """The normalised RRULE value: parts in a fixed order, defaults (INTERVAL=1, WKST=MO) left out."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.wkst != "MO":
            parts.append(f"WKST={self.wkst}")
        if self.bymonth:
            parts.append("BYMONTH=" + ",".join(map(str, self.bymonth)))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(map(str, self.bymonthday)))
        if self.byday:
            parts.append("BYDAY=" + ",".join(f"{n}{d}" if n else d for n, d in self.byday))
        if self.bysetpos:
            parts.append("BYSETPOS=" + ",".join(map(str, self.bysetpos)))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        return ";".join(parts)


def _ints(part: str, value: str, low: int, high: int, *, signed: bool) -> tuple[int, ...]:
    out = set()
    for item in value.split(","):
        if not _INT.fullmatch(item):
            raise RuleError(part, f"{item!r} is not an integer")
        number = int(item)
        if number == 0 or abs(number) < low or abs(number) > high or (number < 0 and not signed):
            span = f"{low}..{high}" + (f" or -{high}..-{low}" if signed else "")
            raise RuleError(part, f"{item} is out of range ({span})")
        out.add(number)
    return tuple(sorted(out, key=lambda n: (n < 0, n)))


def _count(part: str, value: str, high: int) -> int:
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise RuleError(part, f"{value!r} must be an integer from 1 to {high}")
    return int(value)


def _byday(value: str, freq: str) -> tuple[tuple[int, str], ...]:
    out = set()
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if not match or match.group(2) not in WEEKDAYS:
            raise RuleError("BYDAY", f"{item!r} is not a weekday (MO..SU, optionally with an ordinal such as 1MO)")
        ordinal = int(match.group(1)) if match.group(1) else 0
        if match.group(1):
            if freq not in ("MONTHLY", "YEARLY"):
                raise RuleError("BYDAY", f"{item!r}: an ordinal weekday needs FREQ=MONTHLY or FREQ=YEARLY")
            limit = 5 if freq == "MONTHLY" else 53
            if ordinal == 0 or abs(ordinal) > limit:
                raise RuleError("BYDAY", f"{item!r}: the ordinal must be 1..{limit} or -{limit}..-1")
        out.add((ordinal, match.group(2)))
    return tuple(sorted(out, key=lambda nd: (WEEKDAYS.index(nd[1]), nd[0] < 0, nd[0])))


def _until(value: str) -> date:
    if not re.fullmatch(r"\d{8}", value):
        raise RuleError("UNTIL", f"{value!r} must be a date YYYYMMDD (date-times are outside the subset)")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise RuleError("UNTIL", f"{value!r} is not a valid date") from None


def parse(text: str) -> Rule:
    """Parse and validate an RRULE value (an optional 'RRULE:' prefix and any letter case are accepted)."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError("rrule", "must be a non-empty RRULE value such as FREQ=WEEKLY;BYDAY=MO,TH")
    if len(text) > MAX_LENGTH:
        raise RuleError("rrule", f"longer than {MAX_LENGTH} characters")
    body = text.strip().upper()
    if body.startswith("RRULE:"):
        body = body[len("RRULE:") :]
    raw: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise RuleError("rrule", f"{item!r} is not NAME=VALUE")
        if name in OUTSIDE:
            raise RuleError(name, "outside the supported subset")
        if name not in PARTS:
            raise RuleError(name, "unknown rule part")
        if name in raw:
            raise RuleError(name, "given more than once")
        if not value.strip():
            raise RuleError(name, "empty value")
        raw[name] = value.strip()
    if "FREQ" not in raw:
        raise RuleError("FREQ", "missing (one of DAILY, WEEKLY, MONTHLY, YEARLY)")
    freq = raw["FREQ"]
    if freq not in FREQS:
        raise RuleError("FREQ", f"{freq!r} is outside the subset (DAILY, WEEKLY, MONTHLY, YEARLY)")
    if "COUNT" in raw and "UNTIL" in raw:
        raise RuleError("COUNT", "COUNT and UNTIL must not both be given")
    wkst = raw.get("WKST", "MO")
    if wkst not in WEEKDAYS:
        raise RuleError("WKST", f"{wkst!r} is not a weekday (MO..SU)")
    rule = Rule(
        freq=freq,
        interval=_count("INTERVAL", raw["INTERVAL"], MAX_INTERVAL) if "INTERVAL" in raw else 1,
        wkst=wkst,
        bymonth=_ints("BYMONTH", raw["BYMONTH"], 1, 12, signed=False) if "BYMONTH" in raw else (),
        bymonthday=_ints("BYMONTHDAY", raw["BYMONTHDAY"], 1, 31, signed=True) if "BYMONTHDAY" in raw else (),
        byday=_byday(raw["BYDAY"], freq) if "BYDAY" in raw else (),
        bysetpos=_ints("BYSETPOS", raw["BYSETPOS"], 1, 366, signed=True) if "BYSETPOS" in raw else (),
        count=_count("COUNT", raw["COUNT"], MAX_COUNT) if "COUNT" in raw else None,
        until=_until(raw["UNTIL"]) if "UNTIL" in raw else None,
    )
    if rule.bymonthday and freq == "WEEKLY":
        raise RuleError("BYMONTHDAY", "not allowed with FREQ=WEEKLY")
    if rule.bysetpos and not (rule.bymonth or rule.bymonthday or rule.byday):
        raise RuleError("BYSETPOS", "needs another BYxxx part (BYDAY, BYMONTHDAY or BYMONTH)")
    return rule


def check(rule: Rule, dtstart: date) -> date:
    """The rule's first occurrence from dtstart; RuleError naming the part that leaves none."""
    if rule.until is not None and rule.until < dtstart:
        raise RuleError("UNTIL", f"{rule.until} is before the start date {dtstart}")
    horizon = _add_years(dtstart, HORIZON_YEARS)
    first = next(_generate(rule, dtstart, dtstart, horizon), None)
    if first is None:
        unbounded = rule.until is not None and next(
            _generate(replace(rule, until=None), dtstart, dtstart, horizon), None
        )
        part = "UNTIL" if unbounded else _empty_part(rule)
        raise RuleError(part, f"the rule has no occurrence on or after {dtstart}")
    return first


def _empty_part(rule: Rule) -> str:
    """Which part most likely empties the rule (for the error message)."""
    for name, value in (("BYSETPOS", rule.bysetpos), ("BYMONTHDAY", rule.bymonthday), ("BYDAY", rule.byday)):
        if value:
            return name
    return "BYMONTH" if rule.bymonth else "rrule"


def _add_years(day: date, years: int) -> date:
    return date(min(day.year + years, 9998), 12, 31)


def _defaults(rule: Rule, anchor: date) -> Rule:
    """The rule with what dateutil derives from DTSTART made explicit (so any later DTSTART gives the same set)."""
    if rule.byday or rule.bymonthday:
        return rule
    if rule.freq == "YEARLY":
        return replace(rule, bymonth=rule.bymonth or (anchor.month,), bymonthday=(anchor.day,))
    if rule.freq == "MONTHLY":
        return replace(rule, bymonthday=(anchor.day,))
    if rule.freq == "WEEKLY":
        return replace(rule, byday=((0, WEEKDAYS[anchor.weekday()]),))
    return rule


def _period_start(rule: Rule, anchor: date, day: date) -> date:
    """Start of the period (aligned on the anchor's, every INTERVAL) that contains day; the anchor for its own."""
    if day <= anchor:
        return anchor
    step = rule.interval
    if rule.freq == "DAILY":
        start = anchor + timedelta(days=(day - anchor).days // step * step)
    elif rule.freq == "WEEKLY":
        first_week = anchor - timedelta(days=(anchor.weekday() - WEEKDAYS.index(rule.wkst)) % 7)
        start = first_week + timedelta(weeks=(day - first_week).days // 7 // step * step)
    elif rule.freq == "MONTHLY":
        months = (day.year - anchor.year) * 12 + day.month - anchor.month
        index = anchor.year * 12 + anchor.month - 1 + months // step * step
        start = date(index // 12, index % 12 + 1, 1)
    else:
        start = date(anchor.year + (day.year - anchor.year) // step * step, 1, 1)
    return max(anchor, start)


class _Calendar:
    """The datetime module as dateutil's rrule sees it, except that MAXYEAR is a search horizon."""

    def __init__(self, max_year: int) -> None:
        self.MAXYEAR = max_year

    def __getattr__(self, name: str) -> object:
        return getattr(_datetime_module, name)


@lru_cache(maxsize=512)
def _bounded_rrule(max_year: int) -> type[du.rrule]:
    """The rrule of dateutil that gives up after max_year.

    rrule checks UNTIL only against candidates, so a rule whose filters leave a long run of periods empty
    (DAILY;BYMONTH=2;BYMONTHDAY=30 has none at all) walks day by day to the year 9999, for seconds. Its
    only other exit is `year > datetime.MAXYEAR`; this class runs rrule's own iterator with MAXYEAR read
    from a calendar whose MAXYEAR is the horizon, and is otherwise rrule itself.
    """
    iterate = types.FunctionType(
        du.rrule._iter.__code__,
        {**du.rrule._iter.__globals__, "datetime": _Calendar(max_year)},
        "_iter",
        du.rrule._iter.__defaults__,
        du.rrule._iter.__closure__,
    )
    return type("BoundedRRule", (du.rrule,), {"_iter": iterate})


@lru_cache(maxsize=4096)
def _kwargs(rule: Rule) -> tuple[tuple[str, object], ...]:
    weekdays = [getattr(du, code)(n) if n else getattr(du, code) for n, code in rule.byday]
    kwargs: dict[str, object] = {"interval": rule.interval, "wkst": getattr(du, rule.wkst), "cache": False}
    if rule.bymonth:
        kwargs["bymonth"] = rule.bymonth
    if rule.bymonthday:
        kwargs["bymonthday"] = rule.bymonthday
    if weekdays:
        kwargs["byweekday"] = weekdays
    if rule.bysetpos:
        kwargs["bysetpos"] = rule.bysetpos
    return tuple(kwargs.items())


def _generate(rule: Rule, anchor: date, day: date, horizon: date | None = None) -> Iterator[date]:
    """Dates of the rule (DTSTART = anchor) on or after day, ignoring COUNT, up to UNTIL (and horizon)."""
    explicit = _defaults(rule, anchor)
    start = _period_start(explicit, anchor, day)
    until = min(d for d in (rule.until, horizon or _add_years(day, HORIZON_YEARS)) if d is not None)
    generator = _bounded_rrule(until.year)(
        _FREQ_ATTR[rule.freq],
        dtstart=datetime(start.year, start.month, start.day),
        until=datetime(until.year, until.month, until.day),
        **dict(_kwargs(explicit)),
    )
    for moment in generator:
        found = moment.date()
        if found >= day:
            yield found


def dates(rule: Rule, anchor: date, day: date, index: int | None = None) -> Iterator[tuple[int | None, date]]:
    """(index, date) of the occurrences on or after day; index counts from DTSTART (0 = first occurrence).

    With COUNT the series stops after COUNT occurrences: the index is then needed, and is found by counting
    from the anchor unless the caller knows it (index = the index of the first occurrence on or after day).
    Without COUNT the index is only computed when given.
    """
    if rule.count is None:
        if index is None:
            for found in _generate(rule, anchor, day):
                yield None, found
            return
        for n, found in enumerate(_generate(rule, anchor, day), start=index):
            yield n, found
        return
    if index is None:
        index = 0
        for found in _generate(rule, anchor, anchor):
            if found >= day or index >= rule.count:
                break
            index += 1
    for n, found in enumerate(_generate(rule, anchor, day), start=index):
        if n >= rule.count:
            return
        yield n, found


def index_of_first_on_or_after(rule: Rule, anchor: date, day: date) -> tuple[int, date] | None:
    """(index, date) of the first occurrence on or after day, counted from the anchor; None if there is none."""
    index = 0
    for found in _generate(rule, anchor, anchor):
        if rule.count is not None and index >= rule.count:
            return None
        if found >= day:
            return index, found
        index += 1
    return None


def first_after(rule: Rule, day: date, after: date) -> date | None:
    """Repeat from completion: the rule's first occurrence from day (as DTSTART) later than both day and after.

    COUNT is the caller's business.
    """
    return next(iter(_generate(replace(rule, count=None), day, max(day, after) + timedelta(days=1))), None)


def take(iterator: Iterator[tuple[int | None, date]], limit: int) -> list[tuple[int | None, date]]:
    """The first limit (index, date) pairs of iterator."""
    return list(islice(iterator, limit))


# -- English ---------------------------------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    if n == -1:
        return "last"
    if n < 0:
        return f"{_ordinal(-n)} to last"
    words = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    if n in words:
        return words[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _day_of_month(n: int) -> str:
    if n == -1:
        return "the last day"
    if n < 0:
        return f"the {_ordinal(-n)} to last day"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix}"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


_UNITS = {"DAILY": ("daily", "day"), "WEEKLY": ("weekly", "week"), "MONTHLY": ("monthly", "month"),
          "YEARLY": ("yearly", "year")}  # fmt: skip


def describe(rule: Rule) -> str:
    """Short English: 'every 2 weeks on Monday and Thursday', 'monthly on the last Friday', ..."""
    adverb, unit = _UNITS[rule.freq]
    text = adverb if rule.interval == 1 else f"every {rule.interval} {unit}s"
    if rule.bymonth:
        text += " in " + _join([_MONTH_NAMES[m - 1] for m in rule.bymonth])
    plain = [code for n, code in rule.byday if not n]
    days = [_DAY_NAMES[WEEKDAYS.index(code)] for code in plain]
    if plain and set(plain) == set(WEEKDAYS[:5]) and len(plain) == 5:
        days = ["weekdays"]
    on = []
    if rule.bysetpos:
        choices = _join(days + [_day_of_month(n) for n in rule.bymonthday]) if (days or rule.bymonthday) else "day"
        on.append(f"the {_join([_ordinal(p) for p in rule.bysetpos])} of {choices}")
    else:
        on += [_day_of_month(n) for n in rule.bymonthday]
        on += [f"the {_ordinal(n)} {_DAY_NAMES[WEEKDAYS.index(code)]}" for n, code in rule.byday if n]
        on += days
    if on:
        text += " on " + _join(on)
    if rule.count is not None:
        text += ", once" if rule.count == 1 else f", {rule.count} times"
    if rule.until is not None:
        text += f", until {rule.until.isoformat()}"
    return text


def describe_seed(recurrence_type: str, interval: int) -> str:
    """The seed's four types: 'daily', 'every 3 weeks', ..."""
    adverb, unit = _UNITS[recurrence_type.upper()]
    return adverb if interval == 1 else f"every {interval} {unit}s"
