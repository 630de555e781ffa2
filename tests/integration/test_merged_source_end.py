"""The merge learns that a partition is at its end from the fetch that brought its last records
(its high watermark), not from librdkafka's end-of-partition event one fetch later: on a real
broker, that event waits as long as the broker holds an empty fetch, and every record waited
with it (issue 9's freshness)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from connectors.kafka import merged_source
from connectors.kafka.merged_source import MergedKafkaSource, _MergedPartition
from tests.integration.test_kafka_replay_end import (
    StoppedFetching,
    WithoutEndEvents,
    read_to_end,
)
from tests.integration.test_merged_source import T0, produce

HELD_FETCH_MS = 3000  # how long the broker holds an empty fetch in these tests


def released_within(part: _MergedPartition, seconds: float, until: int) -> list[bytes]:
    out: list[bytes] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(out) < until:
        out += [raw.payload for raw in part.next_batch()]
        time.sleep(0.002)
    return out


@pytest.fixture
def slow_end_news(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker holds an empty fetch 3 s, so an end-of-partition event comes late."""
    monkeypatch.setattr(merged_source, "FETCH_WAIT_MAX_MS", HELD_FETCH_MS)


def live_merge(kafka_bootstrap: str, topics: list[str]) -> _MergedPartition:
    # A silent partition is waited for far longer than the test: only its end lets records pass.
    source = MergedKafkaSource([kafka_bootstrap], topics, tail=True, max_idle_ms=60_000)
    return source.build_part("test", "merged", None)


@pytest.mark.usefixtures("slow_end_news")
def test_records_pass_as_soon_as_every_partition_is_read_to_its_fetched_end(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    receipts, movements = topic_factory("receipts"), topic_factory("movements")
    part = live_merge(kafka_bootstrap, [receipts, movements])
    both = [TopicPartition(receipts, 0), TopicPartition(movements, 0)]
    try:
        assert released_within(part, 1.0, until=1) == []  # both partitions' ends are known
        part._consumer.pause(both)  # so that both records come in one fetch response
        produce(kafka_bootstrap, [(receipts, T0, b"receipt (t)"), (movements, T0 + 1, b"move")])
        part._consumer.resume(both)
        began = time.monotonic()
        released = released_within(part, HELD_FETCH_MS / 1000 * 2, until=2)
        took = time.monotonic() - began
    finally:
        part.close()
    assert released == [b"receipt (t)", b"move"]
    assert took < HELD_FETCH_MS / 1000 / 2, f"released after {took:.2f} s: it waited for the end"


@pytest.mark.usefixtures("slow_end_news")
def test_records_still_in_the_client_keep_their_partitions_place_in_the_merge(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    receipts, movements = topic_factory("receipts"), topic_factory("movements")
    produce(kafka_bootstrap, [(receipts, T0 + n, f"receipt t+{n}".encode()) for n in (0, 2, 4)])
    produce(kafka_bootstrap, [(movements, T0 + n, f"move t+{n}".encode()) for n in (1, 3)])
    # One record taken from the client per call: the others wait there, fetched, not taken.
    source = MergedKafkaSource(
        [kafka_bootstrap], [receipts, movements], tail=True, batch_size=1, max_idle_ms=60_000
    )
    part = source.build_part("test", "merged", None)
    try:
        released = released_within(part, HELD_FETCH_MS / 1000 * 2, until=5)
    finally:
        part.close()
    assert released == [
        b"receipt t+0", b"move t+1", b"receipt t+2", b"move t+3", b"receipt t+4"
    ]  # fmt: skip


def test_a_partition_nothing_was_taken_from_is_left_to_its_end_event(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    receipts = topic_factory("receipts")
    produce(kafka_bootstrap, [(receipts, T0, b"receipt")])
    source = MergedKafkaSource([kafka_bootstrap], [receipts], tail=True)
    part = source.build_part("test", "merged", None)
    try:
        partition = TopicPartition(receipts, 0)
        part._consumer.pause([partition])  # never fetched: no end known from a response
        assert not part._at_fetched_end((receipts, 0))
    finally:
        part.close()


def _merged_replay(
    kafka_bootstrap: str, topics: list[str], monkeypatch: pytest.MonkeyPatch, wrap: type
) -> tuple[_MergedPartition, Any]:
    """A merge that ends at the topics' ends, its consumer wrapped as `wrap` leaves it."""
    monkeypatch.setattr(merged_source, "STALL_ASK_SECONDS", 0.5)
    monkeypatch.setattr(merged_source, "SILENCE_CHECK_SECONDS", 0.1)
    part = MergedKafkaSource([kafka_bootstrap], topics, tail=False).build_part(
        "test", "merged", None
    )
    wrapped = wrap(part._consumer)
    part._consumer = wrapped
    return part, wrapped


def test_a_merged_replay_ends_at_the_topics_ends_without_librdkafkas_end_events(
    kafka_bootstrap: str, topic_factory: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts, movements = topic_factory("receipts"), topic_factory("movements")
    produce(kafka_bootstrap, [(receipts, T0, b"receipt"), (movements, T0 + 1, b"move")])
    part, _ = _merged_replay(kafka_bootstrap, [receipts, movements], monkeypatch, WithoutEndEvents)
    try:
        read = read_to_end(part)
    finally:
        part.close()

    assert read == [b"receipt", b"move"]
    assert part.snapshot() == {(receipts, 0): 1, (movements, 0): 1}


def test_a_merged_replay_whose_consumer_stopped_fetching_is_restarted_and_reads_to_the_end(
    kafka_bootstrap: str, topic_factory: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts, movements = topic_factory("receipts"), topic_factory("movements")
    produce(kafka_bootstrap, [(receipts, T0, b"receipt"), (movements, T0 + 1, b"move")])
    part, stopped = _merged_replay(
        kafka_bootstrap, [receipts, movements], monkeypatch, StoppedFetching
    )
    try:
        read = read_to_end(part)
    finally:
        part.close()

    assert stopped.seeks >= 1  # the broker said records were waiting: fetching was restarted
    assert read == [b"receipt", b"move"]


def test_an_empty_merged_replay_whose_consumer_stopped_fetching_ends_on_the_brokers_word(
    kafka_bootstrap: str, topic_factory: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receipts = topic_factory("receipts")
    part, stopped = _merged_replay(kafka_bootstrap, [receipts], monkeypatch, StoppedFetching)
    try:
        assert read_to_end(part) == []
    finally:
        part.close()

    assert stopped.seeks == 0  # nothing to fetch: the broker's offsets alone ended it
