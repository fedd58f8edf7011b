"""Priority levels."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required

from todoflow.api import priority_store
from todoflow.api.dump import output
from todoflow.api.extensions import db
from todoflow.api.openapi import operation
from todoflow.api.schemas.priorities import PriorityList

bp = APIBlueprint("priorities", __name__, url_prefix="/api/priorities", tag="Priorities")


@bp.get("")
@operation(bp, "The priority levels, least urgent first")
@jwt_required()
@output(bp, PriorityList)
def list_priorities() -> Any:
    return {"items": priority_store.all_levels(db.session)}
