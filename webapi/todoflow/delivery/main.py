"""`todoflow deliver`: the delivery service, until SIGTERM (run 2+ replicas; they share the work safely)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
from types import FrameType

from todoflow.core.settings import DeliverySettings, SettingsError
from todoflow.delivery.service import DeliveryService

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `todoflow deliver`."""
    parser.add_argument("--workers", type=int, help="worker threads (default DELIVERY_WORKERS or 8)")
    parser.add_argument("--group", help="Kafka consumer group (default DELIVERY_GROUP or todoflow-delivery)")


def run(args: argparse.Namespace) -> int:
    """Run the delivery service until SIGTERM; the exit code (2: invalid configuration)."""
    overrides = {k: v for k, v in (("workers", args.workers), ("group_id", args.group)) if v is not None}
    try:
        config = dataclasses.replace(DeliverySettings(), **overrides)
    except SettingsError as exc:
        log.error("invalid delivery configuration: %s", exc)
        return 2
    kafka = {}
    session_timeout = config.kafka_session_timeout_ms
    if session_timeout:
        # How soon a replica that died without leaving the group loses its partitions to the others.
        kafka["session.timeout.ms"] = session_timeout
        kafka["heartbeat.interval.ms"] = max(500, session_timeout // 3)
    # httpx logs every request at INFO: the service's own counters and delivery rows already say it all.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    service = DeliveryService(config, kafka)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing the current attempts", signal.Signals(signum).name)
        service.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return service.run()
