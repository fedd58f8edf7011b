"""Webhooks: signed task events sent to users' own HTTPS endpoints by the delivery service."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint
from flask import current_app

from todoflow.api import errors, webhook_store
from todoflow.api.domain_errors import found
from todoflow.api.extensions import db
from todoflow.api.resources import deleted, endpoint
from todoflow.api.schemas.webhooks import (
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookPatch,
    WebhookWithSecret,
)
from todoflow.api.tokens import current_user_id
from todoflow.core.settings import WebhookSettings
from todoflow.delivery.targets import Unresolvable, UnsafeTarget, check_webhook_url

DROPS_PENDING = "Its pending deliveries are dropped."

bp = APIBlueprint("webhooks", __name__, url_prefix="/api/webhooks", tag="Webhooks")


def _check_target(url: str) -> None:
    """400 naming the url when the delivery service would refuse to reach it (see delivery/targets.py)."""
    configured = current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")
    allow = WebhookSettings().allow_private_targets if configured is None else bool(configured)
    try:
        check_webhook_url(url, allow)
    except (UnsafeTarget, Unresolvable) as exc:
        raise errors.api_error(400, "unsafe_url", str(exc), {"json": {"url": [str(exc)]}}) from None


@endpoint(
    bp,
    "POST",
    "",
    "Create a webhook",
    description="The answer holds the signing secret; it is never shown again (rotate it to get a new one).",
    errors={409: f"You already have {webhook_store.MAX_WEBHOOKS_PER_USER} webhooks"},
    out=WebhookWithSecret,
    status_code=201,
    body=WebhookIn,
    operation_id="createWebhook",
)
def create_webhook(data: dict[str, Any]) -> Any:
    """Create a webhook to a URL the delivery service may reach."""
    _check_target(data["url"])
    row = webhook_store.create(db.session, current_user_id(), data)
    db.session.commit()
    return row


@endpoint(bp, "GET", "", "List your webhooks", out=WebhookList, operation_id="listWebhooks")
def list_webhooks() -> Any:
    """Answer every webhook of the current user."""
    return {"items": webhook_store.list_all(db.session, current_user_id())}


@endpoint(bp, "GET", "/<uuid:wid>", "Get a webhook", out=WebhookOut, operation_id="getWebhook")
def get_webhook(wid: uuid.UUID) -> Any:
    """Answer one of the current user's webhooks."""
    return found(webhook_store.get(db.session, current_user_id(), wid), "webhook")


@endpoint(
    bp,
    "PATCH",
    "/<uuid:wid>",
    "Change a webhook",
    description="url, events, description, active (true re-activates).",
    out=WebhookOut,
    body=WebhookPatch,
    operation_id="updateWebhook",
)
def update_webhook(wid: uuid.UUID, data: dict[str, Any]) -> Any:
    """Change the given fields of a webhook."""
    found(webhook_store.get(db.session, current_user_id(), wid), "webhook")
    if "url" in data:
        _check_target(data["url"])
    row = found(webhook_store.change(db.session, current_user_id(), wid, data), "webhook")
    db.session.commit()
    return row


@endpoint(
    bp,
    "DELETE",
    "/<uuid:wid>",
    "Delete a webhook",
    status_code=204,
    description=DROPS_PENDING,
    operation_id="deleteWebhook",
)
def delete_webhook(wid: uuid.UUID) -> Any:
    """Delete a webhook and its deliveries."""
    return deleted(webhook_store.remove(db.session, current_user_id(), wid), "webhook")


@endpoint(
    bp,
    "POST",
    "/<uuid:wid>/rotate-secret",
    "Replace the signing secret",
    description="Deliveries from now on are signed with the new secret.",
    out=WebhookWithSecret,
    operation_id="rotateWebhookSecret",
)
def rotate_webhook_secret(wid: uuid.UUID) -> Any:
    """Give a webhook a new signing secret and answer it."""
    row = found(webhook_store.rotate_secret(db.session, current_user_id(), wid), "webhook")
    db.session.commit()
    return row


@endpoint(
    bp,
    "POST",
    "/<uuid:wid>/ping",
    "Send a ping delivery now",
    description="Queued for the delivery service, which is woken at once.",
    out=DeliveryOut,
    status_code=202,
    operation_id="pingWebhook",
)
def ping_webhook(wid: uuid.UUID) -> Any:
    """Queue a ping delivery to a webhook."""
    row = found(webhook_store.ping(db.session, current_user_id(), wid), "webhook")
    db.session.commit()
    return row


@endpoint(
    bp,
    "GET",
    "/<uuid:wid>/deliveries",
    "The webhook's deliveries, newest first",
    out=DeliveryPage,
    query=DeliveryQuery,
    operation_id="listWebhookDeliveries",
)
def list_deliveries(wid: uuid.UUID, query: dict[str, Any]) -> Any:
    """Answer one page of a webhook's deliveries."""
    found(webhook_store.get(db.session, current_user_id(), wid), "webhook")
    return webhook_store.delivery_page(db.session, wid, query)
