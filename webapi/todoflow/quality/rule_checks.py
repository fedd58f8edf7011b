"""Issue 13's data-quality input: every task of a rule-based series, marked on or off its rule.

RFC 5545 rules are evaluated by dateutil (core/rrule.py), not in SQL, so this check reads the rule-based
instances, recomputes each series' occurrences from its anchor up to its latest instance, and hands GX a
DataFrame whose `on_rule` column must be all true (an expectation like every other check's).
"""

from __future__ import annotations

from datetime import date
from itertools import groupby
from typing import Any

import pandas as pd
import psycopg

from todoflow.core import rrule
from todoflow.core.settings import libpq_url

RULE_INSTANCES = """
SELECT t.id, t.recurring_task_id, t.due_date, r.rrule, r.start_date, r.end_date
FROM tasks t JOIN recurring_tasks r ON r.id = t.recurring_task_id
WHERE r.rrule IS NOT NULL AND r.repeat_from = 'due'
ORDER BY t.recurring_task_id, t.due_date
"""
COLUMNS = ["task_id", "recurring_task_id", "due_date", "rrule", "on_rule"]


def _series_on_rule(text: str, start: date, end: date | None, dues: list[date | None]) -> list[bool]:
    try:
        rule = rrule.parse(text)
    except rrule.RuleError:
        return [False] * len(dues)
    last = max((d for d in dues if d is not None), default=start)
    occurrences = set()
    for _, found in rrule.dates(rule, start, start, 0):
        if found > last:
            break
        occurrences.add(found)
    return [d is not None and d in occurrences and (end is None or d <= end) for d in dues]


def rule_instances(database_url: str) -> pd.DataFrame:
    """One row per task of a due-based rule series, with on_rule: whether its due date is one of the rule's.

    An occurrence counts within the rule's COUNT and UNTIL and the series' end_date.
    """
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(RULE_INSTANCES).fetchall()
    out: list[list[Any]] = []
    for _, group in groupby(rows, key=lambda row: row[1]):
        items = list(group)
        _, series_id, _, text, start, end = items[0]
        marks = _series_on_rule(text, start, end, [row[2] for row in items])
        out += [[row[0], str(series_id), row[2], text, mark] for row, mark in zip(items, marks, strict=True)]
    return pd.DataFrame(out, columns=COLUMNS).astype({"on_rule": bool})
