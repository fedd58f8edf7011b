"""Alembic migrations go up and down on an empty database and match the models."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def _stamped(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def _stamp(url: str, revision: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = %s", (revision,))


def _occurrence_is_strict(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT proisstrict FROM pg_proc WHERE proname = 'todoflow_occurrence'").fetchone()[0]


def test_revisions_run_one_per_number_in_file_order() -> None:
    script = ScriptDirectory.from_config(db.alembic_config("postgresql://unused@127.0.0.1/unused"))
    files = sorted(p.name for p in (db.MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    chain = list(reversed(list(script.walk_revisions())))  # base first
    assert [Path(r.path).name for r in chain] == files
    for number, revision in enumerate(chain, start=1):
        assert revision.revision.split("_")[0] == f"{number:04d}" == revision.path.rsplit("/", 1)[1][:4]
        assert revision.down_revision == (chain[number - 2].revision if number > 1 else None)
    # An old id never names another revision now, so restamping is unambiguous.
    assert not set(db.RENUMBERED_REVISIONS) & {r.revision for r in chain}
    assert set(db.RENUMBERED_REVISIONS.values()) <= {r.revision for r in chain}


def test_a_database_stamped_with_an_old_revision_id_upgrades_to_head(postgres_server: None) -> None:
    url = local_pg.recreate_database("todoflow_renumbered_test")
    db.upgrade(url)
    head = _stamped(url)
    assert head.startswith(f"{len(list((db.MIGRATIONS_DIR / 'versions').glob('[0-9]*.py'))):04d}")
    for old, new in db.RENUMBERED_REVISIONS.items():
        db.downgrade(url, new)
        _stamp(url, old)  # as a database migrated before the renumbering is stamped
        db.upgrade(url)
        assert _stamped(url) == head, old
        assert _tables(url) == EXPECTED_TABLES
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    engine.dispose()
    # Downgrading works from an old stamp too, and an old id names its revision as a target: a database left
    # at the last revision before the renumbering (0006_rrule, now 0007_rrule) and stamped with its old id.
    db.downgrade(url, "0007_rrule")
    _stamp(url, "0006_rrule")
    db.downgrade(url, "0003_jobs")
    assert _stamped(url) == "0004_jobs"
    assert not _occurrence_is_strict(url)
    db.downgrade(url, "0003_quality")
    assert _occurrence_is_strict(url)  # 0004_jobs down: 0002's STRICT function again
    db.upgrade(url)
    assert _stamped(url) == head and not _occurrence_is_strict(url)


def test_restamping_leaves_an_unstamped_or_current_database_alone(postgres_server: None) -> None:
    url = local_pg.recreate_database("todoflow_restamp_test")
    assert db.restamp_renumbered(url) is None  # no alembic_version table: nothing to do, nothing created
    assert _tables(url) == set()
    db.upgrade(url, "0004_jobs")
    assert db.restamp_renumbered(url) == "0004_jobs" == _stamped(url)
