"""The dev stack's process control: `make down` leaves no process of ours behind; supervised processes come back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

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


# --- supervision: a process of the stack that exits comes back, with backoff; status shows every process -----


def _state(name: str) -> dict:
    try:
        return json.loads(procs.state_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _wait_for(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """procs' state under tmp_path/run (as TODOFLOW_DEV_DIR=tmp_path would put it), short backoff."""
    monkeypatch.setattr(procs, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(
        procs, "SUPERVISE_OPTIONS", ("--backoff-initial", "0.2", "--backoff-max", "0.8", "--stable-after", "30")
    )
    started: list[str] = []
    yield started
    for name in started:
        procs.stop(name, timeout=10)


def test_a_killed_supervised_process_comes_back_and_status_shows_it(tmp_path, run_dir) -> None:
    run_dir.append("relay")
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    supervisor = procs.start("relay", sleeper, os.environ, tmp_path / "relay.log", supervise=True)
    first = _wait_for(lambda: _state("relay").get("pid"), "the first child")
    assert procs.read_pid("relay") == supervisor != first
    assert procs.process_status("relay") | {"since": None} == {
        "name": "relay",
        "state": "up",
        "pid": first,
        "supervisor_pid": supervisor,
        "restarts": 0,
        "since": None,
        "last_exit": None,
    }

    os.kill(first, signal.SIGKILL)
    second = _wait_for(lambda: (s := _state("relay")).get("restarts") == 1 and s.get("pid"), "the restarted child")
    assert second != first and _alive(second) and procs.read_pid("relay") == supervisor
    assert procs.process_status("relay")["last_exit"] == -signal.SIGKILL
    assert "exited with -9" in (tmp_path / "relay.log").read_text()

    # `make status` (python -m todoflow_dev.devstack status) reads the same state under TODOFLOW_DEV_DIR.
    out = subprocess.run(
        [sys.executable, "-m", "todoflow_dev.devstack", "status"],
        env={**os.environ, "TODOFLOW_DEV_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["relay"][:5] == ["relay", "up", str(second), str(supervisor), "1"]
    assert {"postgres", "kafka", "api", "airflow"} <= set(rows)

    assert procs.stop("relay", timeout=10) is True
    assert not _alive(supervisor) and not _alive(second)
    assert not procs.state_file("relay").exists()


def test_a_crashing_process_is_restarted_with_growing_backoff_until_stopped(tmp_path, run_dir) -> None:
    run_dir.append("crasher")
    log = tmp_path / "crasher.log"
    crasher = [sys.executable, "-c", "import sys; sys.exit(3)"]
    supervisor = procs.start("crasher", crasher, os.environ, log, supervise=True)
    _wait_for(lambda: _state("crasher").get("restarts", 0) >= 4, "four restarts")
    scheduled = re.findall(r"exited with 3 after [0-9.]+s; restart #\d+ in ([0-9.]+)s", log.read_text())
    delays = [float(d) for d in scheduled]
    # Doubling from 0.2 s, capped at 0.8 s; a process that never stays up is never given up on.
    assert delays[:4] == [0.2, 0.4, 0.8, 0.8]
    status = procs.process_status("crasher")
    assert status["last_exit"] == 3 and status["supervisor_pid"] == supervisor
    assert procs.stop("crasher", timeout=10) is True
    assert not _alive(supervisor)
    restarts = len(re.findall("restart #", log.read_text()))
    time.sleep(1.5)
    assert len(re.findall("restart #", log.read_text())) == restarts, "restarted after stop"


def test_the_stack_runs_its_long_running_processes_supervised(monkeypatch) -> None:
    """api, relay, mail, deliver and every Airflow component start through procs.start(..., supervise=True)."""
    from todoflow_dev.devstack import airflow, api, deliver, mail, relay

    calls: dict[str, bool] = {}

    def fake_start(name, argv, env, log, cwd=None, supervise=False):
        calls[name] = supervise
        return 0

    monkeypatch.setattr(procs, "start", fake_start)
    monkeypatch.setattr(procs, "wait_for", lambda *a, **k: None)
    monkeypatch.setattr(procs, "read_pid", lambda name: None)
    monkeypatch.setattr(api, "is_running", lambda port: False)
    monkeypatch.setattr(airflow, "migrate", lambda env: None)
    monkeypatch.setattr(airflow, "register_connections", lambda env: None)
    api.start(0)
    relay.start()
    mail.start()
    deliver.start()
    airflow.start()
    assert calls == {
        "api": True,
        "relay": True,
        mail.NAME: True,
        deliver.NAME: True,
        **{f"airflow-{c}": True for c in airflow.COMPONENTS},
    }


def test_stop_reaches_the_child_of_a_supervisor_that_died_alone(tmp_path, run_dir) -> None:
    run_dir.append("orphaned")
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    supervisor = procs.start("orphaned", sleeper, os.environ, tmp_path / "orphaned.log", supervise=True)
    child = _wait_for(lambda: _state("orphaned").get("pid"), "the child")
    os.kill(supervisor, signal.SIGKILL)
    # Reaped at once, as init reaps it once `make up` has exited: its pid is gone, its group is not.
    os.waitpid(supervisor, 0)
    assert _alive(child)
    assert procs.stop("orphaned", timeout=10) is True
    assert not _alive(child)
    assert procs.stop("orphaned") is False
