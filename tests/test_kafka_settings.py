"""The Kafka security settings: one builder for every client, and each bad combination named by its variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from todoflow.core.kafka import client_config
from todoflow.core.settings import RelaySettings, Settings, SettingsError
from todoflow.pipeline.kafka_lag import airflow_connection
from todoflow.relay.publisher import producer_config

TODOFLOW = str(Path(sys.executable).with_name("todoflow"))
KAFKA_VARIABLES = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CA_LOCATION",
)


@pytest.fixture(autouse=True)
def no_kafka_security(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KAFKA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ca_file(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


def _settings(**values: str) -> Settings:
    return Settings(kafka_bootstrap_servers="broker-1:25073,broker-2:25073", **values)


def test_default_is_plaintext_with_nothing_else() -> None:
    assert client_config(_settings()) == {
        "bootstrap.servers": "broker-1:25073,broker-2:25073",
        "security.protocol": "PLAINTEXT",
    }


def test_managed_kafka_settings_become_sasl_ssl_client_settings(ca_file: str) -> None:
    settings = _settings(
        kafka_security_protocol="sasl_ssl",
        kafka_sasl_username="doadmin",
        kafka_sasl_password="secret",
        kafka_ssl_ca_location=ca_file,
    )
    assert client_config(settings) == {
        "bootstrap.servers": "broker-1:25073,broker-2:25073",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",  # the default mechanism
        "sasl.username": "doadmin",
        "sasl.password": "secret",
        "ssl.ca.location": ca_file,
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert client_config(settings, bootstrap_servers="other:9093")["bootstrap.servers"] == "other:9093"
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"kafka_security_protocol": "SASL_TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI", "kafka_sasl_username": "u"},
            "KAFKA_SASL_MECHANISM",
        ),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_password": "p"}, "KAFKA_SASL_USERNAME"),
        ({"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"}, "KAFKA_SASL_PASSWORD"),
        ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD"),
        ({"kafka_security_protocol": "SSL", "kafka_sasl_mechanism": "PLAIN"}, "KAFKA_SASL_MECHANISM"),
        ({"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_ssl_ca_location": "CA"}, "KAFKA_SSL_CA_LOCATION"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_ca_location": "/no/such/ca.pem"}, "KAFKA_SSL_CA_LOCATION"),
    ],
)
def test_bad_combinations_name_the_variable(values: dict[str, str], variable: str, ca_file: str) -> None:
    if values.get("kafka_ssl_ca_location") == "CA":
        values = {**values, "kafka_ssl_ca_location": ca_file, "kafka_sasl_username": "u", "kafka_sasl_password": "p"}
    with pytest.raises(SettingsError, match=variable):
        client_config(_settings(**values))


def test_every_mechanism_and_protocol_is_accepted(ca_file: str) -> None:
    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"):
        sasl = {"kafka_sasl_mechanism": mechanism, "kafka_sasl_username": "u", "kafka_sasl_password": "p"}
        assert client_config(_settings(kafka_security_protocol="SASL_SSL", **sasl))["sasl.mechanism"] == mechanism
        assert client_config(_settings(kafka_security_protocol="SASL_PLAINTEXT", **sasl))["sasl.mechanism"] == mechanism
    ssl = client_config(_settings(kafka_security_protocol="SSL", kafka_ssl_ca_location=ca_file))
    assert (ssl["security.protocol"], ssl["ssl.ca.location"]) == ("SSL", ca_file)


def test_every_client_is_built_from_the_same_settings(monkeypatch: pytest.MonkeyPatch, ca_file: str) -> None:
    from todoflow.core.consumer import consumer_config
    from todoflow_dev.devstack.airflow import local_connections

    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka.example:25073",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "todoflow",
        "KAFKA_SASL_PASSWORD": "secret",
        "KAFKA_SSL_CA_LOCATION": ca_file,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    expected = client_config()
    assert expected["sasl.mechanism"] == "SCRAM-SHA-512"

    def security(config: dict) -> dict:
        return {key: config[key] for key in expected}

    assert security(producer_config(RelaySettings())) == expected
    assert security(consumer_config("some-group")) == expected
    assert airflow_connection() == {"conn_type": "kafka", "extra": expected}
    assert json.loads(local_connections()["kafka_default"]["extra"]) == expected
    assert "secret" not in repr(RelaySettings()) + repr(Settings())


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TODOFLOW, *argv], env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_commands_refuse_to_start_on_bad_settings() -> None:
    relay = _run("relay", KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_USERNAME="todoflow")
    assert relay.returncode == 2
    assert "KAFKA_SASL_PASSWORD is required with KAFKA_SECURITY_PROTOCOL=SASL_SSL" in relay.stderr
    topics = _run("create-topics", KAFKA_SECURITY_PROTOCOL="KERBEROS")
    assert topics.returncode == 2
    assert "KAFKA_SECURITY_PROTOCOL must be one of" in topics.stderr


def test_refusal_watch_keeps_refusals_and_fatal_errors_and_lets_the_rest_retry() -> None:
    from confluent_kafka import KafkaError, KafkaException

    from todoflow.core.kafka import KafkaRefused, RefusalWatch

    watch = RefusalWatch()
    watch(KafkaError(KafkaError._TRANSPORT, "broker down"))
    watch(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    watch.check()  # retried by librdkafka: nothing to raise
    watch(KafkaError(KafkaError._SSL, "certificate verify failed"))
    watch(KafkaError(KafkaError._AUTHENTICATION, "later"))
    with pytest.raises(KafkaRefused, match=r"certificate verify failed.*KAFKA_SSL_CA_LOCATION"):
        watch.check()
    fatal = RefusalWatch()
    fatal(KafkaError(KafkaError._FENCED, "fenced", fatal=True))
    with pytest.raises(KafkaException):
        fatal.check()
