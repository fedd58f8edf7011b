"""Background processes of the local stack: start in their own session, track by pid file, stop the group."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from todoflow.core.settings import DEV_DIR

RUN_DIR = DEV_DIR / "run"
# The folder holding todoflow_dev, so a supervisor starts from any working directory.
_DEV_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


# How `supervise=True` processes are restarted (todoflow_dev.devstack.supervise): backoff 1 s doubling to 30 s,
# reset after a minute up. The tests shorten it.
SUPERVISE_OPTIONS: tuple[str, ...] = ("--backoff-initial", "1", "--backoff-max", "30", "--stable-after", "60")


def pid_file(name: str) -> Path:
    """Where a started process's pid is kept."""
    return RUN_DIR / f"{name}.pid"


def state_file(name: str) -> Path:
    """Where the supervisor of a `supervise=True` process keeps its child's pid, state and restarts."""
    return RUN_DIR / f"{name}.state.json"


def _recorded_pid(name: str) -> int | None:
    try:
        return int(pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def read_pid(name: str) -> int | None:
    """The pid of a service we started, if it is still alive."""
    pid = _recorded_pid(name)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def start(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    cwd: Path | None = None,
    supervise: bool = False,
) -> int:
    """Start argv detached in a new session (its own process group), logging to log.

    supervise=True runs it under a supervisor (same process group) that restarts it with backoff whenever it
    exits; the pid file then names the supervisor, and `stop` ends both.
    """
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    if supervise:
        state_file(name).unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "todoflow_dev.devstack.supervise",
            "--name",
            name,
            "--state",
            str(state_file(name)),
            *SUPERVISE_OPTIONS,
            "--",
            *argv,
        ]
        env = {**env, "PYTHONPATH": os.pathsep.join(p for p in (str(_DEV_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file(name).write_text(str(proc.pid))
    return proc.pid


def stop(name: str, timeout: float = 30.0) -> bool:
    """Stop a service and every process in its group; True if something was running.

    The group is signalled even when its leader is gone (a supervisor killed on its own leaves its child in
    the group), so nothing we started survives `make down`.
    """
    pid = _recorded_pid(name)
    if pid is None or not _group_alive(pid):
        pid_file(name).unlink(missing_ok=True)
        state_file(name).unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.2)
    if _group_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
    pid_file(name).unlink(missing_ok=True)
    state_file(name).unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A zombie leader of our own child still answers; reap it if it is ours.
    try:
        waited, _ = os.waitpid(pgid, os.WNOHANG)
        if waited == pgid:
            return _group_alive_after_reap(pgid)
    except ChildProcessError:
        pass
    return True


def _group_alive_after_reap(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(check: Callable[[], bool], what: str, timeout: float, log: Path | None = None) -> None:
    """Poll check until it holds, or fail naming what did not come up and where its log is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 - a service that is still starting may fail its probe any way
            pass
        time.sleep(0.3)
    tail = ""
    if log is not None and log.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s; log {log}:\n{tail}")


def process_status(name: str) -> dict[str, Any]:
    """What `make status` shows of one process started by `start`: its pid, up/backoff/down and restarts."""
    pid = read_pid(name)
    row: dict[str, Any] = {"name": name, "state": "down", "pid": None, "supervisor_pid": None, "restarts": None}
    if pid is None:
        return row
    try:
        supervised = json.loads(state_file(name).read_text())
    except (FileNotFoundError, ValueError):
        # Not supervised (or its supervisor has not written yet): the pid file names the process itself.
        return {**row, "state": "up", "pid": pid}
    return {
        **row,
        "state": supervised["state"],
        "pid": supervised["pid"],
        "supervisor_pid": pid,
        "restarts": supervised["restarts"],
        "since": supervised["since"],
        "last_exit": supervised["last_exit"],
    }


def started_names() -> list[str]:
    """Every process with a pid file, i.e. started by `start` and not stopped since."""
    return sorted(path.name.removesuffix(".pid") for path in RUN_DIR.glob("*.pid"))
