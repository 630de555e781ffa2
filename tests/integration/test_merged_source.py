"""The merged source on a real broker: the stream topics come out as one stream in event time,
and a partition that still holds unread records is waited for, not overtaken."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from bytewax.inputs import StatefulSourcePartition
from confluent_kafka import Producer, TopicPartition

from connectors.kafka.merged_source import MergedKafkaSource, _MergedPartition
from state.intake import RawEvent

T0 = 1_291_190_400_000  # 2010-12-01T08:00:00Z in ms


def produce(brokers: str, records: list[tuple[str, int, bytes]]) -> None:
    """(topic, timestamp ms, value), in this order."""
    producer = Producer({"bootstrap.servers": brokers})
    for topic, timestamp, value in records:
        producer.produce(topic, value=value, timestamp=timestamp)
    assert producer.flush(30) == 0


def drain(part: StatefulSourcePartition[RawEvent, Any], seconds: float, until: int) -> list[bytes]:
    """What the partition releases within `seconds` (or until `until` records came out)."""
    out: list[RawEvent] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(out) < until:
        try:
            out += part.next_batch()
        except StopIteration:
            break
        awake = part.next_awake()  # as Bytewax does: an empty fetch asks for a pause, not a spin
        if awake is not None:
            time.sleep(max(0.0, (awake - datetime.now(UTC)).total_seconds()))
    return [raw.payload for raw in out]


def merged(kafka_bootstrap: str, topics: list[str], *, tail: bool) -> _MergedPartition:
    source = MergedKafkaSource([kafka_bootstrap], topics, tail=tail, max_idle_ms=100)
    return source.build_part("test", "merged", None)


def test_the_stream_topics_come_out_as_one_stream_in_event_time(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    receipts, movements = topic_factory("receipts"), topic_factory("movements")
    produce(
        kafka_bootstrap,
        [
            (movements, T0 + 1000, b"put away (t+1s)"),
            (movements, T0 + 3000, b"pick (t+3s)"),
            (receipts, T0, b"receipt (t)"),
            (receipts, T0 + 2000, b"order (t+2s)"),
        ],
    )
    part = merged(kafka_bootstrap, [receipts, movements], tail=False)
    try:
        released = drain(part, 30, until=4)
    finally:
        part.close()
    assert released == [b"receipt (t)", b"put away (t+1s)", b"order (t+2s)", b"pick (t+3s)"]


def test_a_partition_holding_unread_records_is_waited_for_not_overtaken(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    receipts, movements = topic_factory("receipts"), topic_factory("movements")
    produce(
        kafka_bootstrap,
        [(receipts, T0, b"receipt")] + [(movements, T0 + 1000 + n, b"put away") for n in range(5)],
    )
    part = merged(kafka_bootstrap, [receipts, movements], tail=True)
    late = TopicPartition(receipts, 0)
    part._consumer.pause([late])  # its fetch is late: as after a restart on a loaded machine
    try:
        while_late = drain(part, 1.0, until=6)  # ten times the merge's idle allowance
        part._consumer.resume([late])
        resumed = time.monotonic()
        after = drain(part, 30, until=6 - len(while_late))
        took = time.monotonic() - resumed
    finally:
        part.close()
    # If this fails, the time says which: over the merge's 10 s backlog allowance (the resumed
    # fetch came late), or under it with no receipt at all (librdkafka resumed a partition that
    # had delivered nothing at `auto.offset.reset`: the source now sets it to the earliest).
    seen = f"{after} within {took:.1f} s of the resume"
    assert while_late == []
    assert after[:1] == [b"receipt"], seen
    assert after.count(b"put away") == 5, seen


def test_the_broker_is_asked_for_partitions_and_backlogs_before_the_part_is_built(
    kafka_bootstrap: str, topic_factory: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytewax starts an input's epoch clock when it builds the part: broker queries there put
    this input's epochs out of phase with the sequenced log's, and each epoch end then paused
    the stream for the difference. `list_parts` asks, `build_part` only uses the answers."""
    receipts = topic_factory("receipts")
    produce(kafka_bootstrap, [(receipts, T0, b"a receipt")])
    source = MergedKafkaSource([kafka_bootstrap], [receipts], tail=False)
    assert source.list_parts() == ["merged"]

    def no_broker_queries_now(*args: object) -> None:
        raise AssertionError("build_part asked the broker again")

    monkeypatch.setattr(MergedKafkaSource, "_partitions", no_broker_queries_now)
    monkeypatch.setattr(MergedKafkaSource, "_backlog", no_broker_queries_now)
    part = source.build_part("test", "merged", None)
    try:
        assert drain(part, 10.0, until=1) == [b"a receipt"]
    finally:
        part.close()
