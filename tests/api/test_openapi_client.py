"""A client developer's first hour: generate a Python client from the served /openapi.json and use only it.

openapi-python-client (the maintained Python generator) runs with its default configuration against the
document a real server on loopback serves (the suite's database); it must generate cleanly, and the generated
package drives register -> login -> create task -> list tasks -> validation errors, parsed by its own models.
"""

from __future__ import annotations

import datetime
import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.api.support import PASSWORD

PACKAGE = "todoflow_api_client"  # the generator's name for a document titled "todoflow API"


@pytest.fixture(scope="session")
def live_api(app: Any) -> Iterator[str]:
    """The app (the suite's own database) behind werkzeug's threaded server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="openapi-client-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def generated(live_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], ModuleType]]:
    """The generated client package, once per session: generated(name) imports todoflow_api_client.<name>."""
    out = tmp_path_factory.mktemp("generated") / "client"
    # Its default post-generation hooks run ruff, which lives next to this interpreter.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    argv = [sys.executable, "-m", "openapi_python_client", "generate", "--url", f"{live_api}/openapi.json"]
    result = subprocess.run(
        [*argv, "--output-path", str(out), "--fail-on-warning"],
        env=env,
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Skipped endpoints, unsupported schemas and failed hooks are all reported as warnings.
    assert "warning" not in output.lower() and "skipping" not in output.lower(), output
    assert (out / PACKAGE / "api" / "tasks" / "list_tasks.py").is_file(), output
    sys.path.insert(0, str(out))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_generated_client_drives_the_api(
    generated: Callable[[str], ModuleType], live_api: str, clean_db: str
) -> None:
    client_module, models = generated("client"), generated("models")
    register, login = generated("api.auth.register"), generated("api.auth.login")
    create_task, list_tasks = generated("api.tasks.create_task"), generated("api.tasks.list_tasks")
    get_task, complete_task = generated("api.tasks.get_task"), generated("api.tasks.complete_task")
    # A status the document does not list raises instead of passing as None.
    anonymous = client_module.Client(base_url=live_api, raise_on_unexpected_status=True)

    user = register.sync(
        client=anonymous,
        body=models.RegisterIn(email="gen@example.com", password=PASSWORD, timezone="Europe/Berlin"),
    )
    assert isinstance(user, models.UserOut), user
    assert user.email == "gen@example.com" and user.timezone == "Europe/Berlin"

    tokens = login.sync(client=anonymous, body=models.LoginIn(email="gen@example.com", password=PASSWORD))
    assert isinstance(tokens, models.TokensOut), tokens
    assert tokens.token_type == models.TokensOutTokenType.BEARER and tokens.expires_in > 0
    authed = client_module.AuthenticatedClient(
        base_url=live_api, token=tokens.access_token, raise_on_unexpected_status=True
    )

    task = create_task.sync(
        client=authed, body=models.TaskIn(title="Buy milk", priority_id=3, due_date=datetime.date(2030, 1, 15))
    )
    assert isinstance(task, models.TaskOut), task
    assert task.title == "Buy milk" and task.due_date == datetime.date(2030, 1, 15) and task.completed is False
    done = complete_task.sync(task.id, client=authed)
    assert isinstance(done, models.TaskOut) and done.completed is True

    page = list_tasks.sync(client=authed, completed=True, limit=10, total=True)
    assert isinstance(page, models.TaskPage), page
    assert [item.id for item in page.items] == [task.id] and page.total == 1 and page.next_cursor is None
    # Cursor paging through the generated method: one task per page, the second page by next_cursor.
    second = create_task.sync(client=authed, body=models.TaskIn(title="Second"))
    assert isinstance(second, models.TaskOut), second
    first_page = list_tasks.sync(client=authed, limit=1)
    assert isinstance(first_page, models.TaskPage) and first_page.total is None
    assert isinstance(first_page.next_cursor, str), first_page
    rest = list_tasks.sync(client=authed, limit=1, cursor=first_page.next_cursor)
    assert isinstance(rest, models.TaskPage), rest
    assert {first_page.items[0].id, rest.items[0].id} == {task.id, second.id}
    fetched = get_task.sync(task.id, client=authed)
    assert isinstance(fetched, models.TaskOut) and fetched.completed_at is not None

    # Validation errors come back as the generated Error model, with the one error shape.
    bad_zone = register.sync(
        client=anonymous,
        body=models.RegisterIn(email="zone@example.com", password=PASSWORD, timezone="Mars/Olympus"),
    )
    assert isinstance(bad_zone, models.Error), bad_zone
    assert bad_zone.error.code == "validation_error"
    assert list(bad_zone.error.details.to_dict()["json"]) == ["timezone"]
    empty_title = create_task.sync(client=authed, body=models.TaskIn(title=""))
    assert isinstance(empty_title, models.Error), empty_title
    assert empty_title.error.code == "validation_error" and empty_title.error.message
    assert list(empty_title.error.details.to_dict()["json"]) == ["title"]
    bad_limit = list_tasks.sync_detailed(client=authed, limit=1000)
    assert bad_limit.status_code == 400 and isinstance(bad_limit.parsed, models.Error)
    assert list(bad_limit.parsed.error.details.to_dict()["query"]) == ["limit"]

    # And without a valid token: 401, also parsed.
    stranger = client_module.AuthenticatedClient(base_url=live_api, token="not-a-jwt", raise_on_unexpected_status=True)
    refused = list_tasks.sync_detailed(client=stranger)
    assert refused.status_code == 401 and isinstance(refused.parsed, models.Error)
