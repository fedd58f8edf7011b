"""`todoflow migrate`: bring DATABASE_URL to the latest schema (or a given revision)."""

from __future__ import annotations

import argparse

from todoflow.core import db


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow migrate`."""
    parser.add_argument("--revision", default="head", help="target revision (default head)")


def run(args: argparse.Namespace) -> int:
    """Upgrade DATABASE_URL to the target revision; the exit code."""
    db.upgrade(revision=args.revision)
    return 0
