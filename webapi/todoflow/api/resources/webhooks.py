"""Webhooks: signed task events sent to users' own HTTPS endpoints by the delivery service."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint
from flask import current_app
from flask_jwt_extended import jwt_required
from marshmallow import RAISE

from todoflow.api import errors, webhook_store
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation
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

bp = APIBlueprint("webhooks", __name__, url_prefix="/api/webhooks", tag="Webhooks")


def _found(row: Any) -> Any:
    if row is None:
        raise errors.not_found("webhook")
    return row


def _check_target(url: str) -> None:
    """400 naming the url when the delivery service would refuse to reach it (see delivery/targets.py)."""
    configured = current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")
    allow = WebhookSettings().allow_private_targets if configured is None else bool(configured)
    try:
        check_webhook_url(url, allow)
    except (UnsafeTarget, Unresolvable) as exc:
        raise errors.api_error(400, "unsafe_url", str(exc), {"json": {"url": [str(exc)]}}) from None


@bp.post("")
@operation(
    bp,
    "Create a webhook",
    body=True,
    description="The answer holds the signing secret; it is never shown again (rotate it to get a new one).",
    errors={409: f"You already have {webhook_store.MAX_WEBHOOKS_PER_USER} webhooks"},
)
@bp.doc(operation_id="createWebhook")
@jwt_required()
@bp.input(WebhookIn, arg_name="data")
@output(bp, WebhookWithSecret, status_code=201)
def create_webhook(data: dict[str, Any]) -> Any:
    _check_target(data["url"])
    try:
        row = webhook_store.create(db.session, current_user_id(), data)
    except webhook_store.WebhookLimit:
        raise errors.api_error(
            409, "webhook_limit", f"at most {webhook_store.MAX_WEBHOOKS_PER_USER} webhooks per user"
        ) from None
    db.session.commit()
    return row


@bp.get("")
@operation(bp, "List your webhooks")
@bp.doc(operation_id="listWebhooks")
@jwt_required()
@output(bp, WebhookList)
def list_webhooks() -> Any:
    return {"items": webhook_store.list_all(db.session, current_user_id())}


@bp.get("/<uuid:wid>")
@operation(bp, "Get a webhook")
@bp.doc(operation_id="getWebhook")
@jwt_required()
@output(bp, WebhookOut)
def get_webhook(wid: uuid.UUID) -> Any:
    return _found(webhook_store.get(db.session, current_user_id(), wid))


@bp.patch("/<uuid:wid>")
@operation(bp, "Change a webhook", body=True, description="url, events, description, active (true re-activates).")
@bp.doc(operation_id="updateWebhook")
@jwt_required()
@bp.input(WebhookPatch, arg_name="data")
@output(bp, WebhookOut)
def update_webhook(wid: uuid.UUID, data: dict[str, Any]) -> Any:
    _found(webhook_store.get(db.session, current_user_id(), wid))
    if "url" in data:
        _check_target(data["url"])
    row = _found(webhook_store.change(db.session, current_user_id(), wid, data))
    db.session.commit()
    return row


@bp.delete("/<uuid:wid>")
@operation(bp, "Delete a webhook", description="Its pending deliveries are dropped.")
@bp.doc(operation_id="deleteWebhook")
@jwt_required()
@bp.output({}, status_code=204)
def delete_webhook(wid: uuid.UUID) -> Any:
    if not webhook_store.remove(db.session, current_user_id(), wid):
        raise errors.not_found("webhook")
    db.session.commit()
    return ""


@bp.post("/<uuid:wid>/rotate-secret")
@operation(bp, "Replace the signing secret", description="Deliveries from now on are signed with the new secret.")
@bp.doc(operation_id="rotateWebhookSecret")
@jwt_required()
@output(bp, WebhookWithSecret)
def rotate_webhook_secret(wid: uuid.UUID) -> Any:
    row = _found(webhook_store.rotate_secret(db.session, current_user_id(), wid))
    db.session.commit()
    return row


@bp.post("/<uuid:wid>/ping")
@operation(bp, "Send a ping delivery now", description="Queued for the delivery service, which is woken at once.")
@bp.doc(operation_id="pingWebhook")
@jwt_required()
@output(bp, DeliveryOut, status_code=202)
def ping_webhook(wid: uuid.UUID) -> Any:
    row = _found(webhook_store.ping(db.session, current_user_id(), wid))
    db.session.commit()
    return row


@bp.get("/<uuid:wid>/deliveries")
@operation(bp, "The webhook's deliveries, newest first")
@bp.doc(operation_id="listWebhookDeliveries")
@jwt_required()
@bp.input(DeliveryQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, DeliveryPage)
def list_deliveries(wid: uuid.UUID, query: dict[str, Any]) -> Any:
    _found(webhook_store.get(db.session, current_user_id(), wid))
    return webhook_store.delivery_page(db.session, wid, query)
