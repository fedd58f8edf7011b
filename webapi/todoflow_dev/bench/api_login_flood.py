"""`python -m todoflow_dev.bench api_login_flood`: other users' read latency during a login flood (issue 11)."""

from __future__ import annotations

from todoflow_dev.bench.api import run_login_flood as run

__all__ = ["run"]
