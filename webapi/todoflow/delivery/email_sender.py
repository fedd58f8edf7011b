"""Reminder emails over SMTP (smtplib): plain text and HTML, a stable Message-ID per reminder."""

from __future__ import annotations

import html
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from todoflow.core.settings import SmtpSettings
from todoflow.delivery import policy


def message_id(payload: dict[str, Any], delivery_id: str, from_address: str) -> str:
    """The reminder's Message-ID, <reminder-<notification id>@<sender domain>>.

    It is the same for every retry and every redelivery of the reminder, so a mail client shows one message even
    when the SMTP answer was lost and we sent it twice.
    """
    reminder = payload.get("data", {}).get("notification_id") or delivery_id
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "todoflow.localhost"
    return f"<reminder-{reminder}@{domain}>"


def build(payload: dict[str, Any], to: str, delivery_id: str, from_address: str) -> EmailMessage:
    """The reminder for a task-due-soon event."""
    data = payload["data"]
    title, due = str(data["title"]), str(data["due_date"])
    msg = EmailMessage()
    msg["Subject"] = f"Reminder: {title} is due {due}"
    msg["From"] = from_address
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(payload, delivery_id, from_address)
    msg["X-Todoflow-Delivery"] = delivery_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(f'Your task "{title}" is due on {due}.\n\nTask #{data["task_id"]} in todoflow.\n')
    msg.add_alternative(
        f"<html><body><p>Your task <strong>{html.escape(title)}</strong> is due on "
        f"<strong>{html.escape(due)}</strong>.</p><p>Task #{int(data['task_id'])} in todoflow.</p></body></html>",
        subtype="html",
    )
    return msg


def _connect(config: SmtpSettings) -> smtplib.SMTP:
    if config.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if config.username:
        client.login(config.username, config.password)
    return client


def send(config: SmtpSettings, payload: dict[str, Any], to: str, delivery_id: str) -> policy.Outcome:
    """Send one reminder; SMTP 4xx and connection problems are retried, 5xx fail at once."""
    started = time.monotonic()
    try:
        msg = build(payload, to, delivery_id, config.from_address)
        with _connect(config) as client:
            client.send_message(msg)
        outcome = policy.Outcome(policy.DELIVERED, 250)
    except smtplib.SMTPRecipientsRefused as exc:
        code = min((c for c, _ in exc.recipients.values()), default=550)
        kind = policy.RETRY if 400 <= code < 500 else policy.FAILED
        outcome = policy.Outcome(kind, code, f"SMTP recipient refused: {exc.recipients}"[:500])
    except smtplib.SMTPResponseException as exc:
        kind = policy.RETRY if 400 <= exc.smtp_code < 500 else policy.FAILED
        outcome = policy.Outcome(kind, exc.smtp_code, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500])
    except (smtplib.SMTPException, OSError) as exc:
        outcome = policy.Outcome(policy.RETRY, None, f"SMTP {type(exc).__name__}: {exc}"[:500])
    except (KeyError, TypeError, ValueError) as exc:
        outcome = policy.Outcome(policy.FAILED, None, f"cannot build the reminder: {exc}"[:500])
    return policy.Outcome(
        outcome.kind, outcome.status_code, outcome.error, outcome.retry_after, time.monotonic() - started
    )
