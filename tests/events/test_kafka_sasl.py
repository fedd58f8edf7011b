"""Managed Kafka's security, for real: a broker with a SASL_SSL SCRAM listener and certificates made here.

Every client is configured by the environment alone (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*,
KAFKA_SSL_CA_LOCATION), as on DOKS: `todoflow create-topics`, the relay, `todoflow write-event-log` (the
consumer helper) and the event_log DAG's lag probe through Airflow's Kafka hook. A wrong password and an
untrusted certificate end a command with an error naming what to check, well before its own deadline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from tests.events import certs
from tests.events.support import RelayProcess, outbox_counts, relay_environment, write_task_events
from tests.support import TODOFLOW, StatsdListener, wait_until
from todoflow.core.events import TOPICS
from todoflow.core.kafka import KafkaRefused, admin_client, cluster_metadata
from todoflow.core.settings import DEV_DIR, LOCAL_KAFKA_PORT, Settings
from todoflow.core.topics import ensure_topics
from todoflow.pipeline.kafka_lag import airflow_connection
from todoflow_dev.devstack import airflow as local_airflow
from todoflow_dev.devstack.kafka import Broker, SaslSslListener, wait_for_leaders

USER = "todoflow-app"
PASSWORD = "pw-" + uuid.uuid4().hex
# A refused client must fail on its own, long before this (its own deadlines are set far beyond it).
NO_HANG_SECONDS = 60


@dataclass(frozen=True)
class Tls:
    ca: Path  # the CA that signed the broker's certificate
    other_ca: Path  # a CA that signed nothing the broker presents
    keystore: Path  # the broker's key and certificate chain (PEM)


@dataclass(frozen=True)
class SaslBroker:
    broker: Broker
    bootstrap: str  # the SASL_SSL listener
    env: dict[str, str]  # the settings a client of this broker needs, and nothing else


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    where = tmp_path_factory.mktemp("tls")
    ca = certs.authority("todoflow test CA")
    return Tls(
        ca=ca.write(where / "ca.pem"),
        other_ca=certs.authority("some other CA").write(where / "other-ca.pem"),
        keystore=certs.server_keystore(ca, where / "broker.pem"),
    )


@pytest.fixture(scope="module")
def sasl_broker(tls: Tls) -> Iterator[SaslBroker]:
    """A fresh KRaft node whose SASL_SSL listener knows one SCRAM user; removed afterwards."""
    listener = SaslSslListener(port=LOCAL_KAFKA_PORT + 202, keystore=tls.keystore, users=((USER, PASSWORD),))
    broker = Broker(name="kafka-sasl", port=LOCAL_KAFKA_PORT + 200, home=DEV_DIR / "kafka-sasl", sasl_ssl=listener)
    broker.stop()
    shutil.rmtree(broker.home, ignore_errors=True)
    broker.start()
    bootstrap = f"127.0.0.1:{listener.port}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CA_LOCATION": str(tls.ca),
    }
    try:
        yield SaslBroker(broker, bootstrap, env)
    finally:
        broker.stop()
        shutil.rmtree(broker.home, ignore_errors=True)


def _todoflow(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """`todoflow argv` with the environment plus env; TimeoutExpired (a hang) fails the test."""
    return subprocess.run(
        [TODOFLOW, *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=NO_HANG_SECONDS,
        stdin=subprocess.DEVNULL,
    )


def _topics(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    admin, watch = admin_client()
    return set(cluster_metadata(admin, watch, timeout=30).topics)


def _event_log_ids(database_url: str) -> set[str]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return {str(row[0]) for row in conn.execute("SELECT event_id FROM task_event_log")}


def _lag_through_airflow(env: dict[str, str], group: str) -> dict[str, int]:
    """The event_log DAG's probe as a worker runs it: KafkaAdminClientHook on AIRFLOW_CONN_KAFKA_DEFAULT."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        connection = airflow_connection(Settings())
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    probe = (
        "import json, sys\n"
        "from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook\n"
        "from todoflow.core.events import TOPICS\n"
        "from todoflow.pipeline.kafka_lag import consumer_lag\n"
        "admin = KafkaAdminClientHook(kafka_config_id='kafka_default').get_conn\n"
        "print(json.dumps(consumer_lag(admin, sys.argv[1], TOPICS)))\n"
    )
    # Only the connection carries Kafka settings: the probe's process has no KAFKA_* variable at all.
    base = {name: value for name, value in os.environ.items() if not name.startswith("KAFKA_")}
    probe_env = local_airflow.airflow_env(base=base)
    probe_env["AIRFLOW_CONN_KAFKA_DEFAULT"] = json.dumps(connection)
    done = subprocess.run(
        [sys.executable, "-c", probe, group],
        env=probe_env,
        capture_output=True,
        text=True,
        timeout=NO_HANG_SECONDS,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_topics_relay_event_log_and_lag_probe_over_sasl_ssl(
    sasl_broker: SaslBroker,
    clean_db: str,
    engine: Engine,
    statsd_listener: StatsdListener,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = sasl_broker.env
    created = _todoflow(env, "create-topics")
    assert created.returncode == 0, created.stderr
    assert set(TOPICS) <= _topics(env, monkeypatch)
    wait_for_leaders(sasl_broker.broker.bootstrap, TOPICS)

    user = str(uuid.uuid4())
    written = write_task_events(engine, [(user, task_id) for task_id in range(1, 31)], per_transaction=10)
    relay = RelayProcess(
        relay_environment(clean_db, sasl_broker.bootstrap, statsd_listener.port, **env), tmp_path / "relay.log"
    )
    try:
        relay.wait_active()
        wait_until(lambda: outbox_counts(clean_db) == (30, 0), 60, "the relay to publish all 30 rows over SASL_SSL")
        assert relay.terminate() == 0
    finally:
        relay.kill()
    assert "Kafka refused" not in relay.output()

    group = f"event-log-{uuid.uuid4().hex}"
    assert sum(_lag_through_airflow(env, group).values()) == 30  # nothing consumed yet

    job = _todoflow(
        {**env, "DATABASE_URL": clean_db},
        *("write-event-log", "--group", group, "--max-seconds", "90", "--idle-seconds", "3"),
    )
    assert job.returncode == 0, job.stderr
    assert _event_log_ids(clean_db) == {event["event_id"] for event in written}
    assert _lag_through_airflow(env, group) == {topic: 0 for topic in TOPICS}


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_every_supported_mechanism_logs_in(
    sasl_broker: SaslBroker, mechanism: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**sasl_broker.env, "KAFKA_SASL_MECHANISM": mechanism}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ensure_topics(timeout=30)  # creates them, or finds them all there
    assert set(TOPICS) <= _topics(env, monkeypatch)


def test_wrong_password_fails_at_once_with_an_authentication_error(
    sasl_broker: SaslBroker, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = {**sasl_broker.env, "KAFKA_SASL_PASSWORD": "not-the-password", "DATABASE_URL": clean_db}

    topics = _todoflow(wrong, "create-topics", "--timeout", "600")
    assert topics.returncode == 1
    assert "SASL authentication error" in topics.stderr and "KAFKA_SASL_PASSWORD" in topics.stderr

    job = _todoflow(wrong, "write-event-log", "--max-seconds", "600", "--group", f"g-{uuid.uuid4().hex}")
    assert job.returncode == 1
    assert "Kafka refused the connection" in job.stderr and "SASL authentication error" in job.stderr

    for name, value in wrong.items():
        monkeypatch.setenv(name, value)
    admin, watch = admin_client()
    with pytest.raises(KafkaRefused, match="invalid credentials"):
        cluster_metadata(admin, watch, timeout=600)


def test_relay_with_a_wrong_password_says_so_and_marks_nothing_published(
    sasl_broker: SaslBroker, clean_db: str, engine: Engine, statsd_listener: StatsdListener, tmp_path: Path
) -> None:
    write_task_events(engine, [(str(uuid.uuid4()), 1)])
    wrong = {**sasl_broker.env, "KAFKA_SASL_PASSWORD": "not-the-password"}
    relay = RelayProcess(
        relay_environment(clean_db, sasl_broker.bootstrap, statsd_listener.port, **wrong), tmp_path / "relay.log"
    )
    try:
        relay.wait_for_log("Kafka refused the connection")
        assert "ERROR" in next(line for line in relay.output().splitlines() if "Kafka refused" in line)
        assert outbox_counts(clean_db) == (0, 1)
        assert relay.alive()  # it keeps the outbox and retries: fixing the Secret and restarting loses nothing
    finally:
        relay.kill()


@pytest.mark.parametrize("ca", ["none", "other"])
def test_client_without_the_ca_refuses_the_broker_certificate(sasl_broker: SaslBroker, tls: Tls, ca: str) -> None:
    env = dict(sasl_broker.env)
    if ca == "none":
        env["KAFKA_SSL_CA_LOCATION"] = ""  # the system's CAs only
    else:
        env["KAFKA_SSL_CA_LOCATION"] = str(tls.other_ca)
    done = _todoflow(env, "create-topics", "--timeout", "600")
    assert done.returncode == 1
    assert "certificate verify failed" in done.stderr and "KAFKA_SSL_CA_LOCATION" in done.stderr


def test_client_refuses_a_certificate_that_does_not_name_the_host_it_dialled(sasl_broker: SaslBroker) -> None:
    # Same broker, same trusted CA, but dialled as "localhost": its certificate names 127.0.0.1 only.
    port = sasl_broker.bootstrap.rsplit(":", 1)[1]
    done = _todoflow({**sasl_broker.env, "KAFKA_BOOTSTRAP_SERVERS": f"localhost:{port}"}, "create-topics")
    assert done.returncode == 1
    assert "certificate verify failed" in done.stderr and "KAFKA_SSL_CA_LOCATION" in done.stderr
