"""A replay (`skuflow run --until-end`) ends at the topics' ends even when librdkafka's
end-of-partition event never comes: a broker restarted as a partition's last records were
fetched lost it in CI, and the engine folded nothing, forever. Real broker; the event is
dropped between the consumer and the source."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer

from connectors.kafka.source import KafkaEventSource, _RawPartition


class WithoutEndEvents:
    """The partition's consumer, its end-of-partition events lost."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    def consume(self, num_messages: int, timeout: float) -> list[Any]:
        kept = []
        for message in self._consumer.consume(num_messages, timeout):
            error = message.error()
            if error is None or error.code() != KafkaError._PARTITION_EOF:
                kept.append(message)
        return kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def _replay_partition(kafka_bootstrap: str, topic: str) -> _RawPartition:
    part = KafkaEventSource([kafka_bootstrap], [topic], tail=False).build_part(
        "test", f"0-{topic}", None
    )
    part._consumer = WithoutEndEvents(part._consumer)  # type: ignore[assignment]
    return part


def _read_to_end(part: _RawPartition, within: float = 20.0) -> list[bytes]:
    out: list[bytes] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            out += [raw.payload for raw in part.next_batch()]
        except StopIteration:
            return out
        time.sleep(0.002)
    raise AssertionError(f"the replay did not end within {within} s; read {out}")


def test_a_replay_ends_at_its_partitions_end_without_librdkafkas_end_event(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("sequenced")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for n in range(3):
        producer.produce(topic, partition=0, value=f"RETRO-CLOCK +{n}".encode())
    assert producer.flush(30) == 0
    part = _replay_partition(kafka_bootstrap, topic)
    try:
        read = _read_to_end(part)
    finally:
        part.close()

    assert read == [b"RETRO-CLOCK +0", b"RETRO-CLOCK +1", b"RETRO-CLOCK +2"]
    assert part.snapshot() == 3  # a resumed replay starts after the last record


def test_an_empty_replay_partition_ends_without_librdkafkas_end_event(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    part = _replay_partition(kafka_bootstrap, topic_factory("sequenced"))
    try:
        assert _read_to_end(part) == []
    finally:
        part.close()
