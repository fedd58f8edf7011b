"""Priority levels in SQL (seeded by the first migration; read-only for the API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.orm import Session

from todoflow.core.models import Priority

priorities = cast(Table, Priority.__table__)

ALL = select(priorities.c.id, priorities.c.name, priorities.c.level).order_by(priorities.c.level)


def all_levels(session: Session) -> Sequence[RowMapping]:
    """Every priority, least urgent first."""
    return session.execute(ALL).mappings().all()
