"""`todoflow serve-api`: the API under gunicorn (the command `make up` and the container run)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from todoflow.core.settings import ServeSettings


def default_workers() -> int:
    """Processes: WEB_CONCURRENCY, else one per core plus one (a worker waiting on PostgreSQL does not idle a core)."""
    return ServeSettings().workers or (os.cpu_count() or 1) + 1


def options(bind: str, workers: int, threads: int, access_log: bool = False) -> dict[str, Any]:
    """The gunicorn settings the API runs with (the benchmark serves its raw floor with the same)."""
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 20,
        "preload_app": True,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "todoflow-api",
        # A pool created before the fork must not be shared: each worker opens its own connections.
        "post_fork": _post_fork,
    }


def _post_fork(_server: Any, _worker: Any) -> None:
    from todoflow.api.extensions import db

    if db.engine is not None:
        db.engine.dispose(close=False)


class _Server(BaseApplication):
    def __init__(self, load: Callable[[], Any], settings: dict[str, Any]) -> None:
        self._load = load
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._settings.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


def serve(load: Callable[[], Any], settings: dict[str, Any]) -> None:
    """Run gunicorn in the foreground with the WSGI app load() returns."""
    _Server(load, settings).run()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow serve-api`."""
    # Defaults from the environment (API_BIND, WEB_CONCURRENCY, API_THREADS) are read by run(), not while every
    # command's parser is built, so a bad one stops only serve-api.
    parser.add_argument("--bind", help="host:port (default API_BIND or 127.0.0.1:8000)")
    parser.add_argument("--workers", type=int, help="worker processes (default WEB_CONCURRENCY or cores + 1)")
    parser.add_argument("--threads", type=int, help="per worker (default API_THREADS or 2)")
    parser.add_argument("--access-log", action="store_true", help="log every request to stdout")


def run(args: argparse.Namespace) -> int:
    """Serve the API under gunicorn until it is stopped; the exit code."""
    from todoflow.api import create_app

    settings = ServeSettings()
    workers = default_workers() if args.workers is None else args.workers
    threads = settings.threads if args.threads is None else args.threads
    serve(create_app, options(args.bind or settings.bind, workers, threads, args.access_log))
    return 0
