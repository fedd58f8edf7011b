"""The Grafana dashboards as code: each panel's queries and the labels it groups by, rendered to dashboard JSON.

`python -m todoflow_dev.monitoring` writes helm-values/monitoring/dashboards/<uid>.json; a test checks the committed
files equal this module's output, and the proof test (tests/monitoring/test_proof.py) runs every query against a
real Prometheus fed by the real code paths and fails, by dashboard and panel title, on a query that returns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RATE = "$__rate_interval"  # Grafana's rate window (at least four scrape intervals)
RANGE = "$__range"  # the dashboard's time range


@dataclass(frozen=True)
class Query:
    """One PromQL expression of a panel and its legend."""
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    """One panel: its queries, the labels they group by, its unit and kind."""
    title: str
    queries: tuple[Query, ...]
    group_by: tuple[str, ...] = ()  # labels every series of every query carries
    unit: str = "short"
    kind: str = "timeseries"  # timeseries | stat | table
    description: str = ""


@dataclass(frozen=True)
class Dashboard:
    """One Grafana dashboard: uid, title, description and panels."""
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def _q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


API = Dashboard(
    "todoflow-api",
    "todoflow / API",
    "REST API traffic, errors and latency per Flask endpoint (StatsD api.requests / api.latency).",
    (
        Panel(
            "Request rate by endpoint",
            (_q(f"sum by (endpoint, method) (rate(todoflow_api_requests_total[{RATE}]))", "{{method}} {{endpoint}}"),),
            ("endpoint", "method"),
            "reqps",
        ),
        Panel(
            "Responses by status",
            (_q(f"sum by (status) (rate(todoflow_api_requests_total[{RATE}]))", "{{status}}"),),
            ("status",),
            "reqps",
        ),
        Panel(
            "5xx ratio by endpoint",
            (
                _q(
                    f"""1 - sum by (endpoint) (rate(todoflow_api_requests_total{{status!~"5.."}}[{RATE}]))
                    / sum by (endpoint) (rate(todoflow_api_requests_total[{RATE}]))""",
                    "{{endpoint}}",
                ),
            ),
            ("endpoint",),
            "percentunit",
            description="Share of responses with a 5xx status (the alert fires above 1% overall).",
        ),
        Panel(
            "4xx ratio by endpoint",
            (
                _q(
                    f"""1 - sum by (endpoint) (rate(todoflow_api_requests_total{{status!~"4.."}}[{RATE}]))
                    / sum by (endpoint) (rate(todoflow_api_requests_total[{RATE}]))""",
                    "{{endpoint}}",
                ),
            ),
            ("endpoint",),
            "percentunit",
            description="Client errors: validation, auth, not found, quota (the users' side, not an outage).",
        ),
        Panel(
            "Latency p50 / p95 / p99 by endpoint",
            tuple(
                _q(
                    f"""histogram_quantile({q}, sum by (endpoint, le)
                    (rate(todoflow_api_request_duration_seconds_bucket[{RATE}])))""",
                    f"p{int(q * 100)} {{{{endpoint}}}}",
                )
                for q in (0.5, 0.95, 0.99)
            ),
            ("endpoint",),
            "s",
            description="Time in the app per request; the target is p95 under 30 ms.",
        ),
        Panel(
            "Latency p95, all endpoints",
            (
                _q(
                    f"""histogram_quantile(0.95, sum by (le)
                    (rate(todoflow_api_request_duration_seconds_bucket[{RATE}])))""",
                    "p95",
                ),
            ),
            (),
            "s",
            "stat",
        ),
    ),
)

EVENTS = Dashboard(
    "todoflow-events",
    "todoflow / events",
    "The transactional outbox and its relay to Kafka (StatsD relay.*).",
    (
        Panel("Outbox backlog", (_q("max(todoflow_relay_outbox_lag)", "unpublished rows"),), (), "short"),
        Panel(
            "Oldest unpublished event age",
            (_q("max(todoflow_relay_outbox_oldest_age_seconds)", "age"),),
            (),
            "s",
            description="The alert fires above 60 s for 2 minutes.",
        ),
        Panel("Publish rate", (_q(f"sum(rate(todoflow_relay_published_total[{RATE}]))", "events/s"),), (), "ops"),
        Panel(
            "Which relay leads",
            (_q("max by (instance_id) (todoflow_relay_leader)", "{{instance_id}}"),),
            ("instance_id",),
            "short",
            description="1 for the relay holding the lock; a relay that stops reporting disappears within 1 min.",
        ),
        Panel("Relay backoff", (_q("max(todoflow_relay_backoff_seconds)", "retry delay"),), (), "s"),
        Panel(
            "Relay batch duration p95",
            (
                _q(
                    f"""histogram_quantile(0.95, sum by (le)
                    (rate(todoflow_relay_batch_duration_seconds_bucket[{RATE}])))""",
                    "p95",
                ),
            ),
            (),
            "s",
        ),
    ),
)

PIPELINE = Dashboard(
    "todoflow-pipeline",
    "todoflow / pipeline",
    "The job commands run by the Airflow DAGs (StatsD jobs.*) and Airflow's own health (airflow.*).",
    (
        Panel(
            "Job runs",
            (_q(f"sum by (job) (increase(todoflow_job_runs_total[{RANGE}]))", "{{job}}"),),
            ("job",),
            "short",
            "stat",
        ),
        Panel(
            "Job failures",
            (_q(f"sum by (job) (increase(todoflow_job_failures_total[{RANGE}]))", "{{job}}"),),
            ("job",),
            "short",
            "stat",
        ),
        Panel(
            "Job duration (mean per run)",
            (
                _q(
                    f"""sum by (job) (increase(todoflow_job_duration_seconds_sum[{RANGE}]))
                    / sum by (job) (increase(todoflow_job_duration_seconds_count[{RANGE}]))""",
                    "{{job}}",
                ),
            ),
            ("job",),
            "s",
        ),
        Panel(
            "Occurrences created",
            (_q(f'sum(increase(todoflow_job_items_total{{job="expand", item="created"}}[{RATE}]))', "created"),),
            (),
            "short",
        ),
        Panel(
            "Series behind (hit the per-run cap)",
            (_q(f'sum(increase(todoflow_job_items_total{{job="expand", item="behind"}}[{RATE}]))', "behind"),),
            (),
            "short",
        ),
        Panel(
            "Reminders sent",
            (_q(f'sum(increase(todoflow_job_items_total{{job="sweep", item="notifications"}}[{RATE}]))', "sent"),),
            (),
            "short",
        ),
        Panel(
            "Event-log rate",
            (_q(f'sum(rate(todoflow_job_items_total{{job="event_log", item="logged"}}[{RATE}]))', "events/s"),),
            (),
            "ops",
        ),
        Panel(
            "Work by job and item",
            (_q(f"sum by (job, item) (increase(todoflow_job_items_total[{RANGE}]))", "{{job}} {{item}}"),),
            ("job", "item"),
            "short",
            "table",
        ),
        # Each DAG runs one job task, so its task's duration and state are the run's. (airflow_dagrun_duration_seconds
        # is mapped too, but only the scheduler emits it, not a dag.test() run, so the proof could not check it.)
        Panel(
            "Airflow task duration by DAG (mean)",
            (
                _q(
                    f"""sum by (dag_id, task_id) (increase(airflow_task_duration_seconds_sum[{RANGE}]))
                    / sum by (dag_id, task_id) (increase(airflow_task_duration_seconds_count[{RANGE}]))""",
                    "{{dag_id}} {{task_id}}",
                ),
            ),
            ("dag_id", "task_id"),
            "s",
        ),
        Panel(
            "Airflow finished tasks by DAG and state",
            (
                _q(
                    f"sum by (dag_id, state) (increase(airflow_ti_finish_total[{RANGE}]))",
                    "{{dag_id}} {{state}}",
                ),
            ),
            ("dag_id", "state"),
            "short",
            "table",
            description="Failed task instances are failed DAG runs once their retries are spent.",
        ),
        Panel(
            "Airflow task failures by DAG",
            (_q(f"sum by (dag_id) (increase(airflow_ti_failures_total[{RANGE}]))", "{{dag_id}}"),),
            ("dag_id",),
            "short",
            "stat",
        ),
        Panel(
            "Airflow scheduler heartbeat",
            (_q(f"sum(rate(airflow_scheduler_heartbeat_total[{RATE}]))", "heartbeats/s"),),
            (),
            "short",
            description="0 means no scheduler is alive (the alert fires after 5 minutes).",
        ),
    ),
)

QUALITY = Dashboard(
    "todoflow-quality",
    "todoflow / data quality",
    "The Great Expectations schedule checks (StatsD quality.*); offending rows are in the quality_results table.",
    (
        Panel(
            "Last result per check (1 passed, 0 failed)",
            (_q("min by (check) (todoflow_quality_check)", "{{check}}"),),
            ("check",),
            "short",
            "table",
        ),
        Panel(
            "Offending rows per check",
            (_q("max by (check) (todoflow_quality_check_unexpected_rows)", "{{check}}"),),
            ("check",),
            "short",
            "table",
        ),
        Panel(
            "Suite runs by result",
            (_q(f"sum by (result) (increase(todoflow_quality_runs_total[{RANGE}]))", "{{result}}"),),
            ("result",),
            "short",
            "stat",
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (API, EVENTS, PIPELINE, QUALITY)

_WIDTH = {"timeseries": 12, "table": 12, "stat": 6}
_HEIGHT = {"timeseries": 8, "table": 8, "stat": 5}


def render(dashboard: Dashboard) -> dict[str, Any]:
    """Grafana dashboard JSON (schema 39) with a Prometheus data source variable."""
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for number, panel in enumerate(dashboard.panels, start=1):
        width, height = _WIDTH[panel.kind], _HEIGHT[panel.kind]
        if x + width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(number, panel, {"h": height, "w": width, "x": x, "y": y}))
        x, row_height = x + width, max(row_height, height)
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["todoflow"],
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "Prometheus", "value": "prometheus"},
                }
            ]
        },
        "panels": panels,
    }


def _panel(number: int, panel: Panel, grid: dict[str, int]) -> dict[str, Any]:
    datasource = {"type": "prometheus", "uid": "${datasource}"}
    return {
        "id": number,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": datasource,
        "gridPos": grid,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}} if panel.kind == "timeseries" else {},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": datasource,
                "expr": query.expr,
                "legendFormat": query.legend,
                "instant": panel.kind != "timeseries",
                "range": panel.kind == "timeseries",
            }
            for i, query in enumerate(panel.queries)
        ],
    }
