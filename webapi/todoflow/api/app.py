"""The application factory."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

from todoflow.api import config as api_config
from todoflow.api import (
    errors,
    login_gate,
    login_limit,
    password_work,
    request_checks,
    request_metrics,
    security_headers,
    tokens,
)
from todoflow.api.extensions import db
from todoflow.api.openapi import FieldDocs, complete_spec
from todoflow.api.resources import (
    auth,
    notification_settings,
    notifications,
    ops,
    priorities,
    recurring_tasks,
    tasks,
    webhooks,
)
from todoflow.api.resources import docs as docs_page
from todoflow.api.schemas.common import Error

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def create_app(config: dict[str, Any] | None = None) -> APIFlask:
    """The API as a WSGI app: configuration from the environment, then config's entries on top."""
    app = APIFlask(
        "todoflow.api",
        title="todoflow API",
        version="1.0.0",
        spec_path="/openapi.json",
        docs_path=None,  # resources/docs.py serves /docs from a pinned package
        static_folder=None,  # type: ignore[arg-type]
    )
    app.config.update(api_config.load(config))
    app.config["HTTP_ERROR_SCHEMA"] = Error
    app.config["VALIDATION_ERROR_SCHEMA"] = Error
    app.json.sort_keys = False  # type: ignore[attr-defined]

    db.init_app(app)
    tokens.init_app(app)
    errors.init_app(app)
    request_metrics.init_app(app)
    app.before_request(_require_json_body)
    for blueprint in (ops.bp, auth.bp, priorities.bp, tasks.bp, recurring_tasks.bp, notifications.bp):
        app.register_blueprint(blueprint)
    for blueprint in (webhooks.bp, notification_settings.bp):
        app.register_blueprint(blueprint)
    # Issue 11 hardening: query and JSON checks before every view, security headers on every response, /docs.
    app.before_request(request_checks.check_query)
    app.before_request(request_checks.check_json_numbers)
    security_headers.init_app(app)
    app.register_blueprint(docs_page.bp)
    password_work.init_app(app)
    login_limit.init_app(app)
    # Inside ProxyFix (below), so the gate sees the client address the trusted proxies forwarded.
    app.wsgi_app = login_gate.LoginGate(  # type: ignore[method-assign]
        app.wsgi_app, app.extensions[password_work.EXTENSION], app.extensions[login_limit.EXTENSION]
    )
    if app.config["TRUSTED_PROXIES"]:
        # The client address is what the trusted proxies appended to X-Forwarded-For, never what a client sent.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])  # type: ignore[method-assign]
    app.spec_processor(complete_spec(app))  # type: ignore[arg-type]
    app.spec_plugins.append(FieldDocs())
    return app


def _require_json_body() -> None:
    """415 for a request body that is not declared as JSON (webargs would otherwise ignore it)."""
    if request.method in BODY_METHODS and _has_body() and not request.is_json:
        raise errors.api_error(
            415, "unsupported_media_type", "request body must be JSON (Content-Type: application/json)"
        )


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()
