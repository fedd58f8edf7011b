"""Helpers of the deploy tests: the chart, the release's names, secret sentinels, running helm."""

from __future__ import annotations

import os
import subprocess

from todoflow.core.settings import REPO_ROOT

CHART = REPO_ROOT / "helm-values" / "todoflow"
DOKS_VALUES = CHART / "values-doks.yaml"
RELEASE = "todoflow"
NAMESPACE = "todoflow"
# What CI passes: the commit the images were built from.
SHA = "0123456789abcdef0123456789abcdef01234567"
# The Kubernetes minor the chart is rendered for (helm's .Capabilities): the newest one checked below.
KUBE_VERSION = "1.35.0"

# Secret values as a deploy environment would hold them: they must never appear in a rendered object.
SENTINELS = {
    "DATABASE_URL": "postgresql://doadmin:sentinel-db-password-7f3a@db.example:25060/todoflow?sslmode=require",
    "JWT_SECRET_KEY": "sentinel-jwt-secret-key-0c4b9e2d81f6a7355d1e",
    "KAFKA_BOOTSTRAP_SERVERS": "sentinel-kafka-host.example:25073",
    "KAFKA_SASL_USERNAME": "sentinel-kafka-user-91d2",
    "KAFKA_SASL_PASSWORD": "sentinel-kafka-password-5b8e",
    "SMTP_USERNAME": "sentinel-smtp-user-3c7a",
    "SMTP_PASSWORD": "sentinel-smtp-password-e21f",
}


class HelmFailed(Exception):
    """helm exited non-zero; the message is its stderr."""


def run_helm(helm: str, *args: str) -> str:
    env = {**os.environ, **SENTINELS, "HELM_CACHE_HOME": "/nonexistent", "HELM_CONFIG_HOME": "/nonexistent"}
    result = subprocess.run([helm, *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise HelmFailed(result.stderr + result.stdout)
    return result.stdout
