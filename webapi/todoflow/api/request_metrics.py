"""Per-request StatsD metrics: a counter by endpoint and status, and a latency timer by endpoint.

Names (under STATSD_PREFIX, default "todoflow"):
  api.requests.<endpoint>.<method>.<status>   counter, one per response
  api.latency.<endpoint>             timer in milliseconds
<endpoint> is the Flask endpoint (for example tasks.list_tasks); "unmatched" for unknown routes.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from todoflow.core.metrics import statsd


def _start() -> None:
    g._started = time.perf_counter()


def _record(response: Response) -> Response:
    started = g.get("_started")
    if started is not None:
        endpoint = request.endpoint or "unmatched"
        pipe = statsd().pipeline()
        pipe.incr(f"api.requests.{endpoint}.{request.method}.{response.status_code}")
        pipe.timing(f"api.latency.{endpoint}", (time.perf_counter() - started) * 1000.0)
        pipe.send()
    return response


def init_app(app: Flask) -> None:
    """Time and count every request of app in StatsD."""
    app.before_request(_start)
    app.after_request(_record)
