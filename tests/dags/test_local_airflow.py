"""The local stack's Airflow as operators use it: `make airflow`, a plain `airflow` CLI, nothing on 0.0.0.0."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support import stop_group
from todoflow.core.settings import LOCAL_KAFKA_PORT
from todoflow_dev.devstack import airflow as local_airflow
from todoflow_dev.devstack import postgres as local_pg

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _bare_env(**extra: str) -> dict[str, str]:
    """What an operator's shell has: no AIRFLOW__* and no todoflow variables, just PATH and HOME."""
    keep = ("PATH", "HOME", "LANG", "TZ")
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}


def test_the_plain_cli_uses_the_stacks_database_and_never_creates_sqlite(airflow_metadata: str, tmp_path) -> None:
    home = tmp_path / "airflow"
    config = local_airflow.write_config(local_airflow.airflow_env(metadata_db=airflow_metadata), home)
    assert config == home / "airflow.cfg" and config.stat().st_mode & 0o077 == 0

    env = _bare_env(AIRFLOW_HOME=str(home))
    conn = subprocess.run(
        [AIRFLOW, "config", "get-value", "database", "sql_alchemy_conn"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    assert conn == f"postgresql+psycopg://todoflow@127.0.0.1:{local_pg.LOCAL_PG_PORT}/{airflow_metadata}"
    # Read from the metadata database (registered there by the fixture), decrypted with the stack's Fernet key.
    got = subprocess.run(
        [AIRFLOW, "connections", "get", "kafka_default", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert got.returncode == 0, got.stderr[-3000:]
    assert f"127.0.0.1:{LOCAL_KAFKA_PORT}" in got.stdout
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".db", ".sqlite")]


def test_make_airflow_runs_the_cli_with_the_stacks_environment(postgres_server: None, tmp_path) -> None:
    """`python -m todoflow_dev.devstack airflow ARGS` (what `make airflow ARGS=...` runs) against a stack dir."""
    proc = subprocess.run(
        [sys.executable, "-m", "todoflow_dev.devstack", "airflow", "config", "get-value", "core", "dags_folder"],
        env=_bare_env(TODOFLOW_DEV_DIR=str(tmp_path), TODOFLOW_PG_PORT=str(local_pg.LOCAL_PG_PORT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(Path(__file__).resolve().parents[2] / "dags")
    written = (tmp_path / "airflow" / "airflow.cfg").read_text()
    assert f"sql_alchemy_conn = postgresql+psycopg://todoflow@127.0.0.1:{local_pg.LOCAL_PG_PORT}/airflow" in written
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".db", ".sqlite")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(root: psutil.Process) -> set[tuple[str, int]]:
    addresses = set()
    for proc in [root, *root.children(recursive=True)]:
        try:
            addresses |= {(c.laddr.ip, c.laddr.port) for c in proc.net_connections("inet") if c.status == "LISTEN"}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return addresses


@pytest.mark.airflow
@pytest.mark.parametrize("component", ["scheduler", "triggerer"])
def test_airflow_log_servers_listen_on_loopback_only(airflow_metadata: str, tmp_path, component: str) -> None:
    """The stack's scheduler and triggerer, as started by `make up`, serve their logs on 127.0.0.1 and open
    no port beyond it (Airflow alone binds the log servers to [::] and 0.0.0.0)."""
    log_port = _free_port()
    env = {
        **os.environ,
        # Nothing gets scheduled in the shared test metadata database; one worker at most.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CORE__PARALLELISM": "1",
        f"AIRFLOW__LOGGING__{'WORKER' if component == 'scheduler' else 'TRIGGER'}_LOG_SERVER_PORT": str(log_port),
    }
    log = tmp_path / f"{component}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            local_airflow.component_argv(component),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        root = psutil.Process(proc.pid)
        seen: set[tuple[str, int]] = set()
        up_at = None
        # Watch the process tree until the component runs and its log server answers, then a while longer.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and (up_at is None or time.monotonic() < up_at + 5):
            assert proc.poll() is None, log.read_text(errors="replace")[-5000:]
            seen |= _listening(root)
            running = f"Starting the {component}" in log.read_text(errors="replace")
            if up_at is None and running and ("127.0.0.1", log_port) in seen:
                up_at = time.monotonic()
            time.sleep(0.5)
        assert up_at is not None, f"{seen}\n{log.read_text(errors='replace')[-5000:]}"
        assert {ip for ip, _ in seen} == {"127.0.0.1"}, seen
    finally:
        stop_group(proc)


def test_task_logs_are_fetched_from_loopback(airflow_metadata: str) -> None:
    """Task instances record 127.0.0.1 as their host: the api-server fetches running tasks' logs there."""
    proc = subprocess.run(
        [sys.executable, "-c", "from airflow.utils.net import get_hostname; print(get_hostname())"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert proc.stdout.strip().splitlines()[-1] == "127.0.0.1"
