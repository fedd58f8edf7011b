"""The API's place in the local stack: after PostgreSQL and Kafka, with a JWT secret generated once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from todoflow_dev.devstack import api as local
from todoflow_dev.devstack import services


def test_api_starts_after_the_data_services_and_before_airflow() -> None:
    order = list(services.ORDER)
    assert order.index("postgres") < order.index("kafka") < order.index("api") < order.index("airflow")
    assert services.API_URL == "http://127.0.0.1:8000"


def test_local_jwt_secret_is_generated_once_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "API_HOME", tmp_path)
    monkeypatch.setattr(local, "SECRETS_FILE", tmp_path / "local-secrets.json")
    first = local.jwt_secret()
    assert len(first) >= 32
    assert local.jwt_secret() == first
    assert stat.S_IMODE((tmp_path / "local-secrets.json").stat().st_mode) == 0o600
