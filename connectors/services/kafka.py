"""A real single-node Apache Kafka broker (KRaft, Java 17) on loopback, run from its Maven jars.

No system or Python package ships a Kafka broker and there is no Docker here, so `mvn` fetches the
broker's jars (`deploy/kafka/pom.xml`) once into the cache directory, and `start_kafka` runs them
the way Kafka's own `kafka-storage.sh` and `kafka-server-start.sh` would.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from connectors.services.base import (
    ServiceError,
    ServiceInfo,
    free_port,
    launch_detached,
    pid_alive,
    port_answers,
    stop_pid,
    wait_until,
)

POM = Path("deploy/kafka/pom.xml")
LOG4J = Path("deploy/kafka/log4j2.properties")
MARKER = ".complete"  # written last, so a half-finished download never counts as the jars

# The broker keeps Kafka's usual G1 settings: C1-only or serial-GC flags cut start-up by under
# half a second here but cost steady-state throughput, and benchmarks run against this broker.
BROKER_JVM = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
BROKER_JVM += ["-XX:+ExitOnOutOfMemoryError"]  # a broker out of heap should die loudly, not limp
# The storage formatter runs for a second and exits: C1 only and the serial GC start it ~25% faster.
TOOL_JVM = ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]

SERVER_PROPERTIES = """\
# Written by connectors/services/kafka.py at every start; edits here are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data_dir}
# One node: every internal topic has one replica, or it can never be created.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A few partitions instead of 50 per internal topic: one node gains nothing from 50, and each
# partition is a directory of segment and index files to create, load and recover.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
share.coordinator.state.topic.num.partitions=4
num.partitions=1
# Topics are created on purpose (with their partition count), as in production.
auto.create.topics.enable=false
# Tests start consumers and expect them to get partitions now, not after 3 s of waiting for more.
group.initial.rebalance.delay.ms=0
# Sized for 2 cores and a 512 MB heap (the cleaner's default buffer alone is 128 MB).
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=33554432
"""


def kafka_jars(cache_dir: Path, *, project_root: Path) -> Path:
    """The directory holding the broker's jars, fetched with `mvn` only when not cached yet."""
    pom = project_root / POM
    # Keyed by the pom's content: changing a version there fetches a fresh, unmixed set of jars.
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    jars = cache_dir / f"kafka-jars-{digest}"
    if (jars / MARKER).exists():
        return jars
    mvn = _tool("mvn", "Install Maven (Debian package `maven`)")
    shutil.rmtree(jars, ignore_errors=True)  # an unmarked directory is an interrupted download
    partial = jars.with_name(f"{jars.name}.partial-{os.getpid()}")
    # -U: retry now, even if an earlier attempt failed (mvn would otherwise trust that failure
    # for a day); it costs nothing, as this only runs when the jars are missing.
    cmd = [mvn, "-q", "-B", "-U", "-f", str(pom), "dependency:copy-dependencies"]
    # Scope runtime means compile + runtime: most of the broker (kafka-server, kafka-raft,
    # log4j-core) is a runtime dependency of kafka_2.13, so compile scope alone cannot start it.
    cmd += ["-DincludeScope=runtime", f"-DoutputDirectory={partial}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ServiceError(
            f"Fetching the Kafka broker's jars failed: `{' '.join(cmd)}` exited "
            f"{result.returncode}. Check that mvn reaches its repository (proxy or mirror in "
            f"~/.m2/settings.xml), then start the services again. mvn said:\n{_tail(result)}"
        )
    (partial / MARKER).write_text(digest)
    try:
        partial.rename(jars)
    except OSError:  # another process got there first; its jars are the same
        shutil.rmtree(partial, ignore_errors=True)
    return jars


def start_kafka(
    run_dir: Path,
    *,
    cache_dir: Path,
    project_root: Path,
    timeout: float = 90.0,
    ports: tuple[int, int] | None = None,
) -> ServiceInfo:
    """Start a broker+controller on 127.0.0.1 and return once it serves metadata.

    Data under `run_dir/data` is kept between starts, so a restarted broker keeps its topics;
    delete `run_dir` to start from an empty cluster. `ports` (broker, controller) are free ones
    unless given (`restart_kafka` passes the old ones, so clients find the broker again).
    """
    java = _tool("java", "Install a Java 17+ runtime (Debian package `openjdk-17-jre-headless`)")
    jars = kafka_jars(cache_dir, project_root=project_root)
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    data_dir, log, config = run_dir / "data", run_dir / "kafka.log", run_dir / "server.properties"
    if ports is None:
        port, controller_port = free_port(), free_port()
        while controller_port == port:
            controller_port = free_port()
    else:
        port, controller_port = ports
    config.write_text(
        SERVER_PROPERTIES.format(port=port, controller_port=controller_port, data_dir=data_dir)
    )
    common = [f"-Dlog4j2.configurationFile={(project_root / LOG4J).resolve()}", "-cp", f"{jars}/*"]

    if not (data_dir / "meta.properties").exists():
        # --standalone makes this node the whole (dynamic) controller quorum, found through
        # controller.quorum.bootstrap.servers; controller.quorum.voters must stay unset.
        fmt = [java, *TOOL_JVM, *common, "kafka.tools.StorageTool", "format", "--standalone"]
        fmt += ["-t", _cluster_id(), "-c", str(config)]
        result = subprocess.run(fmt, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(
                f"Formatting Kafka's storage in {data_dir} failed (exit {result.returncode}); "
                f"delete {run_dir} to start from scratch. StorageTool said:\n{_tail(result)}"
            )

    broker = [java, *BROKER_JVM, *common, "kafka.Kafka", str(config)]
    pid = launch_detached(broker, log, cwd=run_dir)
    bootstrap = f"127.0.0.1:{port}"
    try:
        # The cheap TCP probe first: no Kafka client is built until the listener is open.
        wait_until(
            lambda: port_answers(port) and kafka_answers(bootstrap),
            timeout=timeout,
            what=f"Kafka broker (pid {pid}) on {bootstrap}",
            log=log,
            alive=lambda: pid_alive(pid),
        )
    except ServiceError:
        stop_pid(pid)  # a half-started broker would hold the data directory's lock
        raise
    _warm_group_coordinator(bootstrap)
    return ServiceInfo(
        name="kafka",
        pid=pid,
        port=port,
        url=bootstrap,
        log=str(log),
        data_dir=str(data_dir),
        extra={"controller_port": str(controller_port)},
    )


def restart_kafka(
    info: ServiceInfo, *, cache_dir: Path, project_root: Path, down_for: float = 0.0
) -> ServiceInfo:
    """Stop the broker (SIGTERM: a controlled shutdown), stay down `down_for` seconds, then start
    it again on the same ports and data directory: its topics and their messages are kept.

    For reliability tests on a private broker only: every client loses it meanwhile.
    """
    stop_pid(info.pid, timeout=30.0)
    time.sleep(down_for)
    ports = (info.port, int(info.extra["controller_port"]))
    run_dir = Path(info.data_dir).parent
    return start_kafka(run_dir, cache_dir=cache_dir, project_root=project_root, ports=ports)


def kafka_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    """True when a broker at `bootstrap` serves metadata and lists itself as a live broker."""
    # log_level 0: otherwise librdkafka prints "Connection refused" to stderr on every probe.
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        # A broker still fenced by its controller answers, but lists no brokers yet.
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException:
        return False


def _warm_group_coordinator(bootstrap: str) -> None:
    """Have the broker create __consumer_offsets now, not when the first consumer asks.

    A consumer whose FindCoordinator creates that topic is told "not available" and librdkafka
    retries ~3 s later; asking once here (~0.2 s) lets the first consumer group join in under 1 s.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    with contextlib.suppress(KafkaException, TimeoutError):  # best effort: the broker is up
        admin.describe_consumer_groups(["skuflow-warm-up"])["skuflow-warm-up"].result(10)


def _cluster_id() -> str:
    """A random id in Kafka's Uuid form: 16 bytes, URL-safe base64, no padding."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):  # Kafka avoids these too: a CLI would read them as a flag
            return cid


def _tail(result: subprocess.CompletedProcess[str], lines: int = 20) -> str:
    """The last lines a tool printed, without the colour codes Debian's mvn adds even with -B."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    return "\n".join(text.splitlines()[-lines:])


def _tool(name: str, how: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ServiceError(f"`{name}` is not on PATH; the Kafka broker needs it. {how}.")
    return path
