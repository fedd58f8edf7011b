# todoflow: every target installs what it needs; `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9

# Go tools, pinned, built from the Go module proxy into a cache outside the repository that survives clean clones:
# $(TOOLS)/<name>-<version>/<name>. The deploy tests find helm through `make helm`.
TOOLS := $(HOME)/.cache/todoflow/tools
HELM_VERSION := v4.3.2
HELM := $(TOOLS)/helm-$(HELM_VERSION)/helm
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := $(TOOLS)/actionlint-$(ACTIONLINT_VERSION)/actionlint

.DEFAULT_GOAL := help

.PHONY: help setup up down status test lint typecheck bench migrate lock clean airflow

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync -q --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	touch $(STAMP)

setup: $(STAMP) ## create .venv from the lock file (Python 3.11)

up: $(STAMP) metrics-tools ## start PostgreSQL, Kafka, Airflow and the API on 127.0.0.1; prints URLs and credentials
	$(PY) -m todoflow_dev.devstack up

down: $(STAMP) ## stop every local service started by `make up` or the tests
	$(PY) -m todoflow_dev.devstack down

status: $(STAMP) ## every process of the local stack: state, pid, supervisor, restarts
	$(PY) -m todoflow_dev.devstack status

airflow: $(STAMP) ## the Airflow CLI against the local stack, e.g. make airflow ARGS="dags list"
	$(PY) -m todoflow_dev.devstack airflow $(ARGS)

lint: $(STAMP) $(ACTIONLINT) ## ruff over the whole repo, actionlint over .github/workflows
	$(VENV)/bin/ruff check .
	$(ACTIONLINT) -no-color .github/workflows/*.yml

typecheck: $(STAMP) ## mypy over the application (webapi/todoflow), the dev tooling (webapi/todoflow_dev) and dags/
	$(VENV)/bin/mypy

test: lint typecheck metrics-tools ## ruff, actionlint and mypy, then the whole test suite against real PostgreSQL, Kafka and Airflow
	$(PY) -m pytest

bench: $(STAMP) ## run the benchmarks and rewrite docs/benchmarks.md
	$(PY) -m todoflow_dev.bench

migrate: $(STAMP) ## apply Alembic migrations to DATABASE_URL (default: the local cluster)
	$(PY) -m todoflow.cli migrate

lock: $(STAMP) ## re-resolve requirements.lock (everything) and images/app/requirements.lock (the app image's part)
	$(VENV)/bin/uv pip compile pyproject.toml --extra airflow --extra dev --python-version 3.11 -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --constraint requirements.lock --python-version 3.11 \
		-o images/app/requirements.lock

clean: down ## stop everything and delete .dev (local data) and .venv
	rm -rf .dev $(VENV)

.PHONY: helm actionlint
$(HELM):
	@command -v go >/dev/null || { echo "go is required to install helm"; exit 1; }
	GOBIN=$(dir $@) GOFLAGS=-buildvcs=false go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

$(ACTIONLINT):
	@command -v go >/dev/null || { echo "go is required to install actionlint"; exit 1; }
	GOBIN=$(dir $@) GOFLAGS=-buildvcs=false go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

helm: $(HELM) ## install helm (pinned) into $(TOOLS) and print its path
	@echo $(HELM)

actionlint: $(ACTIONLINT) ## install actionlint (pinned) into $(TOOLS) and print its path
	@echo $(ACTIONLINT)

# The chart tests (tests/deploy) render with helm.
test: $(HELM)
# --- Metrics (issue 10): statsd_exporter, Prometheus and promtool, built with `go install` from the Go module
# proxy at pinned versions into a cache outside the repo that survives clean clones, one dir per tool@version.
# Prometheus's Go module version v0.3xx.y is Prometheus v3.xx.y. Building Prometheus takes ~9 minutes once.
STATSD_EXPORTER_VERSION := v0.31.0
PROMETHEUS_VERSION := v0.316.0
STATSD_EXPORTER := $(TOOLS)/statsd_exporter-$(STATSD_EXPORTER_VERSION)/statsd_exporter
PROMETHEUS := $(TOOLS)/prometheus-$(PROMETHEUS_VERSION)/prometheus
PROMTOOL := $(TOOLS)/prometheus-$(PROMETHEUS_VERSION)/promtool

.PHONY: metrics-tools monitoring rules-test

$(STATSD_EXPORTER):
	rm -rf $(@D).tmp && GOBIN=$(@D).tmp go install github.com/prometheus/statsd_exporter@$(STATSD_EXPORTER_VERSION)
	rm -rf $(@D) && mv $(@D).tmp $(@D)

$(PROMETHEUS) $(PROMTOOL) &:
	rm -rf $(@D).tmp && GOBIN=$(@D).tmp go install github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION) \
		github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)
	rm -rf $(@D) && mv $(@D).tmp $(@D)

metrics-tools: $(STATSD_EXPORTER) $(PROMETHEUS) $(PROMTOOL) ## install statsd_exporter, Prometheus and promtool (cached)

monitoring: $(STAMP) ## regenerate the dashboards and the monitoring helm values from helm-values/monitoring
	$(PY) -m todoflow_dev.monitoring

rules-test: metrics-tools ## promtool: check and unit-test the alert rules
	$(PROMTOOL) check rules helm-values/monitoring/todoflow.rules.yml
	cd helm-values/monitoring && $(PROMTOOL) test rules todoflow.rules.test.yml
