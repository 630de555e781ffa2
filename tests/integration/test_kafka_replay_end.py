"""A replay (`skuflow run --until-end`) ends at the topics' ends even when librdkafka's
end-of-partition event never comes: a broker restarted as a partition's last records were
fetched lost it in CI, and the engine folded nothing, forever. Real broker; the event is
dropped between the consumer and the source."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from bytewax.inputs import StatefulSourcePartition
from confluent_kafka import Consumer, KafkaError, Producer

from connectors.kafka import source
from connectors.kafka.source import KafkaEventSource, _RawPartition
from state.intake import RawEvent


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


def read_to_end(part: StatefulSourcePartition[RawEvent, Any], within: float = 20.0) -> list[bytes]:
    """Every payload the partition gives until it ends (a failure if not within `within` s)."""
    out: list[bytes] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            out += [raw.payload for raw in part.next_batch()]
        except StopIteration:
            return out
        time.sleep(0.002)
    raise AssertionError(f"the replay did not end within {within} s; read {out}")


THREE = [b"RETRO-CLOCK +0", b"RETRO-CLOCK +1", b"RETRO-CLOCK +2"]


def three_records(kafka_bootstrap: str, topic_factory: Callable[..., str]) -> str:
    """A fresh one-partition topic holding `THREE`."""
    topic = topic_factory("sequenced")
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for value in THREE:
        producer.produce(topic, partition=0, value=value)
    assert producer.flush(30) == 0
    return topic


def test_a_replay_ends_at_its_partitions_end_without_librdkafkas_end_event(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = three_records(kafka_bootstrap, topic_factory)
    part = _replay_partition(kafka_bootstrap, topic)
    try:
        read = read_to_end(part)
    finally:
        part.close()

    assert read == THREE
    assert part.snapshot() == 3  # a resumed replay starts after the last record


def test_an_empty_replay_partition_ends_without_librdkafkas_end_event(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    part = _replay_partition(kafka_bootstrap, topic_factory("sequenced"))
    try:
        assert read_to_end(part) == []
    finally:
        part.close()


class StoppedFetching:
    """The partition's consumer as a broker restart left it in CI: it fetches nothing and has no
    fetch response cached (its end unknown) until its fetch is restarted by a `seek`."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer
        self.seeks = 0

    def consume(self, num_messages: int, timeout: float) -> list[Any]:
        return self._consumer.consume(num_messages, timeout) if self.seeks else []

    def get_watermark_offsets(
        self, partition: Any, timeout: float = 1, cached: bool = False
    ) -> tuple[int, int]:
        if cached and not self.seeks:
            return (-1001, -1001)  # librdkafka's "no fetch response yet"
        return self._consumer.get_watermark_offsets(partition, timeout=timeout, cached=cached)

    def seek(self, partition: Any) -> None:
        self.seeks += 1
        self._consumer.seek(partition)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def _stopped_partition(
    kafka_bootstrap: str, topic: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[_RawPartition, StoppedFetching]:
    monkeypatch.setattr(source, "STALL_ASK_SECONDS", 0.5)
    part = KafkaEventSource([kafka_bootstrap], [topic], tail=False).build_part(
        "test", f"0-{topic}", None
    )
    stopped = StoppedFetching(part._consumer)
    part._consumer = stopped  # type: ignore[assignment]
    return part, stopped


def test_a_replay_partition_that_stopped_fetching_is_restarted_and_reads_to_its_end(
    kafka_bootstrap: str, topic_factory: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = three_records(kafka_bootstrap, topic_factory)
    part, stopped = _stopped_partition(kafka_bootstrap, topic, monkeypatch)
    try:
        read = read_to_end(part)
    finally:
        part.close()

    assert stopped.seeks == 1  # the broker said records were waiting: the fetch was restarted
    assert read == THREE


def test_an_empty_replay_partition_that_stopped_fetching_ends_on_the_brokers_word(
    kafka_bootstrap: str, topic_factory: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    part, stopped = _stopped_partition(kafka_bootstrap, topic_factory("sequenced"), monkeypatch)
    try:
        assert read_to_end(part) == []
    finally:
        part.close()

    assert stopped.seeks == 0  # nothing to fetch: the broker's offsets alone ended it
