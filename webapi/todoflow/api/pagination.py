"""One way to page a list: by cursor (keyset) or by offset, with the exact total only when asked for.

A list's order is a sequence of segments: rows of one segment share a condition (due_date IS NOT NULL,
priority_id = 3, ...) and are ordered by a tuple of key columns whose last one is unique (the id). A cursor
page reads segment by segment, each as one range of an index that starts with the owner and the keys, so it
costs the same at 200,000 rows as at 1,000. Offset pages (kept for compatibility) run the list's single
ordered statement. The cursor is opaque: URL-safe base64 of its position and of a fingerprint of the query it
was made for (scope, owner, sort, filters), signed with the app's secret; any other use answers 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, RowMapping, Select, bindparam, func, select, tuple_
from sqlalchemy.orm import Session

from todoflow.api.domain_errors import BadCursor

Key = ColumnElement[Any]


@dataclass(frozen=True, eq=False)
class Segment:
    """Rows matching where, ordered by keys (the last one unique); holds(row) says whether a row is one of them."""

    where: tuple[ColumnElement[bool], ...]
    keys: tuple[Key, ...]
    holds: Callable[[Mapping[Any, Any]], bool] = field(default=lambda _row: True)


@dataclass(frozen=True, eq=False)
class Order:
    """A list's order: its segments in sequence, the direction of every key, and the same order in one ORDER BY."""

    segments: tuple[Segment, ...]
    descending: bool
    order_by: tuple[Any, ...]


def by_keys(keys: Sequence[Key], descending: bool) -> Order:
    """Ordered by non-null keys, the last one unique."""
    return Order((Segment((), tuple(keys)),), descending, tuple(_directed(keys, descending)))


def equal_to(column: Key, value: Any, tie: Key) -> Segment:
    """The rows whose column is value (None: IS NULL), ordered by tie."""
    name = str(column.key)
    where = column.is_(None) if value is None else column == value
    return Segment((where,), (tie,), lambda row: row[name] == value)


def nulls_last(column: Key, tie: Key, descending: bool) -> Order:
    """Ordered by a nullable column, rows without a value last (in either direction), ties by `tie`."""
    name = str(column.key)
    present = Segment((column.is_not(None),), (column, tie), lambda row: row[name] is not None)
    absent = equal_to(column, None, tie)
    order_by = (direct(column, descending).nulls_last(), direct(tie, descending))
    return Order((present, absent), descending, order_by)


def direct(key: Key, descending: bool) -> Any:
    """The key ascending, or descending."""
    return key.desc() if descending else key.asc()


def _directed(keys: Sequence[Key], descending: bool) -> list[Any]:
    return [direct(key, descending) for key in keys]


def fingerprint(*parts: Any) -> str:
    """A short digest of what a cursor is bound to (scope, owner, sort and filter values)."""
    text = json.dumps(parts, default=str, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _mac(payload: bytes) -> bytes:
    secret = str(current_app.config["JWT_SECRET_KEY"]).encode()
    return hmac.new(secret, b"todoflow-cursor:" + payload, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(bound: str, segment: int, values: Sequence[Any]) -> str:
    """The signed cursor after a row at `values` in `segment`, for the query `bound` names."""
    payload = json.dumps([bound, segment, [_plain(v) for v in values]], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload))}"


def _typed(key: Key, value: Any) -> Any:
    kind = key.type.python_type
    if isinstance(value, str) and kind is datetime:
        return datetime.fromisoformat(value)
    if isinstance(value, str) and kind is date:
        return date.fromisoformat(value)
    if isinstance(value, str) and kind is uuid.UUID:
        return uuid.UUID(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a {kind.__name__}")
    return value


def decode_cursor(cursor: str, bound: str, order: Order) -> tuple[int, list[Any]]:
    """(segment, key values) of a cursor made for the query `bound` names; BadCursor otherwise."""
    try:
        encoded, _, signature = cursor.partition(".")
        payload = _unb64(encoded)
        valid = hmac.compare_digest(_unb64(signature), _mac(payload))
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise BadCursor("the cursor is not valid: pass back a next_cursor exactly as a list answered it")
    made_for, segment, values = json.loads(payload)
    if made_for != bound:
        raise BadCursor(
            "the cursor was made for another list: repeat the sort and filters of the request that answered it"
        )
    try:
        keys = order.segments[segment].keys
        if len(values) != len(keys):
            raise ValueError("wrong number of keys")
        return segment, [_typed(key, value) for key, value in zip(keys, values, strict=True)]
    except (IndexError, TypeError, ValueError) as exc:
        raise BadCursor("the cursor is not valid for this list") from exc


def _after(segment: Segment, descending: bool) -> ColumnElement[bool]:
    """Rows after the position bound as _key0, _key1, ... (a row comparison: one index range)."""
    position = [bindparam(f"_key{i}", type_=key.type) for i, key in enumerate(segment.keys)]
    if len(segment.keys) == 1:
        return segment.keys[0] < position[0] if descending else segment.keys[0] > position[0]
    row, values = tuple_(*segment.keys), tuple_(*position)
    return row < values if descending else row > values


@lru_cache(maxsize=1024)
def segment_statement(base: Select[Any], order: Order, index: int, after: bool) -> Select[Any]:
    """One segment's page statement, built once per list shape (orders and bases are module-level constants)."""
    segment = order.segments[index]
    where = [*segment.where, _after(segment, order.descending)] if after else list(segment.where)
    return base.where(*where).order_by(*_directed(segment.keys, order.descending)).limit(bindparam("_limit"))


def _cursor_after(row: Mapping[Any, Any], order: Order, bound: str, segment: int | None = None) -> str:
    if segment is None:
        segment = next(i for i, part in enumerate(order.segments) if part.holds(row))
    return encode_cursor(bound, segment, [row[str(key.key)] for key in order.segments[segment].keys])


@lru_cache(maxsize=256)
def _offset_statement(base: Select[Any], order: Order) -> Select[Any]:
    return base.order_by(*order.order_by).limit(bindparam("_limit")).offset(bindparam("_offset"))


@lru_cache(maxsize=256)
def count_statement(base: Select[Any]) -> Select[Any]:
    """The count of all rows base selects (the total a client asks for with ?total=true)."""
    return select(func.count()).select_from(base.order_by(None).subquery())


def _keyset(
    session: Session,
    base: Select[Any],
    order: Order,
    params: Mapping[str, Any],
    start: tuple[int, list[Any]] | None,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """Up to limit + 1 rows from the position start (None: the beginning); the segment of the limit-th row."""
    rows: list[RowMapping] = []
    first, values = start if start is not None else (0, None)
    last_segment = first
    for index in range(first, len(order.segments)):
        after = index == first and values is not None
        stmt = segment_statement(base, order, index, after)
        bound = {**params, "_limit": limit + 1 - len(rows)}
        if after:
            bound.update((f"_key{i}", value) for i, value in enumerate(values or ()))
        found = session.execute(stmt, bound).mappings().all()
        if found and len(rows) < limit:
            last_segment = index
        rows.extend(found)
        if len(rows) > limit:
            break
    return rows, last_segment


def paginate(
    session: Session,
    base: Select[Any],
    order: Order,
    query: Mapping[str, Any],
    bound: str,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One page of base's rows in order: {"items", "next_cursor", "total", "limit", "offset"}.

    query holds limit, offset, cursor (optional) and total (bool); bound is the fingerprint of what the
    cursor is tied to; params binds base's bindparams. total is None unless query["total"] is true.
    """
    limit, offset, cursor = query["limit"], query.get("offset", 0), query.get("cursor")
    params = params or {}
    if cursor is not None and offset:
        raise BadCursor("give either cursor or offset, not both", code="validation_error")
    if offset:
        stmt = _offset_statement(base, order)
        rows = list(session.execute(stmt, {**params, "_limit": limit + 1, "_offset": offset}).mappings().all())
        segment = None
    else:
        start = decode_cursor(cursor, bound, order) if cursor is not None else None
        rows, segment = _keyset(session, base, order, params, start, limit)
    more = len(rows) > limit
    items = rows[:limit]
    total = None
    if query.get("total"):
        total = session.execute(count_statement(base), dict(params)).scalar_one()
    next_cursor = _cursor_after(items[-1], order, bound, segment) if more else None
    return {"items": items, "next_cursor": next_cursor, "total": total, "limit": limit, "offset": offset}
