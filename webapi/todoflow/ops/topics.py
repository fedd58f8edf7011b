"""`todoflow create-topics`: create any missing Kafka topic with its configured settings."""

from __future__ import annotations

import argparse
import logging

from todoflow.core.kafka import KafkaRefused
from todoflow.core.settings import SettingsError
from todoflow.core.topics import ensure_topics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow create-topics`."""
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the brokers")


def run(args: argparse.Namespace) -> int:
    """Create the missing event topics; the exit code (1: Kafka refused us, 2: invalid settings)."""
    log = logging.getLogger(__name__)
    try:
        created = ensure_topics(timeout=args.timeout)
    except SettingsError as exc:
        log.error("invalid Kafka settings: %s", exc)
        return 2
    except KafkaRefused as exc:
        log.error("%s", exc)
        return 1
    log.info("topics created: %s", ", ".join(created) or "none (all existed)")
    return 0
