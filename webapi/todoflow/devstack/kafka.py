"""A one-node Apache Kafka broker in KRaft mode, from Maven Central's jars, on the machine's Java 17."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from todoflow.core.settings import DEV_DIR, LOCAL_KAFKA_PORT
from todoflow.devstack import procs

KAFKA_DIR = DEV_DIR / "kafka"
LIBS_DIR = KAFKA_DIR / "libs"
DATA_DIR = KAFKA_DIR / "data"
CONFIG = KAFKA_DIR / "server.properties"
LOG4J = KAFKA_DIR / "log4j2.properties"
LOG_FILE = KAFKA_DIR / "kafka.out"
POM = Path(__file__).with_name("kafka-pom.xml")
CONTROLLER_PORT = LOCAL_KAFKA_PORT + 1
NAME = "kafka"

SERVER_PROPERTIES = f"""\
# written by todoflow.devstack: one node that is both broker and controller, loopback only
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:{LOCAL_KAFKA_PORT},CONTROLLER://127.0.0.1:{CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:{LOCAL_KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={DATA_DIR}
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
"""

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


def _java_argv(main_class: str, *args: str) -> list[str]:
    return [
        java(),
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J}",
        "-cp",
        f"{LIBS_DIR}/*",
        main_class,
        *args,
    ]


def initialize() -> None:
    """Write the configuration and format the KRaft storage once."""
    fetch_jars()
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(SERVER_PROPERTIES)
    LOG4J.write_text(LOG4J_PROPERTIES)
    if (DATA_DIR / "meta.properties").exists():
        return
    cluster_id = _cluster_id()
    subprocess.run(
        _java_argv("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(CONFIG)),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _cluster_id() -> str:
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def is_running() -> bool:
    return procs.port_open(LOCAL_KAFKA_PORT)


def start() -> None:
    """Start the broker and wait until it answers metadata requests."""
    if is_running():
        return
    initialize()
    procs.start(NAME, _java_argv("kafka.Kafka", str(CONFIG)), os.environ, LOG_FILE)
    procs.wait_for(_ready, "Kafka", 90, LOG_FILE)


def _ready() -> bool:
    from confluent_kafka.admin import AdminClient

    if not is_running():
        return False
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{LOCAL_KAFKA_PORT}"})
    metadata = admin.list_topics(timeout=2)
    return bool(metadata.brokers)


def stop() -> bool:
    return procs.stop(NAME, timeout=30)
