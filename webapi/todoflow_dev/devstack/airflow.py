"""Airflow 3 for the local stack: api-server, scheduler, dag-processor and triggerer with this repo's DAGs."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from todoflow.core.settings import DEV_DIR, LOCAL_PG_PORT, REPO_ROOT, get_settings
from todoflow.pipeline.kafka_lag import airflow_connection
from todoflow_dev.devstack import procs

AIRFLOW_HOME = DEV_DIR / "airflow"
SECRETS_FILE = AIRFLOW_HOME / "local-secrets.json"
PASSWORDS_FILE = AIRFLOW_HOME / "simple_auth_manager_passwords.json"
API_PORT = 8080
API_URL = f"http://127.0.0.1:{API_PORT}"
ADMIN_USER = "admin"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
METADATA_DB = "airflow"


def _local_secrets() -> dict[str, str]:
    """Secrets of the local Airflow, generated once per machine and kept under .dev (never in the repo)."""
    if SECRETS_FILE.exists():
        return json.loads(SECRETS_FILE.read_text())
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    values = {
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "fernet_key": Fernet.generate_key().decode(),
        "admin_password": secrets.token_urlsafe(12),
    }
    SECRETS_FILE.write_text(json.dumps(values))
    SECRETS_FILE.chmod(0o600)
    return values


def airflow_env(metadata_db: str = METADATA_DB, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment every local Airflow process (and dag.test in the tests) runs with."""
    env = dict(os.environ if base is None else base)
    values = _local_secrets()
    metadata_url = f"postgresql+psycopg://todoflow@127.0.0.1:{LOCAL_PG_PORT}/{metadata_db}"
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            # psycopg 3 serves the async engine too; Airflow would otherwise want asyncpg.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__FERNET_KEY": values["fernet_key"],
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{API_URL}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(PASSWORDS_FILE),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(API_PORT),
            "AIRFLOW__API__BASE_URL": API_URL,
            "AIRFLOW__API__SECRET_KEY": values["api_secret_key"],
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": values["jwt_secret"],
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
            # Task instances record this host, where the api-server fetches running tasks' logs from: the log
            # servers listen on loopback only (airflow_loopback), whatever the machine's name resolves to.
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "todoflow_dev.devstack.airflow_loopback.hostname",
            # Airflow's health-check server would listen on 0.0.0.0 if it were switched on.
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_ON": "True",
            # The same exporter as the application's (the suite moves STATSD_PORT away from the local stack's).
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(get_settings().statsd_port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            # dag_id/task_id/state as tags, which statsd_exporter turns into labels (helm-values/monitoring).
            "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT / "webapi"), env.get("PYTHONPATH", "")) if p),
        }
    )
    return env


def config_text(env: dict[str, str]) -> str:
    """airflow.cfg holding every AIRFLOW__SECTION__KEY of env, so the plain CLI sees what the stack runs with."""
    sections: dict[str, dict[str, str]] = {}
    for name, value in sorted(env.items()):
        if name.startswith("AIRFLOW__") and name.count("__") >= 2:
            section, key = name.removeprefix("AIRFLOW__").split("__", 1)
            # configparser interpolates %: escape it.
            sections.setdefault(section.lower(), {})[key.lower()] = value.replace("%", "%%")
    lines = ["# written by todoflow_dev.devstack from airflow_env(); rewritten by `make up` and `make airflow`"]
    for section, values in sections.items():
        lines += ["", f"[{section}]", *(f"{key} = {value}" for key, value in values.items())]
    return "\n".join(lines) + "\n"


def write_config(env: dict[str, str], home: Path | None = None) -> Path:
    """Write airflow.cfg into home (default: env's AIRFLOW_HOME), readable by us only: it holds the stack's keys.

    With it, `airflow ...` pointed at the stack's AIRFLOW_HOME uses the stack's PostgreSQL even without our
    environment, instead of writing a default configuration that creates a SQLite database.
    """
    target_home = Path(home or env["AIRFLOW_HOME"])
    target_home.mkdir(parents=True, exist_ok=True)
    path = target_home / "airflow.cfg"
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(config_text(env))
    os.replace(tmp, path)
    return path


def cli(args: list[str]) -> int:
    """`make airflow ARGS="..."`: the Airflow CLI with the local stack's environment (replaces this process)."""
    env = airflow_env()
    write_config(env)
    binary = _airflow_bin()
    os.execve(binary, [binary, *args], env)  # noqa: S606 - the point is to become the airflow CLI
    return 0  # not reached


def component_argv(component: str) -> list[str]:
    """The command of one Airflow component in the local stack.

    Scheduler and triggerer run through airflow_loopback, which binds their log servers to 127.0.0.1 (Airflow
    itself binds them to every interface).
    """
    if component in ("scheduler", "triggerer"):
        return [sys.executable, "-m", "todoflow_dev.devstack.airflow_loopback", component]
    return [_airflow_bin(), component]


def admin_password() -> str:
    """The local Airflow admin's password (generated once, kept under .dev)."""
    return _local_secrets()["admin_password"]


def _airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else (shutil.which("airflow") or "airflow")


def migrate(env: dict[str, str]) -> None:
    """Create or upgrade Airflow's metadata database."""
    subprocess.run([_airflow_bin(), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)


def local_connections() -> dict[str, dict[str, str]]:
    """The connections the DAGs use, pointing at the local services (export format of `airflow connections`)."""
    return {
        "kafka_default": {
            "conn_type": "kafka",
            "description": "local Kafka broker (the event_log DAG's lag probe)",
            # The brokers and security settings every todoflow Kafka client uses (local: PLAINTEXT).
            "extra": json.dumps(airflow_connection()["extra"]),
        }
    }


def register_connections(env: dict[str, str]) -> None:
    """Create or overwrite the local connections in the metadata database (idempotent)."""
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    path = AIRFLOW_HOME / "local-connections.json"
    path.write_text(json.dumps(local_connections()))
    subprocess.run(
        [_airflow_bin(), "connections", "import", "--overwrite", str(path)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def is_running() -> bool:
    """Whether something listens on the Airflow api-server's port."""
    return procs.port_open(API_PORT)


def start() -> None:
    """Migrate the metadata database and start every Airflow component in the background."""
    env = airflow_env()
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    write_config(env)
    PASSWORDS_FILE.write_text(json.dumps({ADMIN_USER: admin_password()}))
    PASSWORDS_FILE.chmod(0o600)
    migrate(env)
    register_connections(env)
    for component in COMPONENTS:
        if procs.read_pid(f"airflow-{component}") is None:
            procs.start(
                f"airflow-{component}",
                component_argv(component),
                env,
                AIRFLOW_HOME / "logs" / f"{component}.log",
                supervise=True,
            )
    procs.wait_for(_healthy, "Airflow api-server", 180, AIRFLOW_HOME / "logs" / "api-server.log")


def _healthy() -> bool:
    with urllib.request.urlopen(f"{API_URL}/api/v2/monitor/health", timeout=3) as response:  # noqa: S310
        return response.status == 200


def stop() -> bool:
    """Stop every Airflow component; True if one was running."""
    stopped = False
    for component in COMPONENTS:
        stopped |= procs.stop(f"airflow-{component}", timeout=30)
    return stopped
