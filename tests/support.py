"""Helpers shared by the test areas: polling, `todoflow` service processes, their environment, a StatsD listener."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TODOFLOW = str(Path(sys.executable).with_name("todoflow"))


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll check until it holds or fail after timeout naming what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def service_environment(database_url: str, bootstrap: str, statsd_port: int, **settings: str) -> dict[str, str]:
    """Environment of a service under test: ours, then its database, broker and StatsD, then settings."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "STATSD_HOST": "127.0.0.1",
        "STATSD_PORT": str(statsd_port),
        "STATSD_PREFIX": "todoflow",
        **settings,
    }


class ServiceProcess:
    """`todoflow <command>` (a long-running service) as a real child process with its own log file."""

    def __init__(self, command: str, env: dict[str, str], log: Path):
        self.command = command
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [TODOFLOW, command], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the process logs text; fail at once if it exits without having logged it."""

        def seen() -> bool:
            if self.proc.poll() is not None and text not in self.output():
                raise AssertionError(f"{self.command} exited with {self.proc.returncode}:\n{self.output()}")
            return text in self.output()

        wait_until(seen, timeout, f"{self.command} log line {text!r}")

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None


class StatsdListener:
    """A UDP StatsD server on a free port that keeps every metric line it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            with self._lock:
                self.lines.extend(data.decode().splitlines())

    def values(self, name: str, kind: str) -> list[float]:
        """Values sent for metric `name` of statsd type `kind` (g, c, ms)."""
        with self._lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            metric, _, rest = line.partition(":")
            value, _, metric_kind = rest.partition("|")
            if metric == name and metric_kind.split("|")[0] == kind:
                out.append(float(value))
        return out

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def stop_group(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """Stop the process group proc leads: SIGTERM, then SIGKILL if it is still there after timeout seconds."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
