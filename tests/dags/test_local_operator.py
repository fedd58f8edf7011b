"""Local mode: LocalJobOperator runs the job's argv as a subprocess, streams its output, fails on a non-zero exit."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from todoflow.pipeline.local import LocalJobOperator, resolve_executable


def test_the_todoflow_command_is_the_projects_own() -> None:
    assert resolve_executable("todoflow") == str(__import__("pathlib").Path(sys.executable).with_name("todoflow"))


def test_a_job_runs_and_its_output_reaches_the_task_log(database_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    operator = LocalJobOperator(
        task_id="sweep_due",
        command=["todoflow"],
        arguments=["sweep-due", "--as-of", "2026-03-01T10:00:00+00:00", "--window", "2h"],
    )
    operator.execute({})
    # Airflow's task logger (structlog) writes to the captured stdout, one log line per line of output.
    logged = capfd.readouterr().out
    assert "sweep done" in logged
    assert "sweeping tasks due within 2:00:00 of 2026-03-01T10:00:00+00:00" in logged


def test_a_non_zero_exit_fails_the_task_with_the_jobs_last_words(database_url: str) -> None:
    from airflow.sdk.exceptions import AirflowException

    operator = LocalJobOperator(
        task_id="sweep_due", command=["todoflow"], arguments=["sweep-due", "--as-of", "not-a-date"]
    )
    with pytest.raises(AirflowException, match=r"todoflow sweep-due --as-of not-a-date exited with code 2"):
        operator.execute({})


def test_env_vars_reach_the_job_on_top_of_the_workers_environment() -> None:
    operator = LocalJobOperator(
        task_id="env",
        command=[sys.executable, "-c"],
        arguments=["import os, sys; sys.exit(0 if os.environ['PROBE'] == 'yes' and os.environ['PATH'] else 3)"],
        env_vars={"PROBE": "yes"},
    )
    operator.execute({})


def test_on_kill_stops_the_job() -> None:
    operator = LocalJobOperator(
        task_id="sleeper", command=[sys.executable, "-c"], arguments=["import time; time.sleep(120)"]
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            operator.execute({})
        except BaseException as exc:  # noqa: BLE001 - the thread hands whatever ended it to the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 20
    while operator.subprocess_hook.sub_process is None and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    operator.on_kill()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert time.monotonic() - started < 10
    assert errors and "exited with code -15" in str(errors[0])


def test_a_failing_jobs_errors_reach_the_task_log_as_errors(
    database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    import re

    from airflow.sdk.exceptions import AirflowException

    missing_db = database_url.rsplit("/", 1)[0] + "/todoflow_no_such_database"
    operator = LocalJobOperator(
        task_id="sweep_due",
        command=["todoflow"],
        arguments=["sweep-due", "--as-of", "2026-03-01T10:00:00+00:00"],
        env_vars={"DATABASE_URL": missing_db},
    )
    with pytest.raises(AirflowException, match="exited with code 1"):
        operator.execute({})
    logged = capfd.readouterr().out
    # Airflow's task log (structlog) shows each line's level: the job's error and its traceback are errors.
    assert re.search(r"\[error\s*\] ERROR \S+ \S+ todoflow\.jobs sweep failed", logged), logged
    assert re.search(r"\[error\s*\] Traceback \(most recent call last\):", logged), logged
    assert re.search(r"\[error\s*\] .*todoflow_no_such_database", logged), logged
    assert re.search(r"\[info\s*\] INFO \S+ \S+ todoflow\.jobs\.sweep sweeping tasks due", logged), logged


def test_warnings_of_a_job_that_succeeds_stay_warnings(database_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    import re

    operator = LocalJobOperator(
        task_id="job",
        command=[sys.executable, "-c"],
        arguments=[
            "import logging; from todoflow.core.logformat import LOG_FORMAT;"
            "logging.basicConfig(format=LOG_FORMAT, level=20);"
            "log = logging.getLogger('todoflow.jobs'); log.info('working'); log.warning('skipped 2 task(s)');"
            "print('a plain line after the warning')"
        ],
    )
    operator.execute({})
    logged = capfd.readouterr().out
    assert re.search(r"\[info\s*\] INFO \S+ \S+ todoflow\.jobs working", logged), logged
    assert re.search(r"\[warning\s*\] WARNING \S+ \S+ todoflow\.jobs skipped 2 task\(s\)", logged), logged
    assert re.search(r"\[warning\s*\] a plain line after the warning", logged), logged


def test_the_pod_log_reader_sees_a_failed_jobs_error_as_an_error(database_url: str) -> None:
    """In the cluster the KubernetesPodOperator reads the pod's log and logs each line at the level its prefix
    names (info otherwise): the same failing job's output, read by the provider's own parser, has its error
    record at error level and its progress at info."""
    import logging
    import subprocess

    from airflow.providers.cncf.kubernetes.utils.pod_manager import _parse_log_level

    missing_db = database_url.rsplit("/", 1)[0] + "/todoflow_no_such_database"
    out = subprocess.run(
        [resolve_executable("todoflow"), "sweep-due", "--as-of", "2026-03-01T10:00:00+00:00"],
        env={**os.environ, "DATABASE_URL": missing_db},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    levels = {line: _parse_log_level(line) for line in out.stderr.splitlines()}
    assert any(level == logging.ERROR and "sweep failed" in line for line, level in levels.items()), levels
    assert any(level == logging.INFO and "sweeping tasks due" in line for line, level in levels.items()), levels
