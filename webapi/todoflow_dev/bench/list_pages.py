"""List-page benchmark (issue 14): GET /api/tasks by cursor and by offset, with and without the total.

In-process requests through the real app (create_app, Flask's test client: routing, JWT, validation, SQL,
the compiled dump) against a dedicated database (todoflow_bench_pages) on the dev PostgreSQL. Two owners:
one with 1,000 tasks, one with 200,000 (TODOFLOW_BENCH_PAGE_TASKS), 10% without a due date and 1 in 7
without a priority. For every sort and direction: the first page, a page in the middle and the last page,
each by cursor (the cursor of the page before it) and by offset, each without and with ?total=true; p50 and
p95 of TODOFLOW_BENCH_PAGE_REQUESTS requests (default 21) with limit=20.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
import uuid
from typing import Any

import psycopg

BENCH_DB = "todoflow_bench_pages"
LARGE = int(os.environ.get("TODOFLOW_BENCH_PAGE_TASKS", "200000"))
SIZES = (1_000, LARGE)
REQUESTS = int(os.environ.get("TODOFLOW_BENCH_PAGE_REQUESTS", "21"))
LIMIT = 20
SORTS = [(sort, order) for sort in ("created_at", "due_date", "priority") for order in ("desc", "asc")]


def _database() -> str:
    from todoflow.core import db
    from todoflow_dev.devstack import postgres

    postgres.start()
    url = postgres.recreate_database(BENCH_DB)
    db.upgrade(url)
    return url


def seed(url: str, user_id: str, count: int) -> None:
    """Insert count tasks: created a minute apart, due dates over 90 days (10% none), priorities (1/7 none)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO tasks (user_id, title, description, priority_id, due_date, created_at, updated_at)
               SELECT %s, 'task ' || n, 'seeded for the benchmark',
                      CASE WHEN n %% 7 > 0 THEN 1 + n %% 4 END,
                      CASE WHEN n %% 10 > 0 THEN DATE '2030-01-01' + n %% 90 END,
                      now() - n * interval '1 minute', now() - n * interval '1 minute'
               FROM generate_series(1, %s) AS n""",
            (user_id, count),
        )
        conn.execute("VACUUM ANALYZE tasks")


def _user(client: Any, email: str) -> tuple[str, dict[str, str]]:
    password = secrets.token_urlsafe(16)
    user = client.post("/api/auth/register", json={"email": email, "password": password}).get_json()
    tokens = client.post("/api/auth/login", json={"email": email, "password": password}).get_json()
    return user["id"], {"Authorization": f"Bearer {tokens['access_token']}"}


def _cursor_before(app: Any, user_id: str, sort: str, order: str, position: int) -> str | None:
    """The next_cursor of the page that ends just before position (as a client walking the list holds)."""
    from todoflow.api import pagination, task_store
    from todoflow.api.extensions import db

    if position == 0:
        return None
    query = {"sort_by": sort, "sort_order": order, "limit": 1, "offset": position - 1}
    with app.test_request_context("/api/tasks"):
        owner = uuid.UUID(user_id)
        priority_ids = tuple(db.session.execute(task_store.PRIORITY_IDS).scalars())
        base, spec, params = task_store.list_query(owner, query, priority_ids)
        row = db.session.execute(base.order_by(*spec.order_by).limit(1).offset(position - 1), params).mappings().one()
        bound = pagination.fingerprint("tasks", owner, sort, order, {})
        segment = next(i for i, part in enumerate(spec.segments) if part.holds(row))
        return pagination.encode_cursor(bound, segment, [row[str(key.key)] for key in spec.segments[segment].keys])


def _latencies(client: Any, url: str, headers: dict[str, str], count: int) -> tuple[float, float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_json()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def measure(app: Any, client: Any, user_id: str, headers: dict[str, str], size: int) -> list[list[str]]:
    """One row per (sort, order, page, mode): p50 / p95 without and with the total."""
    rows = []
    positions = {"first": 0, "middle": (size // 2 // LIMIT) * LIMIT, "last": ((size - 1) // LIMIT) * LIMIT}
    for sort, order in SORTS:
        for page, position in positions.items():
            cursor = _cursor_before(app, user_id, sort, order, position)
            for mode in ("cursor", "offset"):
                url = f"/api/tasks?sort_by={sort}&sort_order={order}&limit={LIMIT}"
                if mode == "cursor" and cursor is not None:
                    url += f"&cursor={cursor}"
                elif mode == "offset":
                    url += f"&offset={position}"
                plain = _latencies(client, url, headers, REQUESTS)
                counted = _latencies(client, url + "&total=true", headers, max(5, REQUESTS // 2))
                rows.append([f"{size:,}", f"{sort} {order}", page, mode, *(f"{v:.1f}" for v in (*plain, *counted))])
    return rows


def _load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def run() -> str:
    """Measure list pages by cursor and by offset at 1,000 and 200,000 tasks; the Markdown section."""
    from todoflow.api import create_app

    url = _database()
    os.environ["DATABASE_URL"] = url
    app = create_app({"DATABASE_URL": url, "JWT_SECRET_KEY": secrets.token_hex(32)})
    client = app.test_client()
    load_before = _load_average()
    table: list[list[str]] = []
    for size in SIZES:
        user_id, headers = _user(client, f"pages-{size}@example.com")
        seed(url, user_id, size)
        client.get("/api/tasks", headers=headers)  # warm the statement caches
        table += measure(app, client, user_id, headers, size)
    load_after = _load_average()
    return report(table, load_before, load_after)


def report(table: list[list[str]], load_before: str, load_after: str) -> str:
    """The Markdown section for the measured pages."""
    header = "| tasks | sort | page | by | p50 ms | p95 ms | p50 ms, total=true | p95 ms, total=true |"
    lines = [
        "## List pages: cursor vs offset, total on request (`python -m todoflow_dev.bench list_pages`)",
        "",
        f"GET /api/tasks?limit={LIMIT} in process through the real app (Flask test client, one thread), "
        f"{REQUESTS} requests per cell without the total and {max(5, REQUESTS // 2)} with it; the owner has "
        f"1,000 or {LARGE:,} tasks (10% without a due date, 1 in 7 without a priority), another owner's "
        f"tasks in the same table. Load average (1/5/15 min) {load_before} before, {load_after} after "
        "(the machine is shared: compare rows of this run with each other).",
        "",
        header,
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
