"""The job commands' values: one grammar for instants and durations, for every job command."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

import pytest

from todoflow.jobs import options
from todoflow.pipeline import jobs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("24h", timedelta(hours=24)),
        ("1d", timedelta(days=1)),
        ("1.5d", timedelta(hours=36)),
        ("2w", timedelta(weeks=2)),
        ("3600s", timedelta(hours=1)),
        ("3", timedelta(hours=3)),  # a bare number means hours, as the sweep's --window always read it
        (" 24h ", timedelta(hours=24)),
        ("0m", timedelta(0)),  # a zero tolerance is a valid quality lag
    ],
)
def test_durations_every_job_accepts(text: str, expected: timedelta) -> None:
    assert options.parse_duration(text) == expected
    # The trigger form's JSON Schema pattern accepts exactly what the command does.
    assert re.match(jobs.SWEEP_WINDOW_PATTERN, text.strip())


@pytest.mark.parametrize("text", ["", "soon", "h", "-2h", "2x", "15 minutes", "1e3s", "1.5.2h", "15M", "nan", "inf"])
def test_durations_every_job_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        options.parse_duration(text)
    assert not re.match(jobs.SWEEP_WINDOW_PATTERN, text.strip())


def test_a_positive_duration_refuses_zero() -> None:
    assert options.positive_duration("90m") == timedelta(minutes=90)
    with pytest.raises(argparse.ArgumentTypeError, match="positive"):
        options.positive_duration("0h")


@pytest.mark.parametrize(
    ("duration", "text"),
    [(timedelta(hours=24), "1d"), (timedelta(minutes=15), "15m"), (timedelta(seconds=90), "90s"), (timedelta(0), "0s")],
)
def test_defaults_are_shown_in_the_grammar_they_are_read_with(duration: timedelta, text: str) -> None:
    assert options.format_duration(duration) == text
    assert options.parse_duration(text) == duration


def test_instants() -> None:
    assert options.parse_as_of("2026-03-08T12:00:00Z") == datetime(2026, 3, 8, 12, tzinfo=UTC)
    assert options.parse_as_of("2026-03-08T12:00:00") == datetime(2026, 3, 8, 12, tzinfo=UTC)  # naive means UTC
    assert options.parse_as_of("2026-03-08") == datetime(2026, 3, 8, tzinfo=UTC)
    plus_two = options.parse_as_of("2026-03-08T12:00:00+02:00")
    assert plus_two.utcoffset() == timedelta(hours=2) and plus_two == datetime(2026, 3, 8, 10, tzinfo=UTC)
    before = datetime.now(UTC)
    assert before <= options.parse_as_of("now") <= datetime.now(UTC)
    assert options.parse_since("all") is None
    assert options.parse_since("2026-03-07T10:00:00+00:00") == datetime(2026, 3, 7, 10, tzinfo=UTC)
    for bad in ("yesterday", "2026-13-01", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="ISO 8601"):
            options.parse_as_of(bad)
