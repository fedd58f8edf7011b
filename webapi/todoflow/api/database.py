"""The request's database session over the process's engine (one pool per worker)."""

from __future__ import annotations

from flask import Flask, g, request
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from todoflow.core.db import make_engine

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Database:
    """Flask extension: `db.session` is one Session per request, closed (rolled back if open) at teardown.

    Reads run in autocommit (each statement its own snapshot: no BEGIN/ROLLBACK round trips); every
    other method runs in one transaction that the view commits.
    """

    def __init__(self) -> None:
        self._factory: sessionmaker[Session] | None = None
        self.engine: Engine | None = None
        self._autocommit: Engine | None = None
        self._url: str | None = None

    def init_app(self, app: Flask) -> None:
        """Bind to app: one engine per process and database URL, sessions closed at teardown."""
        url = app.config["DATABASE_URL"]
        if self.engine is None or self._url != url:
            # One engine per process and URL, whatever the number of apps created (tests create several);
            # reads and the write-rate bucket use a second pool whose connections are always in autocommit.
            self.engine, self._url = make_engine(url, pre_ping=False), url
            self._autocommit = make_engine(url, pre_ping=False, autocommit=True)
        self._factory = sessionmaker(expire_on_commit=False, autoflush=False)
        app.teardown_appcontext(self._close)

    @property
    def session(self) -> Session:
        """This request's Session: autocommit for reads, one transaction for every other method."""
        session = g.get("_db_session")
        if session is None:
            assert self._factory is not None, "Database.init_app was not called"
            bind = self._autocommit if request.method in READ_METHODS else self.engine
            session = g._db_session = self._factory(bind=bind)
        return session

    def autocommit_connection(self) -> Connection:
        """A pooled connection outside the request's transaction, each statement committed at once."""
        assert self._autocommit is not None, "Database.init_app was not called"
        return self._autocommit.connect()

    @staticmethod
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("_db_session", None)
        if session is not None:
            session.close()
