"""The sequenced log's sink and the log's source on a real broker: a batch is sent while a few
before it are acknowledged, an epoch's confirmation puts everything in the log, a refusal stops
the flow, and the source reads the log back with its keys, resuming where it stopped."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bytewax.connectors.kafka import KafkaSinkMessage
from confluent_kafka import KafkaException

from connectors.kafka.delivery import DeliveredKafkaSink
from connectors.kafka.reader import read_to_end
from connectors.kafka.sequenced_log import IN_FLIGHT_BATCHES, SequencedLogSink
from connectors.kafka.source import KafkaEventSource
from dataflows.durable import ConfirmedPerEpoch
from state.intake import RawEvent


def parts(sku: str, count: int) -> list[KafkaSinkMessage[bytes | None, bytes | None]]:
    return [KafkaSinkMessage(sku.encode(), f'{{"n": {n}}}'.encode()) for n in range(count)]


def read_all(source: KafkaEventSource, resume: dict[str, int | None]) -> list[RawEvent]:
    """Every partition of `source` read to its end; `resume` gets each partition's snapshot."""
    out: list[RawEvent] = []
    for name in source.list_parts():
        part = source.build_part("log", name, resume.get(name))
        try:
            while True:
                out += part.next_batch()
        except StopIteration:
            resume[name] = part.snapshot()
        finally:
            part.close()
    return out


def test_the_log_sends_a_batch_once_all_but_the_last_few_before_it_are_in_kafka(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("sequenced")
    partition = SequencedLogSink([kafka_bootstrap], topic).build("sequenced_log", 0, 1)
    assert isinstance(partition, ConfirmedPerEpoch)

    # One SKU, so one partition, acknowledged in the order sent.
    partition.send(parts("85123A", 300))
    partition.send(parts("85123A", 200))
    for _ in range(IN_FLIGHT_BATCHES):  # the sink waits once more than these are unacknowledged
        partition.send(parts("85123A", 10))

    in_log = [raw.key for raw in read_to_end(kafka_bootstrap, topic)]
    assert len(in_log) >= 500  # the first two batches are in; the later ones may still travel
    partition.confirm()
    assert len(list(read_to_end(kafka_bootstrap, topic))) == 500 + 10 * IN_FLIGHT_BATCHES
    partition.close()


def test_a_message_kafka_refuses_stops_the_log_at_the_next_batch(
    kafka_bootstrap: str, unique: str
) -> None:
    sink = DeliveredKafkaSink(
        [kafka_bootstrap], f"{unique}.never-created", {"message.timeout.ms": "1500"}
    )
    partition = sink.build("sequenced_log", 0, 1)

    partition.produce(parts("85123A", 1))
    with pytest.raises(KafkaException, match="Kafka refused 1 messages"):
        partition.await_batches(0)


def test_the_log_reads_back_keyed_and_resumes_after_its_snapshot(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("sequenced", partitions=2)
    log = SequencedLogSink([kafka_bootstrap], topic).build("sequenced_log", 0, 1)
    log.write_batch(parts("85123A", 5) + parts("22423", 3))
    source = KafkaEventSource([kafka_bootstrap], [topic], tail=False)
    resume: dict[str, int | None] = {}

    first = read_all(source, resume)
    log.write_batch(parts("85123A", 2))
    again = read_all(source, resume)

    assert sorted(raw.key or "" for raw in first) == ["22423"] * 3 + ["85123A"] * 5
    assert all(raw.origin.startswith(f"{topic}/") for raw in first)
    assert [raw.key for raw in again] == ["85123A", "85123A"]  # only what came after
    log.close()
