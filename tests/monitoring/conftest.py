"""A private statsd_exporter + Prometheus (real binaries from `make metrics-tools`) on free 127.0.0.1 ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from todoflow_dev.devstack.metrics import MetricsStack


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsStack]:
    """Only the exporter, with the repository's mapping file."""
    stack = MetricsStack(Path(tmp_path_factory.mktemp("exporter"))).start(with_prometheus=False)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def metrics_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsStack]:
    """Exporter and Prometheus (scraping every second, evaluating our rules), with their own data dir."""
    stack = MetricsStack(Path(tmp_path_factory.mktemp("metrics")), scrape_interval="1s").start()
    yield stack
    stack.stop()
