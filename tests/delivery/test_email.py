"""Reminder emails: a task due tomorrow, the sweep, the relay, the delivery service, a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.delivery.support import DeliverProcess, add_user, deliveries, event_for, produce
from tests.events.support import RelayProcess, relay_environment
from tests.support import StatsdListener, wait_until
from todoflow.jobs.sweep import sweep
from todoflow_dev.devstack import mail


@pytest.fixture
def relay(clean_db: str, bootstrap: str, statsd_listener: StatsdListener, tmp_path: Path) -> Iterator[RelayProcess]:
    process = RelayProcess(relay_environment(clean_db, bootstrap, statsd_listener.port), tmp_path / "relay.log")
    process.wait_active()
    yield process
    process.kill()


def _task(pg: psycopg.Connection[Any], user: str, title: str, due: date) -> int:
    row = pg.execute(
        "INSERT INTO tasks (user_id, title, due_date) VALUES (%s, %s, %s) RETURNING id", (user, title, due)
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_task_due_tomorrow_is_emailed_once_and_not_when_disabled(
    pg: psycopg.Connection[Any],
    clean_db: str,
    smtp: tuple[int, Path],
    relay: RelayProcess,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    port, maildir = smtp
    alice = add_user(pg, "alice@example.com")
    bob = add_user(pg, "bob@example.com")
    pg.execute("INSERT INTO notification_settings (user_id, email_reminders) VALUES (%s, false)", (bob,))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    _task(pg, alice, "Dentist <3pm>", tomorrow)
    _task(pg, bob, "Gym", tomorrow)
    start_deliver(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_FROM="todoflow <reminders@todoflow.test>")

    result = sweep(clean_db, datetime.now(UTC), timedelta(hours=24))
    assert result.events == 2

    wait_until(lambda: len(mail.messages(maildir)) >= 1, 60, "the reminder in the SMTP server")
    # Both events reached the service (recorded as consumed) before we look for what must not be there.
    wait_until(
        lambda: pg.execute("SELECT count(*) FROM consumed_events").fetchone()[0] >= 2, 30, "both reminders consumed"
    )
    time.sleep(1)
    messages = mail.messages(maildir)
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "alice@example.com" and message["X-RcptTo"] == "alice@example.com"
    assert message["Subject"] == f"Reminder: Dentist <3pm> is due {tomorrow.isoformat()}"
    assert message["From"] == "todoflow <reminders@todoflow.test>"
    notification_id = pg.execute("SELECT id FROM notifications WHERE user_id = %s", (alice,)).fetchone()[0]
    assert message["Message-ID"] == f"<reminder-{notification_id}@todoflow.test>"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and "Dentist <3pm>" in plain.get_content()
    assert rich is not None and "Dentist &lt;3pm&gt;" in rich.get_content()
    emails = deliveries(pg, "email")
    assert [(r["state"], r["attempts"]) for r in emails] == [("delivered", 1)]
    assert pg.execute("SELECT count(*) FROM deliveries WHERE user_id = %s", (bob,)).fetchone()[0] == 0


def test_smtp_down_then_up_sends_one_message_with_the_reminders_message_id(
    pg: psycopg.Connection[Any],
    bootstrap: str,
    tmp_path: Path,
    start_deliver: Callable[..., DeliverProcess],
) -> None:
    port, maildir = mail.free_port(), tmp_path / "late-mail"
    user = add_user(pg, "carol@example.com")
    start_deliver(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port))
    event = event_for(user, 7, "task-due-soon")
    produce(bootstrap, [event, event])  # a redelivered event is still one reminder

    wait_until(lambda: [r["attempts"] >= 2 for r in deliveries(pg, "email")] == [True], 60, "retries while down")
    assert "Connection refused" in deliveries(pg, "email")[0]["last_error"]
    server = mail.controller(maildir, port)
    server.start()
    try:
        wait_until(lambda: [r["state"] for r in deliveries(pg, "email")] == ["delivered"], 60, "the delivery")
        time.sleep(1)
        messages = mail.messages(maildir)
    finally:
        server.stop()
    assert len(messages) == 1
    assert messages[0]["Message-ID"] == f"<reminder-{event['data']['notification_id']}@todoflow.localhost>"
    assert messages[0]["X-Todoflow-Delivery"] == str(deliveries(pg, "email")[0]["id"])
