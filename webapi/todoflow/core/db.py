"""Database access: SQLAlchemy engines on psycopg 3, and Alembic migrations."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from todoflow.core.settings import get_settings, sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(
    url: str | None = None, pool_size: int | None = None, pre_ping: bool = True, autocommit: bool = False
) -> Engine:
    """A pooled engine for url (default: DATABASE_URL).

    pre_ping=False saves a round trip per checkout (the API's hot path); a connection found dead is then
    discarded with the pool's older ones when its statement fails. autocommit=True: a pool of its own whose
    connections stay in autocommit (each statement commits at once), so a checkout neither switches the
    isolation level nor resets it nor rolls back on return (about a fifth of a short read's CPU when an
    engine shares one pool between both modes).
    """
    settings = get_settings()
    options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit else {}
    return create_engine(
        sqlalchemy_url(url or settings.database_url),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=10,
        pool_pre_ping=pre_ping,
        future=True,
        **options,
    )


@lru_cache(maxsize=8)
def shared_engine(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration pointing at our migrations and url (default: DATABASE_URL)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url or get_settings().database_url).replace("%", "%%"))
    return cfg


# Revision ids before the chain was renumbered one file per number (two revisions were numbered 0003):
# a database stamped with one of them (a developer's stack, a CI database) is restamped with its new id,
# which names the same schema, before Alembic runs.
RENUMBERED_REVISIONS = {
    "0003_jobs": "0004_jobs",
    "0004_delivery": "0005_delivery",
    "0005_api": "0006_api",
    "0006_rrule": "0007_rrule",
}


def restamp_renumbered(url: str | None = None) -> str | None:
    """Replace an old revision id in alembic_version by its new one; returns the id now stamped (None: none)."""
    engine = create_engine(sqlalchemy_url(url or get_settings().database_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
                return None
            stamped = conn.execute(text("SELECT version_num FROM alembic_version FOR UPDATE")).scalar()
            if stamped in RENUMBERED_REVISIONS:
                stamped = RENUMBERED_REVISIONS[stamped]
                conn.execute(text("UPDATE alembic_version SET version_num = :new"), {"new": stamped})
            return stamped
    finally:
        engine.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate url (default: DATABASE_URL) up to revision (an old id names its new one), restamping first."""
    restamp_renumbered(url)
    command.upgrade(alembic_config(url), RENUMBERED_REVISIONS.get(revision, revision))


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate url (default: DATABASE_URL) down to revision (an old id names its new one), restamping first."""
    restamp_renumbered(url)
    command.downgrade(alembic_config(url), RENUMBERED_REVISIONS.get(revision, revision))
