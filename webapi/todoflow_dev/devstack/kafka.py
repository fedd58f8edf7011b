"""A one-node Apache Kafka broker in KRaft mode, from Maven Central's jars, on the machine's Java 17.

`Broker` describes one node (port, state directory); the module-level functions run the stack's
default broker on LOCAL_KAFKA_PORT. Other instances (fault tests, benchmarks) reuse the same jars.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from todoflow.core.settings import DEV_DIR, LOCAL_KAFKA_PORT
from todoflow_dev.devstack import procs

KAFKA_DIR = DEV_DIR / "kafka"
LIBS_DIR = KAFKA_DIR / "libs"
POM = Path(__file__).with_name("kafka-pom.xml")
NAME = "kafka"

SERVER_PROPERTIES_TEMPLATE = """\
# written by todoflow_dev.devstack: one node that is both broker and controller, loopback only
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}{extra_listeners}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}{extra_listeners}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT{extra_protocols}
log.dirs={data_dir}
# topics are created by the project with explicit settings, never implicitly by a client
auto.create.topics.enable=false
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
{extra_properties}"""

# What a managed Kafka offers (DigitalOcean's included): TLS, then a SCRAM (or PLAIN) login. Kafka 4 reads the
# server's key and certificate chain in PEM form, so no JKS keystore or keytool is needed.
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"
SASL_SSL_PROPERTIES_TEMPLATE = (
    "# the SASL_SSL listener: TLS with a PEM key and certificate chain, SCRAM-SHA-256/512 and PLAIN logins\n"
    "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN\n"
    f"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config={SCRAM_LOGIN}\n"
    f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={SCRAM_LOGIN}\n"
    f"listener.name.sasl_ssl.plain.sasl.jaas.config={PLAIN_LOGIN} {{plain_users}};\n"
    "listener.name.sasl_ssl.ssl.keystore.type=PEM\n"
    "listener.name.sasl_ssl.ssl.keystore.location={keystore}\n"
    "listener.name.sasl_ssl.ssl.client.auth=none\n"
)
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")

LOG4J_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def java() -> str:
    """The java executable: JAVA_HOME's, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise RuntimeError("java (17 or newer) is not on PATH; Kafka needs it")
    return found


def fetch_jars() -> None:
    """Fetch the broker's jars with Maven once (kafka_2.13 and its dependencies)."""
    if LIBS_DIR.exists() and any(LIBS_DIR.glob("kafka_2.13-*.jar")):
        return
    tmp = KAFKA_DIR / "libs.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={tmp}"],
        check=True,
    )
    shutil.rmtree(LIBS_DIR, ignore_errors=True)
    tmp.rename(LIBS_DIR)


def _cluster_id() -> str:
    """A random KRaft cluster id (base64url of a UUID, as `kafka-storage random-uuid` makes them)."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # The storage tool would read an id starting with "-" as an option (Kafka's own ids never do).
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class SaslSslListener:
    """An extra SASL_SSL listener on 127.0.0.1:port, as managed Kafka has: TLS, then SCRAM or PLAIN.

    keystore is a PEM file holding the server's unencrypted PKCS#8 private key followed by its certificate
    chain; users are (name, password) pairs, created as SCRAM-SHA-256 and SCRAM-SHA-512 credentials when the
    storage is formatted, and as PLAIN users in the listener's JAAS configuration.
    """

    port: int
    keystore: Path
    users: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        for name, password in self.users:
            # Both go unquoted into the storage tool's --add-scram argument and a JAAS line.
            if not (name.replace("-", "").replace("_", "").isalnum() and password.replace("-", "").isalnum()):
                raise ValueError("SCRAM user names and passwords here are letters, digits, '-' (and '_' in names)")

    def properties(self) -> str:
        """The listener's lines of server.properties."""
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in self.users)
        return SASL_SSL_PROPERTIES_TEMPLATE.format(plain_users=plain_users, keystore=self.keystore)

    def format_arguments(self) -> list[str]:
        """The storage tool's arguments that create every user's SCRAM credentials in the cluster metadata."""
        return [
            argument
            for mechanism in SCRAM_MECHANISMS
            for name, password in self.users
            for argument in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]


@dataclass(frozen=True)
class Broker:
    """One KRaft node (broker and controller) on 127.0.0.1:port, its state under home.

    The PLAINTEXT listener on port always exists (the broker's own traffic and the stack's readiness probes
    use it); sasl_ssl adds a SASL_SSL listener beside it (tests of the managed-Kafka settings).
    """

    name: str = NAME
    port: int = LOCAL_KAFKA_PORT
    home: Path = KAFKA_DIR
    sasl_ssl: SaslSslListener | None = None

    @property
    def controller_port(self) -> int:
        """The KRaft controller's port: the broker's port + 1."""
        return self.port + 1

    @property
    def bootstrap(self) -> str:
        """The PLAINTEXT bootstrap address, 127.0.0.1:port."""
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        """The broker's log directory."""
        return self.home / "data"

    @property
    def config(self) -> Path:
        """The broker's server.properties."""
        return self.home / "server.properties"

    @property
    def log4j(self) -> Path:
        """The broker's log4j2 configuration."""
        return self.home / "log4j2.properties"

    @property
    def log_file(self) -> Path:
        """Where the broker's output goes."""
        return self.home / "kafka.out"

    def server_properties(self) -> str:
        """The broker's server.properties, with the SASL_SSL listener if it has one."""
        extra = {"extra_listeners": "", "extra_protocols": "", "extra_properties": ""}
        if self.sasl_ssl is not None:
            extra = {
                "extra_listeners": f",SASL_SSL://127.0.0.1:{self.sasl_ssl.port}",
                "extra_protocols": ",SASL_SSL:SASL_SSL",
                "extra_properties": self.sasl_ssl.properties(),
            }
        return SERVER_PROPERTIES_TEMPLATE.format(
            port=self.port, controller_port=self.controller_port, data_dir=self.data_dir, **extra
        )

    def _java_argv(self, main_class: str, *args: str) -> list[str]:
        return [
            java(),
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j}",
            "-cp",
            f"{LIBS_DIR}/*",
            main_class,
            *args,
        ]

    def initialize(self) -> None:
        """Write the configuration and format the KRaft storage once."""
        fetch_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self.server_properties())
        self.log4j.write_text(LOG4J_PROPERTIES)
        if (self.data_dir / "meta.properties").exists():
            return
        scram = self.sasl_ssl.format_arguments() if self.sasl_ssl is not None else []
        subprocess.run(
            self._java_argv("kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(self.config), *scram),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def is_running(self) -> bool:
        """Whether something listens on the broker's port."""
        return procs.port_open(self.port)

    def start(self, timeout: float = 90) -> None:
        """Start the broker and wait until it answers metadata requests and serves consumer groups."""
        if self.is_running():
            return
        self.initialize()
        procs.start(self.name, self._java_argv("kafka.Kafka", str(self.config)), os.environ, self.log_file)
        procs.wait_for(self._ready, f"Kafka ({self.name})", timeout, self.log_file)
        procs.wait_for(self._coordinator_ready, f"Kafka group coordinator ({self.name})", timeout, self.log_file)

    def _ready(self) -> bool:
        from confluent_kafka.admin import AdminClient

        if not self.is_running():
            return False
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        metadata = admin.list_topics(timeout=2)
        return bool(metadata.brokers)

    def _coordinator_ready(self) -> bool:
        """True once a consumer group's offsets can be read: the first such read creates __consumer_offsets.

        Until then admin calls about groups fail at once (COORDINATOR_NOT_AVAILABLE). A consumer waits for
        the coordinator by itself, and is closed cleanly whatever happens (librdkafka dislikes clients
        destroyed with requests in flight).
        """
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": "todoflow-devstack-probe", "enable.auto.commit": False}
        )
        try:
            consumer.committed([TopicPartition("__consumer_offsets", 0)], timeout=10)
            return True
        finally:
            consumer.close()

    def stop(self, timeout: float = 30) -> bool:
        """Stop the broker; True if it was running."""
        return procs.stop(self.name, timeout=timeout)


def wait_for_leaders(bootstrap: str, topics: Sequence[str], timeout: float = 60) -> None:
    """Wait until every partition of topics has a leader that answers offset requests."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "todoflow-devstack-probe"})
    deadline = time.monotonic() + timeout
    try:
        for topic in topics:
            while True:
                try:
                    for partition in consumer.list_topics(topic, timeout=5).topics[topic].partitions:
                        consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
    finally:
        consumer.close()


@contextlib.contextmanager
def scratch_broker(name: str, port: int) -> Iterator[str]:
    """A dedicated, empty KRaft node under .dev/<name> with the project's topics; removed afterwards.

    For benchmarks and fault tests that must not touch (or be disturbed by) the shared broker's topics.
    """
    from todoflow.core.events import TOPICS
    from todoflow.core.settings import Settings
    from todoflow.core.topics import ensure_topics

    broker = Broker(name=name, port=port, home=DEV_DIR / name)
    broker.stop()
    shutil.rmtree(broker.data_dir, ignore_errors=True)
    broker.start()
    try:
        ensure_topics(Settings(kafka_bootstrap_servers=broker.bootstrap))
        wait_for_leaders(broker.bootstrap, TOPICS)
        yield broker.bootstrap
    finally:
        broker.stop()
        shutil.rmtree(broker.home, ignore_errors=True)


DEFAULT = Broker()
DATA_DIR = DEFAULT.data_dir
CONFIG = DEFAULT.config
LOG4J = DEFAULT.log4j
LOG_FILE = DEFAULT.log_file
CONTROLLER_PORT = DEFAULT.controller_port
SERVER_PROPERTIES = DEFAULT.server_properties()


def initialize() -> None:
    """Write the default broker's configuration and format its storage once."""
    DEFAULT.initialize()


def is_running() -> bool:
    """Whether the default broker is running."""
    return DEFAULT.is_running()


def start() -> None:
    """Start the default broker and wait until it answers metadata requests."""
    DEFAULT.start()


def stop() -> bool:
    """Stop the default broker; True if it was running."""
    return DEFAULT.stop()
