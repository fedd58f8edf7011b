"""Fixtures of the deploy tests: helm (pinned, installed by `make helm`) rendering the application chart offline."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.support import CHART, KUBE_VERSION, NAMESPACE, RELEASE, SHA, run_helm
from todoflow.core.settings import REPO_ROOT


@pytest.fixture(scope="session")
def helm() -> str:
    """The pinned helm binary (built from the Go module proxy by `make helm` on first use)."""
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "helm"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    path = result.stdout.strip().splitlines()[-1]
    assert Path(path).is_file(), result.stdout + result.stderr
    return path


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
