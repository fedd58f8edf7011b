"""Webhooks and their deliveries."""

from __future__ import annotations

from apiflask import Schema
from marshmallow import ValidationError, fields, validate

from todoflow.api.fields import Text
from todoflow.api.schemas.common import PageQuery, Partial, Stamped, page_of
from todoflow.api.schemas.notification_settings import JsonBoolean
from todoflow.core.events import TOPICS
from todoflow.core.models import DELIVERY_STATES
from todoflow.delivery.targets import MAX_URL_LENGTH


def _unique(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Must not repeat an event type.")


class WebhookIn(Schema):
    """A new webhook: URL, event types and description."""

    url = Text(
        required=True,
        validate=validate.Length(min=1, max=MAX_URL_LENGTH),
        metadata={"description": "https URL that receives POSTs; must not resolve to an internal address"},
    )
    events = fields.List(
        Text(validate=validate.OneOf(TOPICS)),
        required=True,
        validate=[validate.Length(min=1, max=len(TOPICS)), _unique],
        metadata={"description": "event types to receive (at least one)"},
    )
    description = Text(
        load_default="", validate=validate.Length(max=500), metadata={"description": "at most 500 characters"}
    )


class WebhookPatch(Partial, WebhookIn):
    """Only the fields present change; active=true re-activates a deactivated webhook."""

    active = JsonBoolean()


class WebhookOut(Stamped):
    """A webhook as the API shows it (never its secret)."""

    id = fields.UUID(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(metadata={"enum": list(TOPICS)}), required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    consecutive_failures = fields.Integer(required=True)
    deactivated_reason = fields.String(required=True, allow_none=True)


class WebhookWithSecret(WebhookOut):
    """A webhook with its signing secret: only in the answers to create and rotate-secret."""

    secret = fields.String(required=True, metadata={"description": "HMAC-SHA256 key; shown only here"})


class WebhookItem(WebhookOut):
    """A webhook in a list."""


class WebhookList(Schema):
    """Every webhook of a user."""

    items = fields.List(fields.Nested(WebhookItem), required=True)


class DeliveryQuery(PageQuery):
    """A page of a webhook's deliveries, optionally in one state."""

    state = Text(validate=validate.OneOf(DELIVERY_STATES))


class DeliveryOut(Schema):
    """One delivery of an event to a webhook."""

    id = fields.UUID(required=True, metadata={"description": "the X-Todoflow-Delivery id, the same on every retry"})
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": list(DELIVERY_STATES)})
    attempts = fields.Integer(required=True)
    last_status_code = fields.Integer(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(required=True, allow_none=True)


DeliveryPage = page_of(DeliveryOut, "Delivery")
