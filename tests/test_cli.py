"""`todoflow <command>`: the parser is built from the argv it is given, never from sys.argv."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest

from todoflow import cli


def test_build_parser_adds_the_arguments_of_the_command_in_argv_not_sys_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["todoflow", "expand-recurrences", "--shards", "4"])
    argv = ["sweep-due", "--as-of", "2026-03-08T12:00:00Z", "--window", "90m"]
    args = cli.build_parser(argv).parse_args(argv)
    assert args.command == "sweep-due" and args.window == timedelta(minutes=90)
    assert args.as_of == datetime(2026, 3, 8, 12, tzinfo=UTC)
    assert sys.argv == ["todoflow", "expand-recurrences", "--shards", "4"]


def test_build_parser_without_a_command_knows_every_command() -> None:
    parser = cli.build_parser([])
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args([])
    assert exit_info.value.code == 2
    for name in cli.COMMANDS:
        assert parser.parse_args([name]).command == name  # no command's own arguments were added


def test_main_runs_one_command_after_another_in_one_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv_before = list(sys.argv)
    for argv, option in [
        (["sweep-due", "--as-of", "2026-03-08", "--window", "soon"], "--window"),
        (["expand-recurrences", "--as-of", "2026-03-08", "--chunk-size", "0"], "--chunk-size"),
        (["check-schedules", "--as-of", "2026-03-08", "--since", "never"], "--since"),
        (["sweep-due", "--as-of", "2026-03-08", "--batch-size", "-1"], "--batch-size"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
        assert f"todoflow {argv[0]}: error: argument {option}" in capsys.readouterr().err
    assert sys.argv == argv_before

    ran: list[tuple[str, object]] = []
    monkeypatch.setattr("todoflow.ops.migrate.run", lambda args: ran.append(("migrate", args.revision)) or 0)
    assert cli.main(["migrate", "--revision", "0004_jobs"]) == 0
    assert ran == [("migrate", "0004_jobs")]
    assert sys.argv == argv_before
