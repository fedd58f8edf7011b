"""`todoflow <command>`: the one entry point of the application image (API, relay, jobs, operations).

Each command lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`; the
Airflow job pods and local subprocesses run exactly these commands.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from todoflow.core.logformat import LOG_FORMAT

# command -> (module, one-line help); modules are imported only when their command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "migrate": ("todoflow.ops.migrate", "apply database migrations (Alembic) to DATABASE_URL"),
    "serve-api": ("todoflow.api.serve", "serve the REST API with gunicorn (long-running)"),
    "create-topics": ("todoflow.ops.topics", "create the Kafka topics with their configured settings"),
    "relay": ("todoflow.relay.main", "publish the event outbox to Kafka (long-running)"),
    "expand-recurrences": ("todoflow.jobs.expand", "create due occurrences of recurring tasks"),
    "sweep-due": ("todoflow.jobs.sweep", "notify owners of open tasks due soon"),
    "write-event-log": ("todoflow.jobs.event_log", "write task events from Kafka into task_event_log"),
    "check-schedules": ("todoflow.quality.job", "run the data-quality checks over the schedules"),
    "deliver": ("todoflow.delivery.main", "deliver events to webhooks and reminders by email (long-running)"),
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The `todoflow` parser; only the command named in argv gets its arguments (and its module imported)."""
    requested = next((arg for arg in argv if arg in COMMANDS), None)
    parser = argparse.ArgumentParser(prog="todoflow", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(_module=module_name)
        if name == requested:
            importlib.import_module(module_name).add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `todoflow <argv>` (default: the process's arguments); returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list).parse_args(args_list)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    module = importlib.import_module(args._module)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
