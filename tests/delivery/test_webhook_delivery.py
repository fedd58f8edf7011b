"""The delivery service end to end: events on the real broker, real HTTP receivers, real PostgreSQL."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from confluent_kafka import Consumer

from tests.delivery.support import (
    DeliverProcess,
    Receiver,
    Subscribe,
    add_user,
    add_webhook,
    all_delivered,
    deliveries,
    event_for,
    ids_by_event,
    produce,
)
from tests.support import StatsdListener, wait_until
from todoflow.core.events import DEAD_LETTER_TOPIC, TOPICS
from todoflow.delivery.signing import signature


def _readme_verify() -> Callable[..., bool]:
    """The verification recipe exactly as README.md documents it (its code block, executed)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify(" in b)
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # noqa: S102 - our own README's recipe, the thing under test
    return namespace["verify"]


README_VERIFY = _readme_verify()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """README's verify() on a receiver's (lower-cased) headers."""
    names = {"x-todoflow-timestamp": "X-Todoflow-Timestamp", "x-todoflow-signature": "X-Todoflow-Signature"}
    return bool(README_VERIFY(secret, {names.get(k, k): v for k, v in headers.items()}, body))


def test_every_event_type_arrives_signed_and_verifiable(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    subscribed: Subscribe,
    start_deliver: Callable[..., DeliverProcess],
    statsd_listener: StatsdListener,
) -> None:
    receiver, [user] = subscribed()
    secret = user.secret
    start_deliver()
    events = [event_for(user.user_id, i + 1, t) for i, t in enumerate(TOPICS)]
    produce(bootstrap, events)

    wait_until(lambda: len(receiver.snapshot()) >= len(events), 60, "every event at the receiver")
    hits = receiver.snapshot()
    rows = {str(r["event_id"]): r for r in deliveries(pg)}
    assert sorted(h.event["event_id"] for h in hits) == sorted(e["event_id"] for e in events)
    for hit in hits:
        assert verify(secret, hit.headers, hit.body), hit.headers
        assert hit.event == next(e for e in events if e["event_id"] == hit.event["event_id"])
        assert hit.headers["x-todoflow-event"] == hit.event["event_type"]
        assert hit.headers["content-type"] == "application/json"
        assert hit.headers["x-todoflow-delivery"] == str(rows[hit.event["event_id"]]["id"])
        # Tampering with the body, the timestamp or the secret breaks verification.
        assert not verify(secret, hit.headers, hit.body.replace(b"task", b"tusk", 1))
        assert not verify(secret, hit.headers, hit.body + b" ")
        assert not verify("whsec_other", hit.headers, hit.body)
        # Correctly signed but too old (or from the future): refused by the 5-minute window alone.
        for skew in (-301, 301):
            moved = int(time.time()) + skew
            resigned = {"x-todoflow-timestamp": str(moved), "x-todoflow-signature": signature(secret, moved, hit.body)}
            assert not verify(secret, resigned, hit.body)
        now = int(time.time())
        fresh = {"x-todoflow-timestamp": str(now), "x-todoflow-signature": signature(secret, now, hit.body)}
        assert verify(secret, fresh, hit.body)
    wait_until(all_delivered(pg, len(events)), 10, "every delivery marked delivered")
    rows = {str(r["event_id"]): r for r in deliveries(pg)}
    assert all(r["attempts"] == 1 and r["last_status_code"] == 200 for r in rows.values())
    assert {r["endpoint"] for r in rows.values()} == {f"webhook:{user.webhook_id}"}
    wait_until(lambda: sum(statsd_listener.values("todoflow.delivery.webhook.delivered", "c")) >= 6, 10, "counter")
    assert statsd_listener.values("todoflow.delivery.webhook.attempt_latency", "ms")
    wait_until(lambda: 0.0 in statsd_listener.values("todoflow.delivery.backlog", "g"), 10, "backlog gauge")
    assert statsd_listener.values("todoflow.delivery.oldest_pending_age_seconds", "g")


def test_only_subscribed_event_types_and_active_webhooks_of_the_owner(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    receivers: Callable[..., Receiver],
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    receiver = receivers()
    alice, bob = add_user(pg), add_user(pg)
    add_webhook(pg, alice, receiver.url, ["task-completed"])
    inactive, _ = add_webhook(pg, alice, receiver.url, list(TOPICS))
    pg.execute("UPDATE webhooks SET active = false WHERE id = %s", (inactive,))
    pg.execute("INSERT INTO notification_settings (user_id, webhook_reminders) VALUES (%s, false)", (alice,))
    add_webhook(pg, alice, receiver.url + "/reminders", ["task-due-soon"])
    start_deliver()
    wanted = event_for(alice, 1, "task-completed")
    produce(
        bootstrap,
        [
            event_for(alice, 1, "task-created"),
            event_for(alice, 1, "task-due-soon"),  # the user turned webhook reminders off
            event_for(bob, 2, "task-completed"),  # bob has no webhook
            wanted,
        ],
    )
    wait_until(lambda: len(receiver.snapshot()) >= 1, 60, "the subscribed event")
    time.sleep(2)  # room for anything that should not arrive
    assert [h.event["event_id"] for h in receiver.snapshot()] == [wanted["event_id"]]
    assert [r["event_id"] for r in deliveries(pg)] == [UUID(wanted["event_id"])]


def test_receiver_down_then_503_then_up_loses_nothing_and_keeps_delivery_ids(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    subscribed: Subscribe,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    healthy = {"up": False}
    receiver, [user] = subscribed(lambda hit: (200, {}) if healthy["up"] else (503, {}), listening=False)
    start_deliver()
    events = [event_for(user.user_id, i) for i in range(1, 21)]
    produce(bootstrap, events)

    # Connection refused: every delivery is retried with its error recorded.
    wait_until(
        lambda: len(rows := deliveries(pg)) == 20 and all(r["attempts"] >= 2 for r in rows), 60, "refused retries"
    )
    assert all("ConnectError" in (r["last_error"] or "") and r["state"] == "pending" for r in deliveries(pg))
    # Up, but answering 503 for a while.
    receiver.listen()
    wait_until(lambda: len(receiver.snapshot()) >= 40, 60, "503 answers")
    assert all(r["state"] == "pending" for r in deliveries(pg))
    assert any(r["last_status_code"] == 503 for r in deliveries(pg))
    healthy["up"] = True

    wait_until(all_delivered(pg, 20), 60, "every delivery once the receiver is healthy")
    hits = receiver.snapshot()
    ids = ids_by_event(hits)
    assert set(ids) == {e["event_id"] for e in events}  # no loss
    assert all(len(v) == 1 for v in ids.values())  # every retry carried the delivery's one id
    rows = {str(r["event_id"]): r for r in deliveries(pg)}
    assert all(ids[e] == {str(rows[e]["id"])} for e in ids)


def test_retry_after_is_honoured(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    subscribed: Subscribe,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    answers = iter([(429, {"Retry-After": "3"})])
    receiver, [user] = subscribed(lambda hit: next(answers, (200, {})))
    start_deliver()
    produce(bootstrap, [event_for(user.user_id, 1)])
    wait_until(all_delivered(pg, 1), 60, "the delivery after its Retry-After")
    first, second = receiver.snapshot()
    # Without Retry-After the retry would come after 0.1-0.2 s (DELIVERY_RETRY_BASE_SECONDS=0.2).
    assert second.at - first.at >= 2.9
    assert first.headers["x-todoflow-delivery"] == second.headers["x-todoflow-delivery"]


def _dead_letters(bootstrap: str, delivery_ids: set[str], timeout: float = 30) -> list[dict[str, Any]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"dl-{time.monotonic_ns()}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([DEAD_LETTER_TOPIC])
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and set(found) != delivery_ids:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            document = json.loads(message.value())
            if document["delivery_id"] in delivery_ids:
                found[document["delivery_id"]] = document
    finally:
        consumer.close()
    return list(found.values())


def test_other_4xx_fails_at_once_goes_to_dead_letters_and_20_failures_deactivate(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    subscribed: Subscribe,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    receiver, [user] = subscribed(lambda hit: (410, {}))
    start_deliver()
    events = [event_for(user.user_id, i) for i in range(1, 21)]
    produce(bootstrap, events)
    wait_until(lambda: len(receiver.snapshot()) >= 20, 60, "20 attempts")
    wait_until(lambda: all(r["state"] == "failed" for r in deliveries(pg)), 20, "20 failures recorded")
    rows = deliveries(pg)
    assert len(rows) == 20 and all(r["attempts"] == 1 and r["last_status_code"] == 410 for r in rows)
    assert len(receiver.snapshot()) == 20  # never retried

    active, failures, reason = pg.execute(
        "SELECT active, consecutive_failures, deactivated_reason FROM webhooks WHERE id = %s", (user.webhook_id,)
    ).fetchone()
    assert (active, failures) == (False, 20) and "20 consecutive failed deliveries" in reason
    notices = pg.execute("SELECT kind, message FROM notifications WHERE user_id = %s", (user.user_id,)).fetchall()
    assert len(notices) == 1 and notices[0][0] == "webhook-deactivated" and receiver.url in notices[0][1]

    letters = _dead_letters(bootstrap, {str(r["id"]) for r in rows})
    assert len(letters) == 20
    assert all(
        d["last_status_code"] == 410 and d["event"]["event_id"] in {e["event_id"] for e in events} for d in letters
    )
    wait_until(lambda: all(r["dead_lettered_at"] is not None for r in deliveries(pg)), 10, "dead letters marked")

    # A deactivated webhook gets nothing more.
    produce(bootstrap, [event_for(user.user_id, 99)])
    time.sleep(2)
    assert len(receiver.snapshot()) == 20 and len(deliveries(pg)) == 20


def test_gives_up_after_the_retry_window(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    subscribed: Subscribe,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    _, [user] = subscribed(lambda hit: (500, {}))
    start_deliver(DELIVERY_MAX_AGE_SECONDS="3")
    produce(bootstrap, [event_for(user.user_id, 1)])
    wait_until(lambda: [r["state"] for r in deliveries(pg)] == ["failed"], 60, "the delivery to be given up")
    row = deliveries(pg)[0]
    assert row["attempts"] >= 3 and row["last_error"].startswith("gave up after") and "HTTP 500" in row["last_error"]
    assert len(_dead_letters(bootstrap, {str(row["id"])})) == 1


def test_private_and_loopback_targets_refused_at_delivery_when_not_allowed(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    receivers: Callable[..., Receiver],
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    receiver = receivers()
    user = add_user(pg)
    # Rows as they could be after a DNS change: the API checked them once, the service must check again.
    add_webhook(pg, user, f"https://127.0.0.1:{receiver.port}/hook")
    add_webhook(pg, user, f"https://localhost:{receiver.port}/hook")
    add_webhook(pg, user, receiver.url)  # plain http is refused too
    start_deliver(WEBHOOK_ALLOW_PRIVATE_TARGETS="false")
    produce(bootstrap, [event_for(user, 1)])
    wait_until(lambda: len(rows := deliveries(pg)) == 3 and all(r["state"] == "failed" for r in rows), 60, "refusals")
    errors = sorted(r["last_error"] for r in deliveries(pg))
    assert errors == [
        "refused target: url must use https",
        "refused target: url resolves to a loopback address (127.0.0.1)",
        "refused target: url resolves to a loopback address (127.0.0.1)",
    ]
    assert receiver.snapshot() == []


def test_ping_from_the_api_is_delivered_signed(
    pg: psycopg.Connection[Any],
    receivers: Callable[..., Receiver],
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    from todoflow.api import create_app

    client = create_app({"WEBHOOK_ALLOW_PRIVATE_TARGETS": True}).test_client()
    receiver = receivers()
    start_deliver()
    account = {"email": "pinger@example.com", "password": "correct horse battery"}
    assert client.post("/api/auth/register", json=account).status_code == 201
    headers = {"Authorization": "Bearer " + client.post("/api/auth/login", json=account).get_json()["access_token"]}
    created = client.post("/api/webhooks", json={"url": receiver.url, "events": ["task-created"]}, headers=headers)
    assert created.status_code == 201, created.get_json()
    hook = created.get_json()
    queued = client.post(f"/api/webhooks/{hook['id']}/ping", headers=headers).get_json()
    wait_until(lambda: len(receiver.snapshot()) == 1, 30, "the ping")
    hit = receiver.snapshot()[0]
    assert hit.headers["x-todoflow-event"] == "ping" and hit.headers["x-todoflow-delivery"] == queued["id"]
    assert hit.event["event_type"] == "ping" and hit.event["data"]["webhook_id"] == hook["id"]
    assert verify(hook["secret"], hit.headers, hit.body)

    def listed_delivered() -> bool:
        items = client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=headers).get_json()["items"]
        return [(i["id"], i["state"], i["attempts"], i["last_status_code"]) for i in items] == [
            (queued["id"], "delivered", 1, 200)
        ]

    wait_until(listed_delivered, 10, "the ping delivery listed as delivered")
