"""Metrics in the local stack: a real statsd_exporter (StatsD in, Prometheus metrics out) and a real Prometheus.

Both are Go programs built by `make tools` with `go install` at pinned versions into a cache outside the repo,
`~/.cache/todoflow/tools/<name>-<version>/<name>`. The exporter loads helm-values/monitoring/statsd-mappings.yml,
Prometheus scrapes it and loads the alert rules in helm-values/monitoring/todoflow.rules.yml: the same files the
cluster uses. Everything listens on 127.0.0.1 only. The tests start their own pair on free ports (`MetricsStack`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from todoflow.core.settings import DEV_DIR
from todoflow_dev.devstack import procs

# Pinned versions: the Makefile's STATSD_EXPORTER_VERSION / PROMETHEUS_VERSION say the same (a test checks).
STATSD_EXPORTER_VERSION = "v0.31.0"
# The Go module version of Prometheus v3.16.0 (module versions are v0.3xx.y for Prometheus v3.xx.y).
PROMETHEUS_VERSION = "v0.316.0"

REPO = Path(__file__).resolve().parents[3]
MONITORING = REPO / "helm-values" / "monitoring"
MAPPINGS_FILE = MONITORING / "statsd-mappings.yml"
RULES_FILE = MONITORING / "todoflow.rules.yml"
RULE_TESTS_FILE = MONITORING / "todoflow.rules.test.yml"
# A server-rendered query page (console template): a `go install`ed Prometheus has no React UI assets.
CONSOLES_DIR = MONITORING / "consoles"

STATSD_UDP_PORT = 8125
EXPORTER_WEB_PORT = 9102
PROMETHEUS_PORT = 9090
PROMETHEUS_URL = f"http://127.0.0.1:{PROMETHEUS_PORT}"
HOME = DEV_DIR / "metrics"


def tools_dir() -> Path:
    """Where the pinned Go tools are built: TODOFLOW_TOOLS, else ~/.cache/todoflow/tools."""
    return Path(os.environ.get("TODOFLOW_TOOLS") or Path.home() / ".cache" / "todoflow" / "tools")


def statsd_exporter_bin() -> Path:
    """The pinned statsd_exporter binary."""
    return tools_dir() / f"statsd_exporter-{STATSD_EXPORTER_VERSION}" / "statsd_exporter"


def prometheus_bin() -> Path:
    """The pinned Prometheus binary."""
    return tools_dir() / f"prometheus-{PROMETHEUS_VERSION}" / "prometheus"


def promtool_bin() -> Path:
    """The pinned promtool binary."""
    return tools_dir() / f"prometheus-{PROMETHEUS_VERSION}" / "promtool"


def require(binary: Path) -> Path:
    """The tool, or a message saying how to install it."""
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"{binary} is missing: run `make metrics-tools` (go install at the pinned version)")
    return binary


def exporter_argv(udp_port: int, web_port: int, mappings: Path = MAPPINGS_FILE) -> list[str]:
    """The statsd_exporter command: UDP on udp_port, metrics on web_port, our mappings."""
    return [
        str(require(statsd_exporter_bin())),
        f"--statsd.listen-udp=127.0.0.1:{udp_port}",
        "--statsd.listen-tcp=",
        f"--web.listen-address=127.0.0.1:{web_port}",
        f"--statsd.mapping-config={mappings}",
    ]


def prometheus_config(exporter_port: int, scrape_interval: str, rules: Path = RULES_FILE) -> dict[str, Any]:
    """Prometheus's configuration: scrape the exporter, evaluate our rules (JSON is valid YAML)."""
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "statsd-exporter",
                # The exporter's own labels (none clash today) win over target labels, as in the cluster.
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
            }
        ],
    }


def prometheus_argv(port: int, config_file: Path, data_dir: Path) -> list[str]:
    """The Prometheus command: config_file, data in data_dir, web on 127.0.0.1:port."""
    return [
        str(require(prometheus_bin())),
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=7d",
        f"--web.console.templates={CONSOLES_DIR}",
    ]


def write_prometheus_config(home: Path, exporter_port: int, scrape_interval: str) -> Path:
    """Write prometheus.yml (scraping the exporter) under home; its path."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(json.dumps(prometheus_config(exporter_port, scrape_interval), indent=2) + "\n")
    return config


def http_ok(url: str) -> bool:
    """Whether GET url answers 200."""
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - our loopback servers
        return bool(response.status == 200)


def query(base_url: str, promql: str, at: float | None = None) -> list[dict[str, Any]]:
    """An instant query through Prometheus's HTTP API; raises on an error answer (a bad expression)."""
    params = {"query": promql}
    if at is not None:
        params["time"] = f"{at:.3f}"
    url = f"{base_url}/api/v1/query?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our loopback servers
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{promql!r}: {exc.read().decode(errors='replace')}") from exc
    if body.get("status") != "success":
        raise RuntimeError(f"{promql!r}: {body}")
    result = body["data"]["result"]
    return result if isinstance(result, list) else [result]


# ------------------------------------------------------------------------------------------- local stack


def is_running() -> bool:
    """Whether both Prometheus and the exporter listen on their ports."""
    return procs.port_open(PROMETHEUS_PORT) and procs.port_open(EXPORTER_WEB_PORT)


def start() -> None:
    """The exporter on UDP 127.0.0.1:8125 (web 9102) and Prometheus on 127.0.0.1:9090, scraping every 5 s."""
    env = dict(os.environ)
    if not procs.port_open(EXPORTER_WEB_PORT):
        log = HOME / "statsd_exporter.log"
        procs.start("statsd_exporter", exporter_argv(STATSD_UDP_PORT, EXPORTER_WEB_PORT), env, log, supervise=True)
        procs.wait_for(lambda: http_ok(f"http://127.0.0.1:{EXPORTER_WEB_PORT}/metrics"), "statsd_exporter", 30, log)
    if not procs.port_open(PROMETHEUS_PORT):
        log = HOME / "prometheus.log"
        config = write_prometheus_config(HOME, EXPORTER_WEB_PORT, "5s")
        procs.start("prometheus", prometheus_argv(PROMETHEUS_PORT, config, HOME / "data"), env, log, supervise=True)
        procs.wait_for(lambda: http_ok(f"{PROMETHEUS_URL}/-/ready"), "Prometheus", 60, log)


def stop() -> bool:
    """Stop Prometheus and the exporter; True if one was running."""
    stopped_prometheus = procs.stop("prometheus", timeout=30)
    stopped_exporter = procs.stop("statsd_exporter", timeout=10)
    return stopped_prometheus or stopped_exporter


# ------------------------------------------------------------------------------------------- tests


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port of kind (TCP or UDP) on 127.0.0.1 that nobody uses right now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MetricsStack:
    """A private exporter + Prometheus on free ports with its own data dir (what the tests start)."""

    home: Path
    scrape_interval: str = "1s"
    udp_port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    exporter_port: int = field(default_factory=free_port)
    prometheus_port: int = field(default_factory=free_port)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def exporter_url(self) -> str:
        """The exporter's base URL."""
        return f"http://127.0.0.1:{self.exporter_port}"

    @property
    def prometheus_url(self) -> str:
        """Prometheus's base URL."""
        return f"http://127.0.0.1:{self.prometheus_port}"

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.home / f"{name}.log", "ab")
        self._procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        log.close()

    def start(self, with_prometheus: bool = True) -> MetricsStack:
        """Start the exporter (and Prometheus) and wait until they are ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._spawn("statsd_exporter", exporter_argv(self.udp_port, self.exporter_port))
        procs.wait_for(
            lambda: http_ok(f"{self.exporter_url}/metrics"), "statsd_exporter", 30, self.home / "statsd_exporter.log"
        )
        if with_prometheus:
            config = write_prometheus_config(self.home, self.exporter_port, self.scrape_interval)
            self._spawn("prometheus", prometheus_argv(self.prometheus_port, config, self.home / "data"))
            procs.wait_for(
                lambda: http_ok(f"{self.prometheus_url}/-/ready"), "Prometheus", 60, self.home / "prometheus.log"
            )
        return self

    def stop(self) -> None:
        """Stop every process of this stack."""
        for proc in reversed(self._procs):
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def exporter_metrics(self) -> str:
        """The exporter's /metrics page."""
        with urllib.request.urlopen(f"{self.exporter_url}/metrics", timeout=5) as response:  # noqa: S310 - our loopback servers
            return str(response.read().decode())

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The result of an instant query to this stack's Prometheus."""
        return query(self.prometheus_url, promql)

    def wait_scraped(self, timeout: float = 30.0) -> None:
        """Until Prometheus has scraped the exporter after now (so what was sent before is in the TSDB)."""
        sent = time.time()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for target in _targets(self.prometheus_url):
                last = target.get("lastScrape", "")
                if target.get("health") == "up" and _parse_rfc3339(last) > sent:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"Prometheus did not scrape the exporter within {timeout:.0f}s")


def _targets(base_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base_url}/api/v1/targets", timeout=5) as response:  # noqa: S310 - our loopback servers
        return list(json.load(response)["data"]["activeTargets"])


def _parse_rfc3339(value: str) -> float:
    from datetime import datetime

    if not value:
        return 0.0
    # Prometheus gives nanoseconds; Python parses up to microseconds.
    head, _, rest = value.partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    zone = rest[len("".join(ch for ch in rest if ch.isdigit())) :] or "Z"
    text = f"{head}.{fraction or '0'}{zone}".replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()
