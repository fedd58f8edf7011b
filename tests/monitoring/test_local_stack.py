"""The local stack's metrics service: `make up` starts exporter + Prometheus on 127.0.0.1, `make down` stops both."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from todoflow_dev.devstack import metrics, procs, services


@pytest.fixture
def private_ports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The service's real start/stop on free ports and a scratch home (never the stack's 8125/9102/9090)."""
    monkeypatch.setattr(procs, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(metrics, "HOME", tmp_path / "metrics")
    monkeypatch.setattr(metrics, "STATSD_UDP_PORT", metrics.free_port(socket.SOCK_DGRAM))
    monkeypatch.setattr(metrics, "EXPORTER_WEB_PORT", metrics.free_port())
    port = metrics.free_port()
    monkeypatch.setattr(metrics, "PROMETHEUS_PORT", port)
    monkeypatch.setattr(metrics, "PROMETHEUS_URL", f"http://127.0.0.1:{port}")
    return tmp_path


def test_up_serves_labelled_series_and_down_stops_both(private_ports: Path) -> None:
    assert "metrics" in services.ORDER
    services.start("metrics")
    try:
        assert services.is_running("metrics")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"todoflow.api.requests.tasks.list_tasks.GET.200:1|c", ("127.0.0.1", metrics.STATSD_UDP_PORT))
        deadline = time.monotonic() + 60
        while True:
            url = f"{metrics.PROMETHEUS_URL}/api/v1/query?query=todoflow_api_requests_total"
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our loopback server
                result = json.load(response)["data"]["result"]
            if result or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert result and result[0]["metric"]["endpoint"] == "tasks.list_tasks"
        assert result[0]["metric"]["method"] == "GET" and result[0]["metric"]["status"] == "200"
        # A person opens the query page in a browser and sees the labelled series (server-rendered, no JS).
        page_url = f"{metrics.PROMETHEUS_URL}/consoles/index.html?query=todoflow_api_requests_total"
        with urllib.request.urlopen(page_url, timeout=5) as response:  # noqa: S310 - our loopback server
            page = response.read().decode()
        assert 'endpoint="tasks.list_tasks"' in page and 'method="GET"' in page and 'status="200"' in page, page
        assert page.count('class="series"') == len(result)
        # The rules are loaded, and every listener is on the loopback interface.
        with urllib.request.urlopen(f"{metrics.PROMETHEUS_URL}/api/v1/rules", timeout=5) as response:  # noqa: S310
            assert json.load(response)["data"]["groups"]
        config = (private_ports / "metrics" / "prometheus.yml").read_text()
        assert f"127.0.0.1:{metrics.EXPORTER_WEB_PORT}" in config
    finally:
        assert services.stop("metrics") is True
    assert not services.is_running("metrics")
    assert procs.read_pid("prometheus") is None and procs.read_pid("statsd_exporter") is None
    assert services.stop("metrics") is False
