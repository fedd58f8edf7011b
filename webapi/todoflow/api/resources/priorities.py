"""Priority levels."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from todoflow.api import priority_store
from todoflow.api.extensions import db
from todoflow.api.resources import endpoint
from todoflow.api.schemas.priorities import PriorityList

bp = APIBlueprint("priorities", __name__, url_prefix="/api/priorities", tag="Priorities")


@endpoint(bp, "GET", "", "The priority levels, least urgent first", out=PriorityList, operation_id="listPriorities")
def list_priorities() -> Any:
    """Answer every priority level."""
    return {"items": priority_store.all_levels(db.session)}
