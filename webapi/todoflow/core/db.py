"""Database access: SQLAlchemy engines on psycopg 3, and Alembic migrations."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from todoflow.core.settings import get_settings, sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str | None = None, pool_size: int | None = None, pre_ping: bool = True) -> Engine:
    """A pooled engine for url (default: DATABASE_URL).

    pre_ping=False saves a round trip per checkout (the API's hot path); a connection found dead is then
    discarded with the pool's older ones when its statement fails.
    """
    settings = get_settings()
    return create_engine(
        sqlalchemy_url(url or settings.database_url),
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=10,
        pool_pre_ping=pre_ping,
        future=True,
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


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
