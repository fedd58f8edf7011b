"""The API under gunicorn, as `make up` and the container serve it: a real server on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body else None
    request = urllib.request.Request(base + path, method=method, data=data)  # noqa: S310 - loopback only
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our loopback server
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def server(clean_db: str) -> Iterator[str]:
    """`todoflow serve-api` with 3 workers on a free port against the test database."""
    port = _free_port()
    argv = [sys.executable, "-m", "todoflow.cli", "serve-api", "--bind", f"127.0.0.1:{port}", "--workers", "3"]
    proc = subprocess.Popen(argv, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if _call(base, "GET", "/ready")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_client_session_over_http(server: str) -> None:
    status, user = _call(server, "POST", "/api/auth/register", {"email": "http@example.com", "password": "long enough"})
    assert status == 201
    status, tokens = _call(server, "POST", "/api/auth/login", {"email": "http@example.com", "password": "long enough"})
    assert status == 200
    token = tokens["access_token"]
    status, task = _call(server, "POST", "/api/tasks", {"title": "over http"}, token)
    assert status == 201 and task["user_id"] == user["id"]
    # Requests spread over the workers all see the task and the revocation.
    for _ in range(6):
        assert _call(server, "GET", f"/api/tasks/{task['id']}", token=token)[0] == 200
    assert _call(server, "POST", "/api/auth/logout", token=token)[0] == 204
    for _ in range(6):
        status, body = _call(server, "GET", "/api/tasks", token=token)
        assert status == 401 and body["error"]["code"] == "token_revoked"


def test_failed_login_limit_holds_across_workers(server: str) -> None:
    _call(server, "POST", "/api/auth/register", {"email": "limit@example.com", "password": "long enough"})
    statuses = [
        _call(server, "POST", "/api/auth/login", {"email": "limit@example.com", "password": "wrong"})[0]
        for _ in range(8)
    ]
    assert statuses == [401] * 5 + [429] * 3


def test_serve_api_refuses_to_start_without_a_secret() -> None:
    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET_KEY"}
    argv = [sys.executable, "-m", "todoflow.cli", "serve-api", "--bind", f"127.0.0.1:{_free_port()}"]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "JWT_SECRET_KEY" in out.stdout + out.stderr
