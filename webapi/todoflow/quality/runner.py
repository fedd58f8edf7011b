"""Runs the schedule checks with Great Expectations, stores the results and reports them."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import great_expectations as gx
import psycopg
from great_expectations.data_context.types.base import ProgressBarsConfig

from todoflow.core.metrics import statsd
from todoflow.core.settings import get_settings, libpq_url, sqlalchemy_url
from todoflow.quality.checks import Check, Tolerances, build_checks, sample

log = logging.getLogger(__name__)
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    description: str
    success: bool
    unexpected_count: int
    sample: list[dict[str, Any]]


@dataclass
class SuiteResult:
    """The outcome of one run of the suite."""

    run_id: uuid.UUID
    as_of: datetime
    results: list[CheckResult] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """Whether every check passed."""
        return all(result.success for result in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that did not pass."""
        return [result for result in self.results if not result.success]


def _unexpected_count(result: dict[str, Any]) -> int:
    if "unexpected_count" in result:
        return int(result["unexpected_count"] or 0)
    observed = result.get("observed_value")
    return int(observed) if isinstance(observed, int | float) else 0


def run_suite(
    as_of: datetime,
    tolerances: Tolerances | None = None,
    database_url: str | None = None,
    only: list[str] | None = None,
) -> SuiteResult:
    """Evaluate every check (or those named in only) against the database as of `as_of`."""
    url = database_url or get_settings().database_url
    checks = [c for c in build_checks(as_of, tolerances or Tolerances()) if not only or c.name in only]
    context = gx.get_context(mode="ephemeral")
    # Progress bars would flood the Airflow task log that operators read for the failures.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_postgres("todoflow", connection_string=sqlalchemy_url(url))
    batches: dict[str, Any] = {}
    outcome = SuiteResult(run_id=uuid.uuid4(), as_of=as_of)
    for check in checks:
        if check.frame is not None:
            outcome.results.append(_evaluate_frame(context, check, url))
            continue
        if check.table not in batches:
            asset = source.add_table_asset(check.table, table_name=check.table)
            batches[check.table] = asset.add_batch_definition_whole_table(f"{check.table}-all").get_batch()
        outcome.results.append(_evaluate(batches[check.table], check))
    store(outcome, url)
    report(outcome)
    return outcome


def _evaluate_frame(context: Any, check: Check, url: str) -> CheckResult:
    """A computed check (issue 13's rule check): GX validates the DataFrame it builds.

    The sample shows the offending rows (those whose on_rule is false).
    """
    assert check.frame is not None
    frame = check.frame(url)
    asset = context.data_sources.add_or_update_pandas(f"{check.name}-source").add_dataframe_asset(name=check.name)
    definition = asset.add_batch_definition_whole_dataframe(f"{check.name}-all")
    result = _evaluate(definition.get_batch(batch_parameters={"dataframe": frame}), check)
    if result.success or result.unexpected_count == 0:
        return result
    offending = frame[~frame["on_rule"]].head(5).to_dict(orient="records")
    rows = [{key: str(value) for key, value in row.items()} for row in offending]
    return dataclasses.replace(result, sample=rows)


def _evaluate(batch: Any, check: Check) -> CheckResult:
    validation = batch.validate(
        check.expectation, result_format={"result_format": "COMPLETE", "partial_unexpected_count": 5}
    )
    result = validation.result or {}
    errors = _errors(validation.exception_info or {})
    if errors:
        # A check that cannot run is a failed check, never a silent pass.
        log.error("check %s could not run: %s", check.name, errors[0])
        return CheckResult(check.name, check.description, False, 0, [{"error": errors[0][:500]}])
    count = _unexpected_count(result)
    return CheckResult(check.name, check.description, bool(validation.success), count, sample(result))


def _errors(info: dict[str, Any]) -> list[str]:
    """Exception messages in a GX exception_info (flat, or keyed by metric)."""
    if info.get("raised_exception"):
        return [str(info.get("exception_message"))]
    return [str(v.get("exception_message")) for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]


def store(outcome: SuiteResult, database_url: str) -> None:
    """Keep the results in quality_results, where operators (and the API's SQL) can read them later."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO quality_results (run_id, as_of, check_name, description, success,
                                                unexpected_count, sample)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                [
                    (
                        outcome.run_id,
                        outcome.as_of,
                        r.name,
                        r.description,
                        r.success,
                        r.unexpected_count,
                        json.dumps(r.sample),
                    )
                    for r in outcome.results
                ],
            )


def report(outcome: SuiteResult) -> None:
    """Log each check (failures with counts and sample rows) and send pass/fail counts to StatsD."""
    client = statsd()
    for result in outcome.results:
        status = "pass" if result.success else "fail"
        client.incr(f"quality.{result.name}.{status}")
        client.gauge(f"quality.{result.name}.unexpected", result.unexpected_count)
        # The last result as a gauge (1 passed, 0 failed): what a dashboard shows and an alert watches.
        client.gauge(f"quality.{result.name}.result", 1 if result.success else 0)
        if result.success:
            log.info("PASSED %s", result.name)
        else:
            log.error(
                "FAILED %s: %d offending row(s); %s; e.g. %s",
                result.name,
                result.unexpected_count,
                result.description,
                json.dumps(result.sample, default=str),
            )
    client.incr("quality.runs.pass" if outcome.success else "quality.runs.fail")
    log.info(
        "schedule checks as of %s: %d passed, %d failed (run %s, stored in quality_results)",
        outcome.as_of.isoformat(),
        len(outcome.results) - len(outcome.failed),
        len(outcome.failed),
        outcome.run_id,
    )
