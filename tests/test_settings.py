"""The one settings layer: every variable defined once, one error naming it, README's tables equal to the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from todoflow.api import config as api_config
from todoflow.core import settings
from todoflow.core.settings import (
    GROUPS,
    REPO_ROOT,
    ApiSettings,
    DeliverySettings,
    PipelineSettings,
    RelaySettings,
    ServeSettings,
    Settings,
    SettingsError,
    Var,
    all_variables,
)

TODOFLOW = str(Path(sys.executable).with_name("todoflow"))
# A README configuration table: header row, separator, then one `| `NAME` | default | meaning |` row per variable.
TABLE_HEADER = re.compile(r"^\| variable \| default[^|]*\| meaning \|$")
ROW = re.compile(r"^\| `(?P<name>[A-Z][A-Z0-9_]*)` \| (?P<default>[^|]*?) \| [^|]*\|$")
# The only product module that touches os.environ besides the layer, and why.
ENVIRONMENT_PASSED_ON = {
    # LocalJobOperator gives the job subprocess the worker's whole environment (as a pod gets its Secret's keys).
    "webapi/todoflow/pipeline/local.py",
}


def _readme_rows() -> list[tuple[str, str]]:
    """(variable, default cell) of every row of every configuration table in README.md."""
    rows: list[tuple[str, str]] = []
    in_table = False
    for line in (REPO_ROOT / "README.md").read_text().splitlines():
        if TABLE_HEADER.match(line):
            in_table = True
            continue
        if in_table and line.startswith("|---"):
            continue
        if in_table and line.startswith("|"):
            row = ROW.match(line)
            assert row, f"README configuration row names one variable per row: {line}"
            rows.append((row["name"], row["default"]))
            continue
        in_table = False
    return rows


def _by_name() -> dict[str, Var]:
    return {var.name: var for var in all_variables()}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No variable of the layer set, but those the suite needs to stay on its own services and the JWT secret."""
    keep = {"TODOFLOW_DEV_DIR", "TODOFLOW_PG_PORT", "TODOFLOW_KAFKA_PORT", "JWT_SECRET_KEY"}
    for var in all_variables():
        if var.name not in keep:
            monkeypatch.delenv(var.name, raising=False)
    return monkeypatch


def test_every_variable_is_defined_once() -> None:
    names = [var.name for var in all_variables()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert all(var.meaning for var in all_variables())


def test_readme_tables_list_exactly_the_variables_of_the_layer_with_their_defaults() -> None:
    rows = _readme_rows()
    documented = [name for name, _ in rows]
    assert len(documented) == len(set(documented)), "a variable documented twice"
    defined = _by_name()
    assert sorted(set(defined) - set(documented)) == [], "defined in core/settings.py but not in README"
    assert sorted(set(documented) - set(defined)) == [], "documented in README but read by no code"
    wrong = {
        name: (cell, defined[name].default_text())
        for name, cell in rows
        if not cell.startswith(defined[name].default_text())
    }
    assert wrong == {}, "README default (cell, code) differs"


def test_the_readme_check_sees_a_missing_row_and_a_wrong_default() -> None:
    # The check above would pass on an empty parse: make sure it parses every table README has.
    names = {name for name, _ in _readme_rows()}
    assert {"DATABASE_URL", "JWT_SECRET_KEY", "RELAY_BATCH_SIZE", "TODOFLOW_JOB_MODE", "DELIVERY_WORKERS"} <= names
    assert _by_name()["RELAY_BATCH_SIZE"].default_text() == "`2000`"
    assert _by_name()["JWT_ACCESS_TOKEN_EXPIRES"].default_text() == "`900`"


def test_no_product_module_reads_the_environment_but_the_layer() -> None:
    readers = []
    for path in [*(REPO_ROOT / "webapi" / "todoflow").rglob("*.py"), *(REPO_ROOT / "dags").glob("*.py")]:
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative == "webapi/todoflow/core/settings.py" or relative in ENVIRONMENT_PASSED_ON:
            continue
        if re.search(r"\bos\.(environ|getenv)\b|\bgetenv\(", path.read_text()):
            readers.append(relative)
    assert readers == []


def test_defaults_when_nothing_is_set(clean_env: pytest.MonkeyPatch) -> None:
    for group in GROUPS.values():
        built = group()
        for var, value in built.values():
            if var.name in ("TODOFLOW_DEV_DIR", "TODOFLOW_PG_PORT", "TODOFLOW_KAFKA_PORT", "JWT_SECRET_KEY"):
                continue
            expected = var.default() if callable(var.default) else var.default
            assert value == expected, var.name
    relay = RelaySettings()
    assert (relay.batch_size, relay.poll_interval, relay.retention_hours) == (2000, 1.0, 72.0)
    assert ApiSettings().jwt_access_token_expires == timedelta(minutes=15)
    assert PipelineSettings().secret_keys == ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    assert PipelineSettings().in_cluster is None and ServeSettings().workers is None
    assert Settings().database_url == settings.LOCAL_DATABASE_URL


@pytest.mark.parametrize(
    ("group", "name", "raw", "message"),
    [
        (RelaySettings, "RELAY_BATCH_SIZE", "ten", "RELAY_BATCH_SIZE must be a whole number >= 1, not 'ten'"),
        (RelaySettings, "RELAY_BATCH_SIZE", "0", "RELAY_BATCH_SIZE must be a whole number >= 1, not 0"),
        (
            RelaySettings,
            "RELAY_POLL_INTERVAL_SECONDS",
            "0",
            "RELAY_POLL_INTERVAL_SECONDS must be a number > 0, not 0.0",
        ),
        (RelaySettings, "RELAY_BACKOFF_MAX_SECONDS", "-1", "RELAY_BACKOFF_MAX_SECONDS must be a number >= 0, not -1.0"),
        (RelaySettings, "RELAY_LOCK_KEY", "1.5", "RELAY_LOCK_KEY must be a whole number >= 0, not '1.5'"),
        (
            DeliverySettings,
            "DELIVERY_TIMEOUT_SECONDS",
            "soon",
            "DELIVERY_TIMEOUT_SECONDS must be a number > 0, not 'soon'",
        ),
        (DeliverySettings, "DELIVERY_WORKERS", "0", "DELIVERY_WORKERS must be a whole number >= 1, not 0"),
        (DeliverySettings, "SMTP_SECURITY", "ssl", "SMTP_SECURITY must be one of none, starttls, tls, not 'ssl'"),
        (DeliverySettings, "SMTP_PORT", "70000", "SMTP_PORT must be a whole number from 1 to 65535, not 70000"),
        (
            DeliverySettings,
            "WEBHOOK_ALLOW_PRIVATE_TARGETS",
            "maybe",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false (1/0, yes/no, on/off), not 'maybe'",
        ),
        (
            DeliverySettings,
            "DELIVERY_KAFKA_SESSION_TIMEOUT_MS",
            "45s",
            "DELIVERY_KAFKA_SESSION_TIMEOUT_MS must be a whole number >= 1, not '45s'",
        ),
        (ApiSettings, "LOGIN_DELAY_BASE", "0", "LOGIN_DELAY_BASE must be a whole number of seconds > 0, not 0"),
        (ApiSettings, "TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES must be a whole number >= 0, not -1"),
        (ApiSettings, "QUOTA_OPEN_TASKS", "many", "QUOTA_OPEN_TASKS must be a whole number >= 1, not 'many'"),
        (ServeSettings, "API_THREADS", "two", "API_THREADS must be a whole number >= 1, not 'two'"),
        (Settings, "STATSD_PORT", "0", "STATSD_PORT must be a whole number from 1 to 65535, not 0"),
        (Settings, "DB_POOL_SIZE", "five", "DB_POOL_SIZE must be a whole number >= 1, not 'five'"),
        (
            PipelineSettings,
            "TODOFLOW_JOB_MODE",
            "docker",
            "TODOFLOW_JOB_MODE must be one of local, kubernetes, not 'docker'",
        ),
        (
            PipelineSettings,
            "TODOFLOW_QUALITY_RETRIES",
            "-1",
            "TODOFLOW_QUALITY_RETRIES must be a whole number >= 0, not -1",
        ),
    ],
)
def test_a_bad_value_is_one_error_naming_the_variable_and_the_value(
    clean_env: pytest.MonkeyPatch, group: type, name: str, raw: str, message: str
) -> None:
    clean_env.setenv(name, raw)
    with pytest.raises(SettingsError) as caught:
        group()
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_every_number_rejects_text_by_name(clean_env: pytest.MonkeyPatch) -> None:
    for group in GROUPS.values():
        for var in settings.variables(group):
            if var.kind in (int, float, timedelta):
                clean_env.setenv(var.name, "not-a-number")
                with pytest.raises(SettingsError, match=f"^{var.name} must be .*, not 'not-a-number'$"):
                    group()
                clean_env.delenv(var.name)


def test_values_are_parsed_and_blank_means_default(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RELAY_BATCH_SIZE", " 50 ")
    clean_env.setenv("RELAY_POLL_INTERVAL_SECONDS", "")
    clean_env.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "Yes")
    clean_env.setenv("SMTP_SECURITY", "STARTTLS")
    clean_env.setenv("TODOFLOW_K8S_SECRET_KEYS", "DATABASE_URL, KAFKA_SASL_PASSWORD,,")
    clean_env.setenv("TODOFLOW_K8S_IN_CLUSTER", "false")
    clean_env.setenv("JWT_REFRESH_TOKEN_EXPIRES", "60")
    assert (RelaySettings().batch_size, RelaySettings().poll_interval) == (50, 1.0)
    delivery = DeliverySettings()
    assert delivery.allow_private_targets is True and delivery.smtp.security == "starttls"
    assert PipelineSettings().secret_keys == ("DATABASE_URL", "KAFKA_SASL_PASSWORD")
    assert PipelineSettings().in_cluster is False
    assert ApiSettings().jwt_refresh_token_expires == timedelta(seconds=60)


def test_explicit_values_are_checked_too(clean_env: pytest.MonkeyPatch) -> None:
    # `todoflow relay --batch-size 0` replaces a field: the same check, the same error.
    import dataclasses

    with pytest.raises(SettingsError, match="RELAY_BATCH_SIZE must be a whole number >= 1, not 0"):
        dataclasses.replace(RelaySettings(), batch_size=0)
    with pytest.raises(SettingsError, match="TODOFLOW_IMAGE must name the application image"):
        PipelineSettings(mode="kubernetes")


def test_the_jwt_secret_is_required_and_never_shown(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("JWT_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match=r"^JWT_SECRET_KEY must be set to a secret of at least 32 characters$"):
        ApiSettings()
    clean_env.setenv("JWT_SECRET_KEY", "short-but-secret")
    with pytest.raises(SettingsError) as caught:
        api_config.load()
    assert str(caught.value) == "JWT_SECRET_KEY must be a secret of at least 32 characters; it has 16"
    # A secret given to create_app(config) needs none in the environment.
    secret = "s" * 32
    loaded = api_config.load({"JWT_SECRET_KEY": secret})
    assert loaded["JWT_SECRET_KEY"] == secret and loaded["LOGIN_DELAY_MAX"] == timedelta(seconds=60)


def test_secrets_never_appear_in_a_repr(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KAFKA_SASL_PASSWORD", "kafka-password-value")
    clean_env.setenv("SMTP_PASSWORD", "smtp-password-value")
    clean_env.setenv("JWT_SECRET_KEY", "jwt-secret-value-of-thirty-two-chars")
    shown = repr(Settings()) + repr(DeliverySettings()) + repr(ApiSettings())
    assert Settings().kafka_sasl_password == "kafka-password-value"
    for secret in ("kafka-password-value", "smtp-password-value", "jwt-secret-value"):
        assert secret not in shown
    assert {var.name for var in all_variables() if var.secret} == {
        "KAFKA_SASL_PASSWORD",
        "SMTP_PASSWORD",
        "JWT_SECRET_KEY",
    }


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TODOFLOW, *argv], env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_a_bad_value_stops_the_command_that_needs_it_and_only_that_one() -> None:
    relay = _run("relay", RELAY_BATCH_SIZE="ten")
    assert relay.returncode == 2
    assert "RELAY_BATCH_SIZE must be a whole number >= 1, not 'ten'" in relay.stderr
    deliver = _run("deliver", SMTP_SECURITY="ssl")
    assert deliver.returncode == 2
    assert "SMTP_SECURITY must be one of none, starttls, tls, not 'ssl'" in deliver.stderr
    topics = _run("create-topics", KAFKA_TOPIC_PARTITIONS="six")
    assert topics.returncode == 2
    assert "KAFKA_TOPIC_PARTITIONS must be a whole number >= 1, not 'six'" in topics.stderr
    serve = _run("serve-api", API_THREADS="two")
    assert serve.returncode != 0 and "API_THREADS must be a whole number >= 1, not 'two'" in serve.stderr
    # The API's settings are not read while every command's parser is built.
    assert _run("relay", "--help", API_THREADS="two", WEB_CONCURRENCY="x").returncode == 0
