"""`todoflow relay`: publish the event outbox to Kafka until SIGTERM (one active relay, others stand by)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
from types import FrameType

from todoflow.core.settings import RelaySettings, SettingsError
from todoflow.relay.service import Relay

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow relay`."""
    parser.add_argument("--batch-size", type=int, help="rows per Kafka batch (default RELAY_BATCH_SIZE or 2000)")
    parser.add_argument("--poll-interval", type=float, help="seconds between reads without a NOTIFY (default 1.0)")


def run(args: argparse.Namespace) -> int:
    """Run the relay until SIGTERM; the exit code (2: invalid configuration)."""
    overrides = {
        name: value
        for name, value in (("batch_size", args.batch_size), ("poll_interval", args.poll_interval))
        if value is not None
    }
    try:
        config = dataclasses.replace(RelaySettings(), **overrides)
        relay = Relay(config)
    except SettingsError as exc:
        log.error("invalid relay configuration: %s", exc)
        return 2

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing the current batch", signal.Signals(signum).name)
        relay.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info(
        "relay starting: kafka %s, batch %d, retention %gh",
        config.kafka_bootstrap_servers,
        config.batch_size,
        config.retention_hours,
    )
    return relay.run()
