"""The one place that turns the Kafka settings into librdkafka client configuration; every Kafka client uses it.

The relay's producer, the consumer helper (and so the event-log writer), topic creation and the Airflow
connection of the lag probe all start from `client_config()`, so a managed Kafka (SASL_SSL with SCRAM, a CA
file) is configured once, in the environment. A broker that refuses us (wrong credentials, a certificate we
do not trust) is reported as a `KafkaRefused` naming the settings to check, instead of retried until a timeout.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata

from todoflow.core.settings import Settings, SettingsError, get_settings

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
DEFAULT_SASL_MECHANISM = "SCRAM-SHA-256"

# librdkafka's codes for a broker that refuses the client; anything else (down, unreachable) is retried.
REFUSALS = {
    KafkaError._AUTHENTICATION: "check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM",
    KafkaError._SSL: "check KAFKA_SSL_CA_LOCATION (the CA that signed the brokers' certificates) and that the"
    " certificates name the hosts in KAFKA_BOOTSTRAP_SERVERS",
}


class KafkaRefused(RuntimeError):
    """The broker refused the connection: authentication failed or its certificate is not trusted."""


def client_config(settings: Settings | None = None, *, bootstrap_servers: str | None = None) -> dict[str, Any]:
    """bootstrap.servers and the security settings of every Kafka client, checked; SettingsError if invalid."""
    settings = settings or get_settings()
    protocol = settings.kafka_security_protocol.strip().upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise SettingsError(
            f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}, not {protocol!r}"
        )
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers or settings.kafka_bootstrap_servers,
        "security.protocol": protocol,
    }
    if protocol.startswith("SASL_"):
        config.update(_sasl(settings, protocol))
    else:
        given = [
            name
            for name, value in (
                ("KAFKA_SASL_MECHANISM", settings.kafka_sasl_mechanism),
                ("KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
                ("KAFKA_SASL_PASSWORD", settings.kafka_sasl_password),
            )
            if value
        ]
        if given:
            # Credentials meant for a managed broker with a protocol that never sends them: a forgotten setting.
            raise SettingsError(
                f"{', '.join(given)} set, but KAFKA_SECURITY_PROTOCOL={protocol} does not log in with SASL"
                " (managed Kafka: KAFKA_SECURITY_PROTOCOL=SASL_SSL)"
            )
    tls = protocol in ("SSL", "SASL_SSL")
    ca = settings.kafka_ssl_ca_location
    if ca:
        if not tls:
            raise SettingsError(
                f"KAFKA_SSL_CA_LOCATION set, but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS"
                " (use SASL_SSL or SSL)"
            )
        if not Path(ca).is_file():
            raise SettingsError(f"KAFKA_SSL_CA_LOCATION={ca} is not a file (the CA certificate in PEM form)")
        config["ssl.ca.location"] = ca
    if tls:
        # librdkafka's default, stated: a certificate must name the broker's host, whichever CA signed it.
        config["ssl.endpoint.identification.algorithm"] = "https"
    return config


def _sasl(settings: Settings, protocol: str) -> dict[str, str]:
    mechanism = (settings.kafka_sasl_mechanism or DEFAULT_SASL_MECHANISM).strip().upper()
    if mechanism not in SASL_MECHANISMS:
        raise SettingsError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}, not {mechanism!r}")
    for name, value in (
        ("KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
        ("KAFKA_SASL_PASSWORD", settings.kafka_sasl_password),
    ):
        if not value:
            raise SettingsError(f"{name} is required with KAFKA_SECURITY_PROTOCOL={protocol}")
    return {
        "sasl.mechanism": mechanism,
        "sasl.username": settings.kafka_sasl_username,
        "sasl.password": settings.kafka_sasl_password,
    }


def refusal(error: KafkaError) -> KafkaRefused | None:
    """A KafkaRefused saying what to check when error means the broker refused us, else None."""
    hint = REFUSALS.get(error.code())
    return KafkaRefused(f"Kafka refused the connection: {error.str()} ({hint})") if hint else None


class RefusalWatch:
    """An error_cb that keeps the first refusal (librdkafka would retry it quietly forever) or fatal error.

    Other client errors (a broker down, a timeout) are retried by librdkafka; they go to log, if given.
    """

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.failure: Exception | None = None
        self._log = log

    def __call__(self, error: KafkaError) -> None:
        """Keep error if it is the first refusal or fatal error; log any other client error."""
        failure = refusal(error) or (KafkaException(error) if error.fatal() else None)
        if failure is None:
            if self._log is not None:
                self._log.warning("kafka: %s", error.str())
        elif self.failure is None:
            self.failure = failure

    def check(self) -> None:
        """Raise the failure seen, if any."""
        if self.failure is not None:
            raise self.failure


def admin_client(settings: Settings | None = None) -> tuple[AdminClient, RefusalWatch]:
    """An AdminClient on the configured brokers and the watch that sees whether they refuse it."""
    watch = RefusalWatch()
    config: dict[str, Any] = {**client_config(settings), "error_cb": watch}
    return AdminClient(config), watch


def cluster_metadata(admin: AdminClient, watch: RefusalWatch, timeout: float) -> ClusterMetadata:
    """The cluster's metadata within timeout; KafkaRefused as soon as the brokers refuse the client."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException:
            admin.poll(0)  # serves error_cb
            watch.check()
            if time.monotonic() >= deadline:
                raise
