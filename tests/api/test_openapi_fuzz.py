"""schemathesis against /openapi.json: generated requests never get a 5xx, and every response conforms."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.api.support import ApiUser
from todoflow.api import create_app

# Bounded: enough to find shape and validation gaps in a couple of minutes, not an exhaustive search.
EXAMPLES_PER_OPERATION = 30


@pytest.fixture
def fuzz_user(alice: ApiUser, client: Any) -> ApiUser:
    """A user with a task and a recurring task, so id-taking operations also see existing objects."""
    client.post("/api/tasks", json={"title": "fuzz target"}, headers=alice.headers)
    body = {"title": "series", "recurrence_type": "daily", "recurrence_interval": 1, "start_date": "2025-01-01"}
    client.post("/api/recurring-tasks", json=body, headers=alice.headers)
    return alice


# The document needs no database, so it is loaded at collection (tests/conftest.py has set the environment).
# Logout would revoke the token every other generated request uses; its behaviour has its own tests.
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app()).exclude(path="/api/auth/logout")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_generated_requests(case: Any, fuzz_user: ApiUser) -> None:
    # positive_data_acceptance is left out: the document cannot say which priority ids exist (rows of
    # the priorities table), so a schema-valid priority_id may rightly be refused with 400.
    case.call_and_validate(headers=fuzz_user.headers, excluded_checks=[positive_data_acceptance])
