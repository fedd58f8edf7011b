"""The delivery service in the local stack (`make up`): `todoflow deliver`, log under .dev/deliver/.

Locally webhooks may target 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE_TARGETS) and reminders go to the local SMTP server.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from todoflow.core.settings import DEV_DIR
from todoflow_dev.devstack import mail, procs

HOME = DEV_DIR / "deliver"
LOG_FILE = HOME / "deliver.log"
NAME = "deliver"
STARTED = "delivery service started"


def environment() -> dict[str, str]:
    """The delivery service's environment: private webhook targets allowed, the local SMTP server."""
    env = dict(os.environ)
    env.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    env.setdefault("SMTP_HOST", "127.0.0.1")
    env.setdefault("SMTP_PORT", str(mail.SMTP_PORT))
    return env


def is_running() -> bool:
    """Whether the delivery service has a live pid file."""
    return procs.read_pid(NAME) is not None


def start() -> None:
    """Start `todoflow deliver` under a supervisor and wait until it logs that it started."""
    if is_running():
        return
    HOME.mkdir(parents=True, exist_ok=True)
    offset = LOG_FILE.stat().st_size if LOG_FILE.exists() else 0
    argv = [str(Path(sys.executable).with_name("todoflow")), "deliver"]
    procs.start(NAME, argv, environment(), LOG_FILE, supervise=True)

    def started() -> bool:
        if not is_running():
            raise RuntimeError("the delivery service exited")
        with open(LOG_FILE, "rb") as log:
            log.seek(offset)
            return STARTED in log.read().decode(errors="replace")

    procs.wait_for(started, "delivery service", 60, LOG_FILE)


def stop() -> bool:
    """SIGTERM: the service finishes its current attempts, leaves its consumer group and exits."""
    return procs.stop(NAME, timeout=30)
