"""Every error the API answers, in one shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from apiflask import APIFlask, HTTPError
from flask import Response, jsonify, request
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from todoflow.api import domain_errors

log = logging.getLogger(__name__)

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

MESSAGES = {
    404: "no such resource",
    413: "request body is larger than 1 MiB",
    415: "request body must be JSON (Content-Type: application/json)",
}

# Constraint violations that a request can cause, as (status, code, message, field).
CONSTRAINTS = {
    "fk_tasks_priority_id_priorities": (400, "validation_error", "unknown priority", "priority_id"),
    "fk_recurring_tasks_priority_id_priorities": (400, "validation_error", "unknown priority", "priority_id"),
    "ck_recurring_tasks_end_after_start": (
        400,
        "validation_error",
        "end_date must not be before start_date",
        "end_date",
    ),
    "uq_users_email": (409, "email_taken", "an account with this email already exists", None),
    "fk_tasks_user_id_users": (401, "unknown_user", "the token's user no longer exists", None),
    "fk_recurring_tasks_user_id_users": (401, "unknown_user", "the token's user no longer exists", None),
    "fk_webhooks_user_id_users": (401, "unknown_user", "the token's user no longer exists", None),
    "fk_notification_settings_user_id_users": (401, "unknown_user", "the token's user no longer exists", None),
}


def body(status: int, code: str | None = None, message: str | None = None, details: Any = None) -> dict[str, Any]:
    """The error document."""
    return {
        "error": {
            "code": code or DEFAULT_CODES.get(status, "error"),
            "message": message or MESSAGES.get(status) or DEFAULT_CODES.get(status, "error").replace("_", " "),
            "details": details if isinstance(details, dict) else ({} if details is None else {"errors": details}),
        }
    }


def response(
    status: int,
    code: str | None = None,
    message: str | None = None,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON error response."""
    resp = jsonify(body(status, code, message, details))
    resp.status_code = status
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def api_error(
    status: int,
    code: str | None = None,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPError:
    """An exception that ends the request with this error (raise it)."""
    return HTTPError(status, message, details, headers, {"code": code or DEFAULT_CODES.get(status, "error")})


def validation(field: str, message: str) -> HTTPError:
    """A 400 naming one invalid field of the JSON body."""
    return api_error(400, "validation_error", "Validation error", {"json": {field: [message]}})


# The status of each domain refusal (the first match along the exception's class hierarchy).
DOMAIN_STATUS: dict[type[domain_errors.DomainError], int] = {
    domain_errors.NotFound: 404,
    domain_errors.BadCursor: 400,
    domain_errors.Invalid: 400,
    domain_errors.UnknownUser: 401,
    domain_errors.RetryLater: 429,
    domain_errors.Conflict: 409,
    domain_errors.DomainError: 409,
}


def _domain_error(exc: domain_errors.DomainError) -> Response:
    status = next(DOMAIN_STATUS[kind] for kind in type(exc).__mro__ if kind in DOMAIN_STATUS)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, domain_errors.RetryLater) else None
    return response(status, exc.code, exc.message, exc.details, headers)


def _http_error(error: HTTPError) -> Response:
    code = error.extra_data.get("code") if error.extra_data else None
    if error.status_code == 400 and code is None:
        code = "validation_error"
    message = error.message if code else None
    return response(error.status_code, code, message, error.detail or None, dict(error.headers or {}))  # type: ignore[arg-type]


def _werkzeug_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    if status == 400 and getattr(exc, "exc", None) is not None:
        # webargs aborts this way when the body does not parse as JSON.
        return response(400, "malformed_json", "request body is not valid JSON")
    message = MESSAGES.get(status)
    if status == 405:
        message = f"method {request.method} is not allowed here"
    return response(status, None, message or exc.description, None, headers)


def _recursion(_exc: RecursionError) -> Response:
    # Only a pathologically nested JSON document recurses this deep.
    return response(400, "malformed_json", "request body is nested too deeply")


def _integrity(exc: IntegrityError) -> Response:
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if constraint in CONSTRAINTS:
        status, code, message, field = CONSTRAINTS[constraint]
        return response(status, code, message, {"json": {field: [message]}} if field else None)
    log.warning("unmapped integrity error: %s", exc.orig)
    return response(409, "conflict", "the change conflicts with the current state")


def _data_error(exc: DataError) -> Response:
    log.warning("data error from a request: %s", exc.orig)
    return response(400, "bad_request", "a value is out of range")


def _unavailable(exc: OperationalError) -> Response:
    log.error("database unavailable: %s", exc.orig)
    return response(503, "unavailable", "the database is unavailable, retry later", headers={"Retry-After": "5"})


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return response(500, "internal_error", "internal error")


def init_app(app: APIFlask) -> None:
    """Route every error of app through this module."""
    app.error_processor(_http_error)
    app.register_error_handler(HTTPException, _werkzeug_error)
    app.register_error_handler(domain_errors.DomainError, _domain_error)
    app.register_error_handler(RecursionError, _recursion)
    app.register_error_handler(IntegrityError, _integrity)
    app.register_error_handler(DataError, _data_error)
    app.register_error_handler(OperationalError, _unavailable)
    app.register_error_handler(Exception, _unexpected)
