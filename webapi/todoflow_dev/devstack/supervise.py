"""Keep one local-stack process running: restart it with exponential backoff whenever it exits.

`python -m todoflow_dev.devstack.supervise --name NAME --state FILE -- argv...` runs argv as its child in its
own process group (the one `procs.start` gave it), so `procs.stop` still reaches the supervisor, the child and
every grandchild with one signal. The state file (JSON, replaced atomically) says what `make status` shows:
the child's pid, up or backoff, how often it was restarted and how it last exited.

Backoff doubles from --backoff-initial up to --backoff-max and starts over once a child has stayed up for
--stable-after seconds; the supervisor never gives up (a stack whose PostgreSQL was down for an hour comes
back by itself). SIGTERM or SIGINT stop the child (SIGTERM, then SIGKILL after --stop-timeout) and the
supervisor, with no restart.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


class Supervisor:
    """One child, restarted until stopped."""

    def __init__(self, name: str, argv: list[str], state_file: Path, options: argparse.Namespace) -> None:
        self.name = name
        self.argv = argv
        self.state_file = state_file
        self.options = options
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.state: dict[str, Any] = {
            "name": name,
            "supervisor_pid": os.getpid(),
            "pid": None,
            "state": "starting",
            "restarts": 0,
            "since": time.time(),
            "last_exit": None,
            "next_start_in": None,
        }

    def _write(self, **changes: Any) -> None:
        self.state.update(changes)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        os.replace(tmp, self.state_file)

    def _log(self, message: str) -> None:
        print(f"[supervise {self.name}] {message}", file=sys.stderr, flush=True)

    def stop(self, signum: int, _frame: Any) -> None:
        """Signal handler: stop restarting and pass SIGTERM to the child."""
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Run the command, restarting it with backoff whenever it exits, until stopped."""
        backoff = self.options.backoff_initial
        while not self.stopping.is_set():
            started = time.monotonic()
            self.child = subprocess.Popen(self.argv)
            self._write(pid=self.child.pid, state="up", since=time.time(), next_start_in=None)
            code = self._wait_child()
            if self.stopping.is_set():
                break
            if time.monotonic() - started >= self.options.stable_after:
                backoff = self.options.backoff_initial
            self.state["restarts"] += 1
            self._log(
                f"{self.argv[0]} exited with {code} after {time.monotonic() - started:.1f}s; "
                f"restart #{self.state['restarts']} in {backoff:g}s"
            )
            self._write(pid=None, state="backoff", since=time.time(), last_exit=code, next_start_in=backoff)
            # Woken at once by a stop request.
            self.stopping.wait(backoff)
            backoff = min(backoff * 2, self.options.backoff_max)
        self._write(pid=None, state="stopped", since=time.time())
        return 0

    def _wait_child(self) -> int:
        assert self.child is not None
        while True:
            try:
                code = self.child.wait(timeout=0.5)
                return code
            except subprocess.TimeoutExpired:
                if self.stopping.is_set():
                    try:
                        return self.child.wait(timeout=self.options.stop_timeout)
                    except subprocess.TimeoutExpired:
                        self.child.kill()
                        return self.child.wait()


def main(argv: list[str] | None = None) -> int:
    """Supervise the command after `--` until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m todoflow_dev.devstack.supervise", description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--state", type=Path, required=True, help="JSON state file for `make status`")
    parser.add_argument("--backoff-initial", type=float, default=1.0)
    parser.add_argument("--backoff-max", type=float, default=30.0)
    parser.add_argument("--stable-after", type=float, default=60.0, help="seconds up after which backoff resets")
    parser.add_argument("--stop-timeout", type=float, default=25.0)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- argv of the supervised process")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to supervise")
    supervisor = Supervisor(args.name, command, args.state, args)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
