"""0009_lean_rows: the outbox's txid default is still the writing transaction, on both sides of the migration."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from todoflow.core import db
from todoflow.relay.store import fetch_batch
from todoflow_dev.devstack import postgres as local_pg


def _insert_in_transaction(conn: psycopg.Connection[Any]) -> tuple[int, int, str]:
    """One outbox row with the default txid: (its txid, the transaction's pg_current_xact_id, its event id)."""
    event_id = str(uuid.uuid4())
    payload = {"event_id": event_id, "event_type": "task-created", "data": {"title": "Grüße"}}
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO event_outbox (event_id, topic, message_key, payload)
               VALUES (%s, 'task-created', 'k', %s::jsonb) RETURNING txid""",
            (event_id, json.dumps(payload)),
        ).fetchone()
        current = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
    assert row is not None and current is not None
    return int(row[0]), int(current[0]), event_id


def test_txid_is_the_writing_transaction_and_the_relay_reads_the_row(pg: psycopg.Connection[Any]) -> None:
    txid, current, event_id = _insert_in_transaction(pg)
    assert txid == current
    (row,) = fetch_batch(pg, 10)  # below the horizon once committed: the relay's commit-order read takes it
    assert (row.event_id, row.event_type) == (event_id, "task-created")


def test_one_notify_per_statement_not_per_row(pg: psycopg.Connection[Any]) -> None:
    rows = pg.execute(
        """SELECT t.tgname, (t.tgtype & 1) = 1 AS per_row FROM pg_trigger t
           WHERE t.tgrelid = 'event_outbox'::regclass AND NOT t.tgisinternal"""
    ).fetchall()
    assert rows == [("event_outbox_notify", False)]


def test_txid_default_holds_after_downgrade_and_upgrade(postgres_server: None) -> None:
    url = local_pg.recreate_database("todoflow_lean_rows_test")
    db.upgrade(url)
    db.downgrade(url, "0008_keyset")
    with psycopg.connect(url, autocommit=True) as conn:
        txid, current, _ = _insert_in_transaction(conn)
    assert txid == current
    db.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        txid, current, _ = _insert_in_transaction(conn)
        default = conn.execute(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
            "WHERE adrelid = 'event_outbox'::regclass AND adnum = "
            "(SELECT attnum FROM pg_attribute WHERE attrelid = 'event_outbox'::regclass AND attname = 'txid')"
        ).fetchone()
    assert txid == current and default == ("txid_current()",)
