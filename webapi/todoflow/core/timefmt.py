"""Time as text, defined once.

An instant as the events' and jobs' date-time string (ISO 8601 in UTC with a 'Z'), and the grammar of a
duration that the job commands read (jobs/options.py) and the DAGs' trigger forms validate.
Standard library only: DAG files import it at parse time.
"""

from __future__ import annotations

from datetime import UTC, datetime

# A number and a unit s, m, h, d or w ('90s', '15m', '1.5d', '2w'); a bare number means hours. Also a JSON
# Schema pattern (the trigger forms' params).
DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?[smhdw]?$"


def utc_z(moment: datetime, timespec: str = "auto") -> str:
    """The moment in UTC as ISO 8601 ending in 'Z' ('2026-03-08T11:00:00Z'); a naive moment is taken as UTC.

    timespec as in datetime.isoformat: "auto" drops zero microseconds, "microseconds" always writes six digits
    (the form the jobs' SQL renders, see jobs/sql.iso_utc).
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
