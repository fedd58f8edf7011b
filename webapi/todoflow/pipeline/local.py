"""LocalJobOperator: runs a job's argv as a subprocess of the Airflow worker (the local mode)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException


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
    def subprocess_hook(self) -> Any:
        from airflow.providers.standard.hooks.subprocess import SubprocessHook

        return SubprocessHook()

    def argv(self) -> list[str]:
        """The full argv as it will run (call after templates are rendered)."""
        return [resolve_executable(self.command[0]), *self.command[1:], *(str(a) for a in self.arguments)]

    def execute(self, context: Any) -> None:
        argv = self.argv()
        env = {**os.environ, **{k: str(v) for k, v in self.env_vars.items()}}
        result = self.subprocess_hook.run_command(argv, env=env)
        if result.exit_code != 0:
            command = " ".join([*self.command, *argv[len(self.command) :]])
            raise AirflowException(f"{command} exited with code {result.exit_code}: {result.output}")

    def on_kill(self) -> None:
        self.subprocess_hook.send_sigterm()
