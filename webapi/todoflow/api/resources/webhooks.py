"""Webhooks: signed task events sent to users' own HTTPS endpoints by the delivery service."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint
from flask import current_app
from flask_jwt_extended import jwt_required
from marshmallow import RAISE

from todoflow.api import errors, webhook_store
from todoflow.api.domain_errors import NotFound, found
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
from todoflow.delivery.config import allow_private_targets
from todoflow.delivery.targets import Unresolvable, UnsafeTarget, check_webhook_url

bp = APIBlueprint("webhooks", __name__, url_prefix="/api/webhooks", tag="Webhooks")


def _check_target(url: str) -> None:
    """400 naming the url when the delivery service would refuse to reach it (see delivery/targets.py)."""
    configured = current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")
    allow = allow_private_targets() if configured is None else bool(configured)
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
@jwt_required()
@bp.input(WebhookIn, arg_name="data")
@output(bp, WebhookWithSecret, status_code=201)
def create_webhook(data: dict[str, Any]) -> Any:
    _check_target(data["url"])
    row = webhook_store.create(db.session, current_user_id(), data)
    db.session.commit()
    return row


@bp.get("")
@operation(bp, "List your webhooks")
@jwt_required()
@output(bp, WebhookList)
def list_webhooks() -> Any:
    return {"items": webhook_store.list_all(db.session, current_user_id())}


@bp.get("/<uuid:wid>")
@operation(bp, "Get a webhook")
@jwt_required()
@output(bp, WebhookOut)
def get_webhook(wid: uuid.UUID) -> Any:
    return found(webhook_store.get(db.session, current_user_id(), wid), "webhook")


@bp.patch("/<uuid:wid>")
@operation(bp, "Change a webhook", body=True, description="url, events, description, active (true re-activates).")
@jwt_required()
@bp.input(WebhookPatch, arg_name="data")
@output(bp, WebhookOut)
def update_webhook(wid: uuid.UUID, data: dict[str, Any]) -> Any:
    found(webhook_store.get(db.session, current_user_id(), wid), "webhook")
    if "url" in data:
        _check_target(data["url"])
    row = found(webhook_store.change(db.session, current_user_id(), wid, data), "webhook")
    db.session.commit()
    return row


@bp.delete("/<uuid:wid>")
@operation(bp, "Delete a webhook", description="Its pending deliveries are dropped.")
@jwt_required()
@bp.output({}, status_code=204)
def delete_webhook(wid: uuid.UUID) -> Any:
    if not webhook_store.remove(db.session, current_user_id(), wid):
        raise NotFound("no such webhook")
    db.session.commit()
    return ""


@bp.post("/<uuid:wid>/rotate-secret")
@operation(bp, "Replace the signing secret", description="Deliveries from now on are signed with the new secret.")
@jwt_required()
@output(bp, WebhookWithSecret)
def rotate_webhook_secret(wid: uuid.UUID) -> Any:
    row = found(webhook_store.rotate_secret(db.session, current_user_id(), wid), "webhook")
    db.session.commit()
    return row


@bp.post("/<uuid:wid>/ping")
@operation(bp, "Send a ping delivery now", description="Queued for the delivery service, which is woken at once.")
@jwt_required()
@output(bp, DeliveryOut, status_code=202)
def ping_webhook(wid: uuid.UUID) -> Any:
    row = found(webhook_store.ping(db.session, current_user_id(), wid), "webhook")
    db.session.commit()
    return row


@bp.get("/<uuid:wid>/deliveries")
@operation(bp, "The webhook's deliveries, newest first")
@jwt_required()
@bp.input(DeliveryQuery, location="query", arg_name="query", unknown=RAISE)
@output(bp, DeliveryPage)
def list_deliveries(wid: uuid.UUID, query: dict[str, Any]) -> Any:
    found(webhook_store.get(db.session, current_user_id(), wid), "webhook")
    return webhook_store.delivery_page(db.session, wid, query)
