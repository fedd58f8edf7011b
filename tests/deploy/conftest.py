"""Fixtures of the deploy tests: helm (pinned, installed by `make helm`) rendering the application chart offline."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from todoflow.core.settings import REPO_ROOT

CHART = REPO_ROOT / "helm-values" / "todoflow"
DOKS_VALUES = CHART / "values-doks.yaml"
RELEASE = "todoflow"
NAMESPACE = "todoflow"
# What CI passes: the commit the images were built from.
SHA = "0123456789abcdef0123456789abcdef01234567"
# The Kubernetes minor the chart is rendered for (helm's .Capabilities): the newest one checked below.
KUBE_VERSION = "1.35.0"

# Secret values as a deploy environment would hold them: they must never appear in a rendered object.
SENTINELS = {
    "DATABASE_URL": "postgresql://doadmin:sentinel-db-password-7f3a@db.example:25060/todoflow?sslmode=require",
    "JWT_SECRET_KEY": "sentinel-jwt-secret-key-0c4b9e2d81f6a7355d1e",
    "KAFKA_BOOTSTRAP_SERVERS": "sentinel-kafka-host.example:25073",
    "KAFKA_SASL_USERNAME": "sentinel-kafka-user-91d2",
    "KAFKA_SASL_PASSWORD": "sentinel-kafka-password-5b8e",
    "SMTP_USERNAME": "sentinel-smtp-user-3c7a",
    "SMTP_PASSWORD": "sentinel-smtp-password-e21f",
}


@pytest.fixture(scope="session")
def helm() -> str:
    """The pinned helm binary (built from the Go module proxy by `make helm` on first use)."""
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "helm"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    path = result.stdout.strip().splitlines()[-1]
    assert Path(path).is_file(), result.stdout + result.stderr
    return path


class HelmFailed(Exception):
    """helm exited non-zero; the message is its stderr."""


def run_helm(helm: str, *args: str) -> str:
    env = {**os.environ, **SENTINELS, "HELM_CACHE_HOME": "/nonexistent", "HELM_CONFIG_HOME": "/nonexistent"}
    result = subprocess.run([helm, *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise HelmFailed(result.stderr + result.stdout)
    return result.stdout


@pytest.fixture(scope="session")
def render(helm: str) -> Callable[..., list[dict[str, Any]]]:
    """`helm template` of the chart with the given values files and --set pairs, as a list of objects."""
    cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    def _render(values: tuple[Path, ...] = (), sets: tuple[str, ...] = (f"image.tag={SHA}",)) -> list[dict[str, Any]]:
        key = (values, sets)
        if key not in cache:
            args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
            for path in values:
                args += ["-f", str(path)]
            for pair in sets:
                args += ["--set", pair]
            text = run_helm(helm, *args)
            cache[key] = [doc for doc in yaml.safe_load_all(text) if doc]
        return cache[key]

    return _render
