"""The local stack's SMTP server as `make up` runs it: a process that keeps every message as a file."""

from __future__ import annotations

import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from tests.support import wait_until
from todoflow_dev.devstack import mail, procs


def test_mail_server_process_keeps_messages_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, directory = mail.free_port(), tmp_path / "mail"
    argv = [sys.executable, "-m", "todoflow_dev.devstack.mail", "--dir", str(directory), "--port", str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: procs.port_open(port), 30, "the SMTP server")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "hello"
        message.set_content("kept")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(message)
        kept = mail.messages(directory)
        assert [(m["Subject"], m["X-RcptTo"], m.get_content().strip()) for m in kept] == [
            ("hello", "b@example.com", "kept")
        ]
        assert len(list((directory / "new").iterdir())) == 1  # one plain file per message
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(15) == 0
