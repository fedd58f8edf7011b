"""The relay's SQL over event_outbox: commit-order-safe reads, marking, lag and the retention purge.

Why the read never skips a row that commits late
------------------------------------------------
Outbox ids and transaction ids are taken while a transaction runs, and transactions commit in any
order, so a cursor such as "id greater than the last one published" would step over a row whose
transaction commits after a later one was already read. The relay keeps no cursor: every read
selects the unpublished rows (`published_at IS NULL`), so a row that commits late is still there
to be read on the next pass. A row stops being read only when the relay itself marks it published,
and it does that only after Kafka has acknowledged the row.

Why the published order is the transaction order
------------------------------------------------
A read takes only rows whose writing transaction id is below a horizon under which every
transaction that could write to this outbox has finished. The horizon is the transaction-id /
snapshot pattern: pg_snapshot_xmin(pg_current_snapshot()), the oldest transaction still running,
with one refinement: transaction ids are cluster-wide, and a transaction running in another
database of the cluster (Airflow's metadata, a bulk job elsewhere) cannot write to this table, so
it does not hold the horizon back. Precisely, from the statement's own snapshot S:

    horizon = least(xmax(S), min{x in xip(S) : x is not the transaction of a backend of another database})

Every transaction below xmax(S) and not in xip(S) had finished when S was taken, so its rows are
visible in S; every x in xip(S) of this database (or whose database cannot be seen any more, which
is treated as this one) bounds the horizon; transactions starting later get ids at or above xmax(S).
So when a row of transaction t is read, no row with a txid below t can appear later, and reading
in (txid, id) order publishes a sequence increasing in (txid, id) across batches. Rows of running
transactions, or of committed ones above the horizon, wait for the next pass (and the relay re-reads
soon when it sees such rows). For one user, whose key is the partition key, a request that starts
after another has committed gets a larger txid, so Kafka holds the user's events in the order the
changes were made; events of one transaction keep their insertion order. A transaction left open in
this database delays publication (never loses it); the `relay.outbox.oldest_age_seconds` gauge
shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

# The horizon described above, computed from the statement's own snapshot (READ COMMITTED).
HORIZON_CTE = """
WITH s AS MATERIALIZED (SELECT pg_current_snapshot() AS snap),
elsewhere AS MATERIALIZED (
    SELECT backend_xid FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL
      AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
),
horizon AS MATERIALIZED (
    SELECT LEAST(
        pg_snapshot_xmax(snap),
        (SELECT min(x) FROM pg_snapshot_xip(snap) AS x WHERE xid(x) NOT IN (SELECT backend_xid FROM elsewhere))
    )::text::bigint AS txid
    FROM s
)
"""

FETCH = (
    HORIZON_CTE
    + """
SELECT id, topic, message_key, payload::text, payload->>'event_type', payload->>'event_id'
FROM event_outbox
WHERE published_at IS NULL AND txid < (SELECT txid FROM horizon)
ORDER BY txid, id
LIMIT %s
"""
)

# Committed, unpublished rows that wait for an older transaction to finish.
HELD_BACK = (
    HORIZON_CTE
    + """
SELECT EXISTS (
    SELECT 1 FROM event_outbox
    WHERE published_at IS NULL AND txid >= (SELECT txid FROM horizon)
)
"""
)

MARK = "UPDATE event_outbox SET published_at = now() WHERE id = ANY(%s) AND published_at IS NULL"

LAG = """
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
FROM event_outbox
WHERE published_at IS NULL
"""

PURGE = """
DELETE FROM event_outbox
WHERE id IN (
    SELECT id FROM event_outbox
    WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => %s)
    ORDER BY published_at
    LIMIT %s
)
"""


@dataclass(frozen=True)
class OutboxRow:
    """One unpublished event as the relay sends it."""

    id: int
    topic: str
    key: str
    value: bytes
    event_type: str
    event_id: str


def fetch_batch(conn: psycopg.Connection[Any], limit: int) -> list[OutboxRow]:
    """Up to limit unpublished rows of finished transactions, in (txid, id) order."""
    rows = conn.execute(FETCH, (limit,)).fetchall()
    return [OutboxRow(r[0], r[1], r[2], r[3].encode(), r[4] or r[1], r[5] or "") for r in rows]


def held_back(conn: psycopg.Connection[Any]) -> bool:
    """True if committed unpublished rows wait for an older transaction to finish."""
    row = conn.execute(HELD_BACK).fetchone()
    return bool(row and row[0])


def mark_published(conn: psycopg.Connection[Any], ids: list[int]) -> int:
    """Mark rows published (after Kafka acknowledged them); returns how many were marked."""
    if not ids:
        return 0
    return conn.execute(MARK, (ids,)).rowcount


def lag(conn: psycopg.Connection[Any]) -> tuple[int, float]:
    """(unpublished rows, age in seconds of the oldest of them)."""
    row = conn.execute(LAG).fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def purge_published(conn: psycopg.Connection[Any], retention_hours: float, batch_size: int) -> int:
    """Delete at most batch_size rows published more than retention_hours ago; returns the count."""
    return conn.execute(PURGE, (retention_hours * 3600.0, batch_size)).rowcount
