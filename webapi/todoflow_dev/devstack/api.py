"""The API in the local stack (`make up`): gunicorn on 127.0.0.1 with a JWT secret generated once under .dev/api."""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.request

from todoflow.core.settings import DEV_DIR
from todoflow_dev.devstack import procs

API_HOME = DEV_DIR / "api"
SECRETS_FILE = API_HOME / "local-secrets.json"
LOG_FILE = API_HOME / "gunicorn.log"
NAME = "api"


def jwt_secret() -> str:
    """The local stack's JWT signing secret, generated once per machine and kept under .dev (never in the repo)."""
    if SECRETS_FILE.exists():
        return str(json.loads(SECRETS_FILE.read_text())["jwt_secret_key"])
    API_HOME.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    SECRETS_FILE.write_text(json.dumps({"jwt_secret_key": secret}))
    SECRETS_FILE.chmod(0o600)
    return secret


def is_running(port: int) -> bool:
    """Whether something listens on the API's port."""
    return procs.port_open(port)


def start(port: int) -> None:
    """Serve the API with gunicorn in the background and wait until /ready answers."""
    if is_running(port):
        return
    env = dict(os.environ)
    env.setdefault("JWT_SECRET_KEY", jwt_secret())
    env.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")  # local receivers on 127.0.0.1
    argv = [sys.executable, "-m", "todoflow.cli", "serve-api", "--bind", f"127.0.0.1:{port}", "--access-log"]
    procs.start(NAME, argv, env, LOG_FILE, supervise=True)
    procs.wait_for(lambda: _ready(port), "REST API", 60, LOG_FILE)


def _ready(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=3) as response:
        return response.status == 200


def stop() -> bool:
    """Stop the API's gunicorn; True if it was running."""
    return procs.stop(NAME, timeout=30)
