"""Where the full path used to wait for nothing (issue 9), on a real broker: an empty fetch never
blocks the flow's worker (it asks Bytewax to call again instead), a producer warms up, and the
benchmark's decision reader hands over a message as soon as it arrives."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from connectors.kafka.merged_source import MergedKafkaSource
from connectors.kafka.producer import EventProducer
from connectors.kafka.source import (
    IDLE_POLL,
    TAIL_FETCH_WAIT_MAX_MS,
    KafkaEventSource,
    _RawPartition,
)
from connectors.kafka.topics import Topics
from dataflows.bench.allocation_skuflow import arrived
from state.events import ReceiptLine, ReceiptPosted


def _tailing_log_partition(kafka_bootstrap: str, topic: str) -> _RawPartition:
    return KafkaEventSource([kafka_bootstrap], [topic], tail=True).build_part(
        "test", f"0-{topic}", None
    )


def _fetch_empty(next_batch: Callable[[], object], times: int = 20) -> None:
    for _ in range(times):
        next_batch()


def test_an_empty_log_partition_answers_at_once_and_asks_to_be_called_again_soon(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    part = _tailing_log_partition(kafka_bootstrap, topic_factory("sequenced"))
    try:
        _fetch_empty(part.next_batch)
        awake = part.next_awake()  # a fetch that waited in `consume` never asked for this
        assert awake is not None
        assert awake > datetime.now(UTC) - IDLE_POLL
    finally:
        part.close()


def test_a_tailing_log_partition_hands_over_a_record_at_once_though_its_empty_fetch_is_held(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("sequenced")
    part = _tailing_log_partition(kafka_bootstrap, topic)
    try:
        _fetch_empty(part.next_batch)
        time.sleep(0.1)  # the consumer's fetch is now held by the broker, empty
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        producer.produce(topic, partition=0, value=b"RETRO-CLOCK +1")
        assert producer.flush(30) == 0
        acknowledged = time.monotonic()
        out: list[bytes] = []
        while not out and time.monotonic() < acknowledged + 10:
            out = [raw.payload for raw in part.next_batch()]
            time.sleep(0.001)
        waited = time.monotonic() - acknowledged

        assert out == [b"RETRO-CLOCK +1"]
        assert waited < TAIL_FETCH_WAIT_MAX_MS / 2000  # not held until the broker's wait ran out
    finally:
        part.close()


def test_the_merged_stream_topics_answer_at_once_when_empty_and_at_once_again_with_data(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    receipts = topic_factory("receipts")
    part = MergedKafkaSource([kafka_bootstrap], [receipts], tail=True).build_part(
        "test", "merged", None
    )
    try:
        _fetch_empty(part.next_batch)
        assert part.next_awake() is not None
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        producer.produce(receipts, value=b"RETRO-CLOCK received")
        assert producer.flush(30) == 0
        out: list[bytes] = []
        deadline = time.monotonic() + 10
        while not out and time.monotonic() < deadline:
            out = [raw.payload for raw in part.next_batch()]
        assert out == [b"RETRO-CLOCK received"]
        assert part.next_awake() is None  # data came: called again without a pause
    finally:
        part.close()


def test_warming_up_a_producer_learns_the_topics_and_fails_loudly_without_a_broker(
    kafka_bootstrap: str, topic_factory: Callable[..., str], unique: str
) -> None:
    topics = Topics(unique)
    topic_factory("receipts", partitions=4)  # the registry's receipts topic for this prefix
    events = EventProducer(kafka_bootstrap, topics)
    events.warm_up()  # what the first send would otherwise wait for (~500 ms, issue 9)
    events.send(
        ReceiptPosted(
            event_id=f"{unique}-first",
            occurred_at=datetime.now(UTC),
            source="test",
            location="LON/A/01/01/1/PICK",
            lines=(ReceiptLine(sku="RETRO-CLOCK", quantity=1),),
        )
    )
    events.flush(30)  # raises unless every event is acknowledged

    nowhere = EventProducer("127.0.0.1:1", topics)
    with pytest.raises(KafkaException):
        nowhere.warm_up(timeout=1.0)


def test_the_decision_reader_hands_over_a_message_before_its_wait_is_out(
    kafka_bootstrap: str, topic_factory: Callable[..., str], unique: str
) -> None:
    topic = topic_factory("decisions")
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": unique, "fetch.wait.max.ms": 20}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, value=b"order RETRO-CLOCK-1 routed")
    assert producer.flush(30) == 0
    try:
        began = time.perf_counter()
        got: list[bytes] = []
        while not got and time.perf_counter() - began < 20:
            got = [m.value() or b"" for m in arrived(consumer, wait=5.0) if m.error() is None]
        assert got == [b"order RETRO-CLOCK-1 routed"]
        assert time.perf_counter() - began < 5.0  # `consume(1000, 5.0)` would have waited 5 s
    finally:
        consumer.close()
