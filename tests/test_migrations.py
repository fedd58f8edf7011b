"""Alembic migrations go up and down on an empty database and match the models."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from todoflow.core import db
from todoflow.core.models import Base
from todoflow.core.settings import sqlalchemy_url
from todoflow_dev.devstack import postgres as local_pg

EXPECTED_TABLES = {
    "users",
    "priorities",
    "tasks",
    "recurring_tasks",
    "task_event_log",
    "event_outbox",
    "notifications",
    "revoked_tokens",
    "login_failures",
    "consumed_events",
    "quality_results",
    "webhooks",
    "deliveries",
    "notification_settings",
    "write_buckets",
}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).fetchall()
    return {row[0] for row in rows}


def test_upgrade_downgrade_upgrade_on_empty_database(postgres_server: None) -> None:
    url = local_pg.recreate_database("todoflow_migrations_test")
    db.upgrade(url)
    assert _tables(url) == EXPECTED_TABLES
    db.downgrade(url, "base")
    assert _tables(url) == set()
    db.upgrade(url)
    assert _tables(url) == EXPECTED_TABLES
    with psycopg.connect(url) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM priorities ORDER BY level")]
    assert names == ["low", "medium", "high", "urgent"]


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sql_occurrence_function_matches_python(database_url: str) -> None:
    import random
    from datetime import date, timedelta

    from todoflow.core.recurrence import occurrence

    rng = random.Random(7)
    cases = (
        [
            (date(2026, 1, 1) + timedelta(days=rng.randint(-800, 800)), kind, rng.randint(1, 52), rng.randint(0, 60))
            for kind in ("daily", "weekly", "monthly", "yearly")
            for _ in range(100)
        ]
        + [(date(2024, 1, 31), "monthly", 1, n) for n in range(14)]
        + [(date(2024, 2, 29), "yearly", 1, n) for n in range(9)]
    )
    with psycopg.connect(database_url) as conn:
        for anchor, kind, step, n in cases:
            got = conn.execute("SELECT todoflow_occurrence(%s, %s, %s, %s)", (anchor, kind, step, n)).fetchone()[0]
            assert got == occurrence(anchor, kind, step, n), (anchor, kind, step, n)
