"""`python -m todoflow_dev.devstack up|down|status [service ...]` or `airflow ARGS...`: the local stack on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from todoflow.core.settings import DEV_DIR, LOCAL_DATABASE_URL, LOCAL_KAFKA_PORT
from todoflow_dev.devstack import postgres, procs, services

log = logging.getLogger("todoflow_dev.devstack")


def main(argv: list[str] | None = None) -> int:
    """Start, stop or list the local stack's services, or run the Airflow CLI against it."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["airflow"]:
        # Everything after "airflow" belongs to the Airflow CLI, options included.
        from todoflow_dev.devstack import airflow

        return airflow.cli(args_in[1:])
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
        print(format_status(status_rows()))
    return 0


def status_rows() -> list[dict[str, object]]:
    """One row per process of the stack, for `make status`.

    Each service's processes come first (by name: the service or `<service>-*`), then any other process started
    under .dev/run; a service with no process of ours shows up or down.
    """
    names = procs.started_names()
    rows: list[dict[str, object]] = []
    for service in services.ORDER:
        mine = [n for n in names if n == service or n.startswith(f"{service}-")]
        if mine:
            rows += [procs.process_status(n) for n in mine]
        else:
            # PostgreSQL runs under pg_ctl (the postmaster supervises its own backends), not under .dev/run.
            up = services.is_running(service)
            pid = postgres.postmaster_pid() if up and service == "postgres" else None
            rows.append({"name": service, "state": "up" if up else "down", "pid": pid})
        names = [n for n in names if n not in mine]
    rows += [procs.process_status(n) for n in names]
    return rows


def format_status(rows: list[dict[str, object]]) -> str:
    """The rows of status_rows() as the table `make status` prints."""
    header = f"{'process':<24} {'state':<8} {'pid':>8} {'supervisor':>10} {'restarts':>8} {'for':>8}  last exit"
    lines = [header]
    now = time.time()
    for row in rows:
        since = row.get("since")
        age = f"{now - float(since):.0f}s" if isinstance(since, int | float) else "-"
        last_exit = row.get("last_exit")
        lines.append(
            f"{row['name']:<24} {row['state']:<8} {_dash(row.get('pid')):>8} {_dash(row.get('supervisor_pid')):>10} "
            f"{_dash(row.get('restarts')):>8} {age:>8}  {_dash(last_exit)}"
        )
    return "\n".join(lines)


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


def print_banner() -> None:
    """Print every service's URL and the credentials of the local stack."""
    from todoflow_dev.devstack import airflow, mail, metrics

    database_url = os.environ.get("DATABASE_URL") or LOCAL_DATABASE_URL
    print(
        f"""
todoflow local stack (state and logs under {DEV_DIR}):
  PostgreSQL   {database_url}   (Airflow metadata: database "airflow")
  Kafka        127.0.0.1:{LOCAL_KAFKA_PORT}   (KRaft, one node)
  Airflow UI   {airflow.API_URL}   user {airflow.ADMIN_USER}  password {airflow.admin_password()}
  REST API     {services.API_URL}   (docs: {services.API_URL}/docs)
  SMTP         127.0.0.1:{mail.SMTP_PORT}   (every message kept in {mail.MAIL_HOME}/new/)
  Prometheus   {metrics.PROMETHEUS_URL}/consoles/index.html   (query page)
               HTTP API: {metrics.PROMETHEUS_URL}/api/v1/query?query=todoflow_api_requests_total
               StatsD in: udp 127.0.0.1:{metrics.STATSD_UDP_PORT}
Stop everything with `make down`.
""".rstrip()
    )


if __name__ == "__main__":
    sys.exit(main())
