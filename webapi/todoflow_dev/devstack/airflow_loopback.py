"""`python -m todoflow_dev.devstack.airflow_loopback ARGS...`: the `airflow` CLI with its log servers on 127.0.0.1.

The scheduler and the triggerer each start a log server that the api-server asks for the logs of running and
deferred tasks. Airflow 3.3 binds it to every interface ([::] or 0.0.0.0) with no setting to change that, while
the local stack listens on loopback only. This launcher makes the log server's uvicorn bind 127.0.0.1 and then
runs Airflow's own CLI unchanged; the server runs in a forked child, which inherits the change.
tests/dags/test_local_airflow.py checks every listening socket of both components.
"""

from __future__ import annotations

import sys
import types
from typing import Any

LOOPBACK = "127.0.0.1"


def hostname() -> str:
    """[core] hostname_callable of the local stack: every component is on this machine's loopback."""
    return LOOPBACK


def bind_log_servers_to_loopback() -> None:
    """Replace the uvicorn.run that airflow.utils.serve_logs calls with one that always binds LOOPBACK."""
    import uvicorn
    from airflow.utils.serve_logs import core

    original = uvicorn.run

    def run_on_loopback(app: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["host"] = LOOPBACK
        return original(app, *args, **kwargs)

    # A copy of the uvicorn module for serve_logs alone: uvicorn itself stays unchanged for everyone else.
    loopback_uvicorn = types.ModuleType(uvicorn.__name__)
    loopback_uvicorn.__dict__.update(vars(uvicorn), run=run_on_loopback)
    core.uvicorn = loopback_uvicorn


def main() -> int:
    """Run the Airflow CLI with sys.argv's arguments and its log servers on loopback."""
    bind_log_servers_to_loopback()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *sys.argv[1:]]
    return int(airflow_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
