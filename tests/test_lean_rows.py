"""0007_lean_rows: outbox payloads stored as the JSON text written, txid as before, and both ways of the migration."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from todoflow.core import db
from todoflow.relay.store import fetch_batch
from todoflow_dev.devstack import postgres as local_pg

ENVELOPE = {
    "event_id": "",
    "event_type": "task-created",
    "event_timestamp": "2026-01-10T12:00:00.000000Z",
    "data": {"task_id": 7, "title": 'Grüße, "quoted" \\ and 🚀', "due_date": "2026-01-10", "completed_at": None},
}


def _insert(conn: psycopg.Connection[Any], payload: dict[str, Any]) -> int:
    """One outbox row written as the jobs write it (json_build_object output); returns its txid."""
    row = conn.execute(
        """INSERT INTO event_outbox (event_id, topic, message_key, payload)
           VALUES (%s, 'task-created', 'k', %s::json) RETURNING txid""",
        (payload["event_id"], json.dumps(payload, ensure_ascii=False)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _envelope() -> dict[str, Any]:
    return ENVELOPE | {"event_id": str(uuid.uuid4())}


def test_the_relay_publishes_the_payload_as_written(pg: psycopg.Connection[Any]) -> None:
    # The text a job builds with json_build_object (spaces around colons) is what Kafka receives, unchanged.
    event_id = str(uuid.uuid4())
    built = pg.execute(
        "SELECT json_build_object('event_id', %s::text, 'event_type', 'task-created', 'data', "
        "json_build_object('task_id', 7, 'title', 'Grüße'))::text",
        (event_id,),
    ).fetchone()
    assert built is not None
    pg.execute(
        "INSERT INTO event_outbox (event_id, topic, message_key, payload) VALUES (%s, 'task-created', 'k', %s)",
        (event_id, built[0]),
    )
    (row,) = fetch_batch(pg, 10)
    assert row.value == built[0].encode()
    assert json.loads(row.value) == {
        "event_id": event_id,
        "event_type": "task-created",
        "data": {"task_id": 7, "title": "Grüße"},
    }
    assert (row.event_type, row.event_id) == ("task-created", event_id)


def test_txid_is_the_writing_transaction(pg: psycopg.Connection[Any]) -> None:
    with pg.transaction():
        txid = _insert(pg, _envelope())
        current = pg.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
    assert current is not None and txid == current[0]


def test_one_notify_per_statement_not_per_row(pg: psycopg.Connection[Any]) -> None:
    rows = pg.execute(
        """SELECT t.tgname, (t.tgtype & 1) = 1 AS per_row FROM pg_trigger t
           WHERE t.tgrelid = 'event_outbox'::regclass AND NOT t.tgisinternal"""
    ).fetchall()
    assert rows == [("event_outbox_notify", False)]


def test_downgrade_and_upgrade_keep_every_payload(postgres_server: None) -> None:
    url = local_pg.recreate_database("todoflow_lean_rows_test")
    db.upgrade(url)
    written = [_envelope() for _ in range(3)]
    with psycopg.connect(url, autocommit=True) as conn:
        for payload in written:
            _insert(conn, payload)

    def stored() -> list[Any]:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute("SELECT payload, pg_typeof(payload)::text FROM event_outbox ORDER BY id").fetchall()
            with conn.transaction():
                txid = _insert(conn, _envelope())
                current = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
            assert current is not None and txid == current[0]  # the txid default holds on either side
            conn.execute("DELETE FROM event_outbox WHERE txid = %s", (txid,))
        return rows

    assert stored() == [(p, "json") for p in written]
    db.downgrade(url, "0006_rrule")
    assert stored() == [(p, "jsonb") for p in written]
    db.upgrade(url)
    assert stored() == [(p, "json") for p in written]
