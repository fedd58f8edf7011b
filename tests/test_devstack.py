"""The dev stack's process control: `make down` leaves no process of ours behind."""

from __future__ import annotations

import os
import sys
import time

from todoflow_dev.devstack import procs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_stop_kills_the_whole_process_group(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(procs, "RUN_DIR", tmp_path)
    child_pid_file = tmp_path / "child.pid"
    # A parent that starts a child which ignores nothing: stop must reach both.
    script = (
        "import subprocess, sys, time;"
        f"c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
        f"open({str(child_pid_file)!r}, 'w').write(str(c.pid));"
        "time.sleep(600)"
    )
    parent = procs.start("sleeper", [sys.executable, "-c", script], os.environ, tmp_path / "sleeper.log")
    deadline = time.monotonic() + 10
    while not child_pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(child_pid_file.read_text())
    assert procs.read_pid("sleeper") == parent
    assert procs.stop("sleeper", timeout=10) is True
    assert not _alive(parent) and not _alive(child)
    assert procs.read_pid("sleeper") is None
    assert procs.stop("sleeper") is False
