"""`python -m todoflow_dev.devstack up|down|status [service ...]`: the local stack, all on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from todoflow.core.settings import DEV_DIR, LOCAL_DATABASE_URL, LOCAL_KAFKA_PORT
from todoflow_dev.devstack import services

log = logging.getLogger("todoflow_dev.devstack")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m todoflow_dev.devstack", description=__doc__)
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("services", nargs="*", help=f"subset of {', '.join(services.ORDER)} (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chosen = args.services or list(services.ORDER)
    unknown = set(chosen) - set(services.ORDER)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}")
    if args.action == "up":
        for name in services.ORDER:
            if name in chosen:
                started = time.monotonic()
                services.start(name)
                log.info("%-8s up (%.1fs)", name, time.monotonic() - started)
        print_banner()
    elif args.action == "down":
        for name in reversed(services.ORDER):
            if name in chosen:
                log.info("%-8s %s", name, "stopped" if services.stop(name) else "was not running")
    else:
        for name in services.ORDER:
            log.info("%-8s %s", name, "running" if services.is_running(name) else "stopped")
    return 0


def print_banner() -> None:
    from todoflow_dev.devstack import airflow, metrics

    database_url = os.environ.get("DATABASE_URL") or LOCAL_DATABASE_URL
    print(
        f"""
todoflow local stack (state and logs under {DEV_DIR}):
  PostgreSQL   {database_url}   (Airflow metadata: database "airflow")
  Kafka        127.0.0.1:{LOCAL_KAFKA_PORT}   (KRaft, one node)
  Airflow UI   {airflow.API_URL}   user {airflow.ADMIN_USER}  password {airflow.admin_password()}
  REST API     {services.API_URL}   (docs: {services.API_URL}/docs)
  Prometheus   {metrics.PROMETHEUS_URL}   (StatsD in: udp 127.0.0.1:{metrics.STATSD_UDP_PORT}; HTTP API, e.g.
               {metrics.PROMETHEUS_URL}/api/v1/query?query=todoflow_api_requests_total)
Stop everything with `make down`.
""".rstrip()
    )


if __name__ == "__main__":
    sys.exit(main())
