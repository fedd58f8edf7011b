"""The due series of a shard, chunk by chunk: what expand.py (seed types) and expand_rules.py (rules) share.

A run walks the due series in id order, one chunk (at most %(chunk)s series) per transaction: next_chunk
finds the chunk's last id without locking, then the chunk's statement locks its series FOR UPDATE in id
order (lock_chunk) and re-checks that they are still due, so concurrent runs serialize per series.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from todoflow.jobs.guards import local_date, series_problem
from todoflow.jobs.sql import NIL_UUID, latest_local_date, shard_predicate

# The owner's local date as of the run; NULL for a zone PostgreSQL does not know (never due: see guards).
LOCAL_AS_OF = local_date("%(as_of)s::timestamptz", "u.timezone")
# The last date a series may get an occurrence for in this run.
UPTO = f"LEAST({LOCAL_AS_OF}, COALESCE(r.end_date, 'infinity'::date))"
# Active series of the shard that might be due (index-friendly bound), processable or not.
CANDIDATE = (
    f"r.is_active AND r.next_due_at <= {latest_local_date('%(as_of)s::timestamptz')} AND {shard_predicate('r.id')}"
)
# Candidates that are processable and due on or before the owner's local as-of date.
DUE = f"{CANDIDATE} AND {series_problem()} IS NULL AND r.next_due_at <= {LOCAL_AS_OF}"


def next_chunk(predicate: str) -> str:
    """SQL: the last id of the next chunk of series matching predicate after %(lo)s (no locks)."""
    return f"""
SELECT id::text FROM (
    SELECT r.id FROM recurring_tasks r JOIN users u ON u.id = r.user_id
    WHERE r.id > %(lo)s::uuid AND {predicate}
    ORDER BY r.id LIMIT %(chunk)s
) AS chunk
ORDER BY id DESC LIMIT 1
"""


def lock_chunk(columns: str, predicate: str) -> str:
    """SQL: columns of the series in (%(lo)s, %(hi)s] still matching predicate, locked FOR UPDATE in id order."""
    return f"""
SELECT {columns}
FROM recurring_tasks r JOIN users u ON u.id = r.user_id
WHERE r.id > %(lo)s::uuid AND r.id <= %(hi)s::uuid AND {predicate}
ORDER BY r.id
FOR UPDATE OF r
"""


def chunks(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield params with the bounds lo and hi of each chunk that statement (a next_chunk) finds, in id order."""
    lo = NIL_UUID
    while True:
        # Not prepared: the zone list must stay a constant of each plan (a hashed lookup, see guards).
        row = conn.execute(statement, params | {"lo": lo}, prepare=False).fetchone()
        if row is None or row[0] is None:
            return
        yield params | {"lo": lo, "hi": row[0]}
        lo = row[0]
