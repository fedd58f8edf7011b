"""Crashes and replicas: SIGKILL mid-batch loses nothing; two replicas never send one event under two ids."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from tests.delivery.support import (
    DeliverProcess,
    Subscribe,
    all_delivered,
    deliveries,
    event_for,
    ids_by_event,
    produce,
)
from tests.support import wait_until


def test_sigkill_mid_batch_then_restart_loses_nothing(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    subscribed: Subscribe,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    # A slow receiver keeps batches in flight (rows locked, requests sent, outcomes not yet committed).
    receiver, users = subscribed(lambda hit: (time.sleep(0.2), (200, {}))[1], users=4)
    first = start_deliver(DELIVERY_WORKERS="2", DELIVERY_CLAIM_BATCH="5")
    events = [event_for(users[i % 4].user_id, i) for i in range(1, 121)]
    produce(bootstrap, events)
    wait_until(lambda: len(receiver.snapshot()) >= 15, 60, "the first deliveries")
    first.kill()
    killed_at = len(receiver.snapshot())
    assert killed_at < len(events), "the service finished before it could be killed"

    start_deliver(DELIVERY_WORKERS="4", DELIVERY_CLAIM_BATCH="5")
    wait_until(all_delivered(pg, len(events)), 120, "every delivery after the restart")
    ids = ids_by_event(receiver.snapshot())
    assert set(ids) == {e["event_id"] for e in events}  # nothing lost
    rows = {str(r["event_id"]): str(r["id"]) for r in deliveries(pg)}
    # At least once towards the receiver, but a resent event carries the same delivery id.
    assert all(ids[event_id] == {rows[event_id]} for event_id in ids)


def test_two_replicas_share_the_work_and_never_send_twice(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    subscribed: Subscribe,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    receiver, users = subscribed(users=12)
    replicas = [start_deliver(), start_deliver()]
    events = [event_for(users[i % 12].user_id, i) for i in range(1, 301)]
    produce(bootstrap, events)

    wait_until(all_delivered(pg, len(events)), 120, "every delivery")
    time.sleep(1)  # room for a second send that must not happen
    hits = receiver.snapshot()
    ids = ids_by_event(hits)
    assert set(ids) == {e["event_id"] for e in events}
    assert all(len(v) == 1 for v in ids.values())  # never one event under two delivery ids
    assert len(hits) == len(events)  # and, with no crash, never sent twice at all
    assert all(r["attempts"] == 1 for r in deliveries(pg))
    assert all(p.proc.poll() is None for p in replicas)
    assert all(p.terminate() == 0 for p in replicas)
