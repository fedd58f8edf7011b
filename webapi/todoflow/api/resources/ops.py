"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from marshmallow import fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from todoflow.api import errors
from todoflow.api.extensions import db
from todoflow.api.openapi import operation

bp = APIBlueprint("ops", __name__, tag="Operations")


@bp.get("/health")
@operation(bp, "Liveness: the process answers (touches nothing)", auth=False)
@bp.doc(operation_id="getHealth")
@bp.output({"status": fields.String(required=True)}, schema_name="Health")
def health() -> Any:
    """Answer that the process is alive."""
    return {"status": "ok"}


@bp.get("/ready")
@operation(bp, "Readiness: the database answers", auth=False, errors={503: "The database is unreachable"})
@bp.doc(operation_id="getReadiness")
@bp.output({"status": fields.String(required=True)}, schema_name="Ready")
def ready() -> Any:
    """Answer ready once the database answers, 503 while it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise errors.api_error(503, "unavailable", "the database is unreachable") from exc
    return {"status": "ready"}
