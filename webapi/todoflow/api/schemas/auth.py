"""Accounts and tokens."""

from __future__ import annotations

from apiflask import Schema
from marshmallow import fields, validate

from todoflow.api.fields import EMAIL_MAX, Text, email_address, time_zone


class RegisterIn(Schema):
    """A new account: email, password and time zone."""

    email = Text(required=True, validate=email_address, metadata={"format": "email", "maxLength": EMAIL_MAX})
    password = Text(required=True, validate=validate.Length(min=8, max=256))
    timezone = Text(
        load_default="UTC",
        validate=time_zone(),
        metadata={"description": "IANA time zone of the user (default UTC); recurring tasks follow it"},
    )


class LoginIn(Schema):
    """Login credentials: email and password."""

    email = Text(required=True, validate=validate.Length(min=1, max=EMAIL_MAX))
    password = Text(required=True, validate=validate.Length(min=1, max=256))


class UserUpdateIn(Schema):
    """The user's changeable field: the time zone."""

    timezone = Text(required=True, validate=time_zone(), metadata={"description": "IANA time zone name"})


class UserOut(Schema):
    """A user as the API shows it (never the password hash)."""

    id = fields.UUID(required=True)
    email = fields.String(required=True)
    timezone = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class AccessTokenOut(Schema):
    """An access token and when it expires."""

    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"enum": ["Bearer"]})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds until the access token expires"})


class TokensOut(AccessTokenOut):
    """A login's access token and refresh token."""

    refresh_token = fields.String(required=True)
    refresh_expires_in = fields.Integer(required=True)
