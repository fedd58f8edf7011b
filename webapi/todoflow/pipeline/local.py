"""LocalJobOperator: runs a job's argv as a subprocess of the Airflow worker (the local mode)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from subprocess import PIPE, STDOUT, Popen
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from todoflow.core.logformat import line_level


class JobProcess:
    """The job as a child process in its own session; its output goes to a logger, line by line.

    Each line is logged at the level of the job's own log record (an error of the job is an error in the task
    log, not info).
    """

    def __init__(self, log: Any) -> None:
        self.log = log
        self.sub_process: Popen[bytes] | None = None

    def run(self, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
        """Run argv to its end; returns (exit code, last line of output)."""
        self.log.info("Running command: %s", argv)
        self.sub_process = Popen(argv, stdout=PIPE, stderr=STDOUT, env=env, start_new_session=True)
        level, last = logging.INFO, ""
        assert self.sub_process.stdout is not None
        for raw in iter(self.sub_process.stdout.readline, b""):
            last = raw.decode("utf-8", errors="backslashreplace").rstrip()
            level = line_level(last, level)
            self.log.log(level, "%s", last)
        self.sub_process.wait()
        self.sub_process.stdout.close()
        return self.sub_process.returncode, last

    def send_sigterm(self) -> None:
        """SIGTERM to the job's process group (the job finishes its transaction and exits)."""
        if self.sub_process is not None and self.sub_process.poll() is None:
            self.log.info("Sending SIGTERM to the job's process group")
            os.killpg(os.getpgid(self.sub_process.pid), signal.SIGTERM)


def resolve_executable(name: str) -> str:
    """The command's path: next to this interpreter first (the project's venv), then on PATH."""
    if os.sep in name:
        return name
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise AirflowException(f"{name!r} is neither next to {sys.executable} nor on PATH")
    return found


class LocalJobOperator(BaseOperator):
    """Run command + arguments without a shell, stream its output to the task log, fail on a non-zero exit.

    The same argv a KubernetesPodOperator would give its container; the environment is the worker's
    (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS...) plus env_vars.
    """

    template_fields: Sequence[str] = ("arguments", "env_vars")
    template_fields_renderers = {"arguments": "py", "env_vars": "py"}
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        command: Sequence[str],
        arguments: Sequence[str],
        env_vars: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.command = list(command)
        self.arguments = list(arguments)
        self.env_vars = dict(env_vars or {})

    @cached_property
    def subprocess_hook(self) -> JobProcess:
        """The child process runner that logs to this task's log."""
        return JobProcess(self.log)

    def argv(self) -> list[str]:
        """The full argv as it will run (call after templates are rendered)."""
        return [resolve_executable(self.command[0]), *self.command[1:], *(str(a) for a in self.arguments)]

    def execute(self, context: Any) -> None:
        """Run the job; AirflowException with its last output line if it exits non-zero."""
        argv = self.argv()
        env = {**os.environ, **{k: str(v) for k, v in self.env_vars.items()}}
        exit_code, last_line = self.subprocess_hook.run(argv, env)
        if exit_code != 0:
            command = " ".join([*self.command, *argv[len(self.command) :]])
            raise AirflowException(f"{command} exited with code {exit_code}: {last_line}")

    def on_kill(self) -> None:
        """Send SIGTERM to the job's process group."""
        self.subprocess_hook.send_sigterm()
