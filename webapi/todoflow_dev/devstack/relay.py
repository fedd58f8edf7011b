"""The relay in the local stack (`make up`): `todoflow relay` in the background, its log under .dev/relay/."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from todoflow.core.settings import DEV_DIR
from todoflow_dev.devstack import procs

RELAY_HOME = DEV_DIR / "relay"
LOG_FILE = RELAY_HOME / "relay.log"
NAME = "relay"
# Lines the relay logs once it holds the lock or stands by behind another relay.
STARTED = ("holding the relay lock: active", "standing by")


def is_running() -> bool:
    """Whether the relay has a live pid file."""
    return procs.read_pid(NAME) is not None


def start() -> None:
    """Start `todoflow relay` on DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS; wait until it is active or standing by."""
    if is_running():
        return
    RELAY_HOME.mkdir(parents=True, exist_ok=True)
    offset = LOG_FILE.stat().st_size if LOG_FILE.exists() else 0
    argv = [str(Path(sys.executable).with_name("todoflow")), "relay"]
    procs.start(NAME, argv, dict(os.environ), LOG_FILE, supervise=True)

    def started() -> bool:
        if not is_running():
            raise RuntimeError("the relay exited")
        with open(LOG_FILE, "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        return any(line in text for line in STARTED)

    procs.wait_for(started, "outbox relay", 60, LOG_FILE)


def stop() -> bool:
    """SIGTERM: the relay finishes its batch, releases its lock and exits."""
    return procs.stop(NAME, timeout=30)
