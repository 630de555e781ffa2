"""PostgreSQL, then the Kafka broker, restarted while the engine runs: it waits, then resumes.

Each test starts its own private server with the project's service code (the shared ones are
never touched), runs `skuflow run --until-end` through it on a slice of the Online Retail replay,
and stops and restarts that server mid-run. The engine must neither die nor lose or double
anything: its ledger, current stock and live view equal those of a clean run of the same events
on the shared services, and its log shows the transient errors it waited out.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from bytewax.connectors.kafka import KafkaSinkMessage
from confluent_kafka import Consumer, KafkaException, TopicPartition

from connectors.kafka.delivery import DeliveredKafkaSink
from connectors.kafka.topics import SEQUENCED, Topics
from connectors.replay.online_retail import replay
from connectors.services.base import ServiceInfo, stop_pid
from connectors.services.kafka import restart_kafka, start_kafka
from connectors.services.manager import project_root
from connectors.services.postgres import restart_postgres, start_postgres
from connectors.settings import Settings
from dataflows.production import Wiring
from state.catalog import Catalog
from state.events import Event
from tests.integration.test_kafka_pipeline import (
    assert_same_outcome,
    ledger_events,
    new_wiring,
    produce,
    retail_path,
    sequence_and_fold,
)
from tests.reliability.test_sigkill import catalog_file, engine, retail_catalog

ROWS = 3000  # about 13,000 events: the fold is still writing when the server goes down (at 1,000
# rows it had written 90% of the ledger by its first commit, and a restart could miss every write)
DOWN_SECONDS = 3.0


@pytest.fixture(scope="module")
def catalog(settings: Settings) -> Catalog:
    return retail_catalog(settings.data_dir)


@pytest.fixture(scope="module")
def catalog_json(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(catalog_file(catalog, tmp_path_factory.mktemp("catalog") / "catalog.json"))


@pytest.fixture(scope="module")
def events(settings: Settings) -> list[Event]:
    return list(replay(retail_path(settings), limit_rows=ROWS))


@pytest.fixture(scope="module")
def clean(services: dict, catalog: Catalog, events: list[Event]) -> Wiring:
    """The reference: the slice sequenced and folded once, on the shared services, undisturbed."""
    wiring = new_wiring(services, "restartclean" + uuid.uuid4().hex[:8])
    produce(wiring, events)
    sequence_and_fold(wiring, catalog)
    return wiring


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[dict[str, ServiceInfo]]:
    """This test's own server; a restart puts its new pid in the holder, so teardown stops it."""
    info = start_postgres(tmp_path / "postgres")
    holder = {"info": info}
    yield holder
    stop_pid(holder["info"].pid)
    shutil.rmtree(info.data_dir, ignore_errors=True)  # as root it lives in /tmp, not tmp_path


@pytest.fixture
def private_kafka(tmp_path: Path, settings: Settings) -> Iterator[dict[str, ServiceInfo]]:
    """This test's own broker; a restart puts its new pid in the holder, so teardown stops it."""
    info = start_kafka(
        tmp_path / "kafka", cache_dir=settings.cache_dir, project_root=project_root()
    )
    holder = {"info": info}
    yield holder
    stop_pid(holder["info"].pid)


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 120) -> float:
    started = time.monotonic()
    while not ready():
        assert time.monotonic() - started < timeout, f"{what} within {timeout:.0f} s"
        time.sleep(0.05)
    return time.monotonic() - started


def log_lines(log: Path, *needles: str) -> list[str]:
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if any(needle in line for needle in needles)
    ]


def finished(process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    """The engine's exit code. One still running after `timeout` is killed (so it cannot outlive
    its test), and the test fails with the engine's last log lines, librdkafka's reconnection
    attempts left out."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        lines = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if "Connect to ipv4" not in line
        ]
        tail = "\n".join(lines[-40:])
        raise AssertionError(f"the engine did not finish within {timeout:.0f} s:\n{tail}") from None


def ledger_events_or_none(wiring: Wiring) -> int | None:
    try:
        return ledger_events(wiring)
    except psycopg.OperationalError:
        return None


@pytest.mark.slow
def test_the_engine_waits_for_a_restarted_postgresql_and_loses_nothing(
    services: dict,
    clean: Wiring,
    events: list[Event],
    catalog_json: str,
    private_postgres: dict[str, ServiceInfo],
    tmp_path: Path,
) -> None:
    info = private_postgres["info"]
    prefix = "pgrestart" + uuid.uuid4().hex[:8]
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=Topics(prefix),
        redis_url=services["redis"].url,
        redis_prefix=prefix,
        postgres_dsn=info.url,
        postgres_schema=prefix,
    )
    wiring.prepare()
    produce(wiring, events)
    target = ledger_events(clean)
    log = tmp_path / "engine.log"
    process = engine(wiring, log, "--until-end", "--no-routing", catalog=catalog_json)

    wait_until(lambda: (ledger_events_or_none(wiring) or 0) > 0, "the fold should start")
    at_restart = ledger_events(wiring)
    started = time.monotonic()
    private_postgres["info"] = restart_postgres(info, down_for=DOWN_SECONDS)
    back_after = time.monotonic() - started
    assert finished(process, log, timeout=180) == 0, log.read_text(errors="replace")[-3000:]

    retries = log_lines(log, "transient error")
    recovered = log_lines(log, "succeeded on attempt")
    print(
        f"\nPostgreSQL down {back_after:.1f} s at {at_restart:,} of {target:,} ledger events; "
        f"{len(retries)} retries logged, {len(recovered)} writes recovered; "
        f"ledger {ledger_events(wiring):,} events (clean run {target:,})"
    )
    assert at_restart < target, "the fold finished before the restart: use a larger slice"
    assert retries, "the engine should log the transient errors it retried"
    assert recovered
    assert_same_outcome(clean, wiring)


def log_messages(brokers: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "skuflow-test-watermarks"})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, partition), 5)[1]
            for partition in range(4)
        )
    finally:
        consumer.close()


@pytest.mark.slow
def test_the_engine_waits_for_a_restarted_kafka_broker_and_loses_nothing(
    services: dict,
    clean: Wiring,
    events: list[Event],
    catalog_json: str,
    private_kafka: dict[str, ServiceInfo],
    settings: Settings,
    tmp_path: Path,
) -> None:
    info = private_kafka["info"]
    prefix = "kafkarestart" + uuid.uuid4().hex[:8]
    wiring = Wiring(
        brokers=info.url,
        topics=Topics(prefix),
        redis_url=services["redis"].url,
        redis_prefix=prefix,
        postgres_dsn=services["postgres"].url,
        postgres_schema=prefix,
    )
    wiring.prepare()
    produce(wiring, events)
    log = tmp_path / "engine.log"
    process = engine(wiring, log, "--until-end", "--no-routing", catalog=catalog_json)

    sequenced = wiring.topics.name(SEQUENCED)
    wait_until(lambda: log_messages(info.url, sequenced) > 0, "the sequencer should start")
    at_restart = log_messages(info.url, sequenced)
    folded_at_restart = ledger_events_or_none(wiring) or 0
    started = time.monotonic()
    private_kafka["info"] = restart_kafka(
        info, cache_dir=settings.cache_dir, project_root=project_root(), down_for=DOWN_SECONDS
    )
    back_after = time.monotonic() - started
    assert finished(process, log, timeout=240) == 0, log.read_text(errors="replace")[-3000:]

    waits = log_lines(log, "Kafka client error", "Kafka consumer:", "still waiting for Kafka")
    print(
        f"\nKafka broker down {back_after:.1f} s at {at_restart:,} sequenced messages and "
        f"{folded_at_restart:,} ledger events; "
        f"{len(waits)} broker errors logged and waited out; "
        f"ledger {ledger_events(wiring):,} events (clean run {ledger_events(clean):,})"
    )
    # The broker went down while the engine still needed it: sequencing into the log, or folding
    # the log (read from the same broker). The sequencer alone can finish first: it is quick.
    still_working = at_restart < log_messages(info.url, sequenced) or folded_at_restart < (
        ledger_events(clean)
    )
    assert still_working, "the engine finished before the restart: use a larger slice"
    assert waits, "the engine should log the broker errors it waited out"
    assert_same_outcome(clean, wiring)


def test_a_message_kafka_refuses_stops_the_flow_instead_of_vanishing(
    services: dict, unique: str
) -> None:
    sink = DeliveredKafkaSink(
        [services["kafka"].url], f"{unique}.never-created", {"message.timeout.ms": "1500"}
    )
    partition = sink.build("changes", 0, 1)

    with pytest.raises(KafkaException, match="Kafka refused 1 messages"):
        partition.write_batch([KafkaSinkMessage(b"85123A", b"{}")])
