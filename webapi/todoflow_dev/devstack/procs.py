"""Background processes of the local stack: start in their own session, track by pid file, stop the group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from todoflow.core.settings import DEV_DIR

RUN_DIR = DEV_DIR / "run"


def pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def read_pid(name: str) -> int | None:
    """The pid of a service we started, if it is still alive."""
    try:
        pid = int(pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def start(name: str, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None) -> int:
    """Start argv detached in a new session (its own process group), logging to log."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
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
    """Stop a service and every process in its group; True if something was running."""
    pid = read_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.2)
    if _group_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
    pid_file(name).unlink(missing_ok=True)
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
