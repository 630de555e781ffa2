"""A resume offset the partition no longer holds (retention deleted the records while the job was
down, or the topic was made again) restarts at the first record still there, on a real broker:
librdkafka's default, the partition's end, would skip every record there unread."""

from __future__ import annotations

from collections.abc import Callable

from connectors.kafka.merged_source import MergedKafkaSource
from connectors.kafka.source import KafkaEventSource
from tests.integration.test_merged_source import T0, drain, produce


def test_the_merged_stream_resumed_past_a_partitions_end_reads_what_is_there(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    receipts = topic_factory("receipts")
    produce(kafka_bootstrap, [(receipts, T0, b"a receipt"), (receipts, T0 + 1, b"another")])
    source = MergedKafkaSource([kafka_bootstrap], [receipts], tail=False)
    part = source.build_part("test", "merged", {(receipts, 0): 1_000})  # a topic made again
    try:
        assert drain(part, 20, until=2) == [b"a receipt", b"another"]
    finally:
        part.close()


def test_the_sequenced_log_resumed_past_a_partitions_end_reads_what_is_there(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    log = topic_factory("sequenced")
    produce(kafka_bootstrap, [(log, T0, b"sequenced 1"), (log, T0 + 1, b"sequenced 2")])
    part = KafkaEventSource([kafka_bootstrap], [log], tail=False).build_part(
        "test", f"0-{log}", 1_000
    )
    try:
        assert drain(part, 20, until=2) == [b"sequenced 1", b"sequenced 2"]
    finally:
        part.close()
