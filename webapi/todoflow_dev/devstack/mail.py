"""The local SMTP server (`make up`): aiosmtpd on 127.0.0.1 keeping every message it receives in a Maildir.

`python -m todoflow_dev.devstack.mail --dir DIR --port PORT` serves until SIGTERM; `messages(DIR)` reads
what arrived (tests and people alike: each message is also a plain file under DIR/new/).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from todoflow.core.settings import DEV_DIR
from todoflow_dev.devstack import procs

MAIL_HOME = DEV_DIR / "mail"
LOG_FILE = DEV_DIR / "mail-server.log"
SMTP_PORT = int(os.environ.get("TODOFLOW_SMTP_PORT") or 1025)
NAME = "mail"


def free_port() -> int:
    """A TCP port nobody listens on right now (aiosmtpd cannot bind port 0 and report it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def controller(directory: Path, port: int) -> Controller:
    """An SMTP server on 127.0.0.1:port that stores every message in the Maildir directory (call .start())."""
    # mailbox.Maildir makes tmp/, new/ and cur/ only when it creates the directory itself.
    for sub in ("tmp", "new", "cur"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    return Controller(Mailbox(directory), hostname="127.0.0.1", port=port)


def messages(directory: Path) -> list[EmailMessage]:
    """Every message received so far, oldest first (aiosmtpd adds X-MailFrom, X-RcptTo and X-Peer)."""
    files = [p for sub in ("new", "cur") if (directory / sub).exists() for p in (directory / sub).iterdir()]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def is_running() -> bool:
    """Whether the local SMTP server has a live pid file."""
    return procs.read_pid(NAME) is not None


def start() -> None:
    """Start the local SMTP server in the background and wait until it accepts connections."""
    if is_running():
        return
    argv = [sys.executable, "-m", "todoflow_dev.devstack.mail", "--dir", str(MAIL_HOME), "--port", str(SMTP_PORT)]
    procs.start(NAME, argv, dict(os.environ), LOG_FILE, supervise=True)
    procs.wait_for(lambda: procs.port_open(SMTP_PORT), "SMTP server", 30, LOG_FILE)


def stop() -> bool:
    """Stop the local SMTP server; True if it was running."""
    return procs.stop(NAME, timeout=10)


def main(argv: list[str] | None = None) -> int:
    """Serve SMTP on 127.0.0.1, keeping messages in a Maildir, until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m todoflow_dev.devstack.mail", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=MAIL_HOME, help="Maildir to keep messages in")
    parser.add_argument("--port", type=int, default=SMTP_PORT)
    args = parser.parse_args(argv)
    server = controller(args.dir, args.port)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    server.start()
    print(f"SMTP on 127.0.0.1:{args.port}, keeping messages in {args.dir}", flush=True)
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
