"""The REST API (APIFlask + flask-jwt-extended): `create_app()` builds it, gunicorn serves it."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so the dev stack can import todoflow_dev.devstack.api without loading Flask.
    if name == "create_app":
        from todoflow.api.app import create_app

        return create_app
    raise AttributeError(name)
