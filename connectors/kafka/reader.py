"""Read a topic from its beginning to its current end: the raw material of a recomputation."""

from __future__ import annotations

from collections.abc import Iterator
from time import monotonic

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from connectors.kafka.source import FETCH_WAIT_MAX_MS, kafka_time
from state.intake import RawEvent


def read_to_end(brokers: str, topic: str, timeout: float = 30.0) -> Iterator[RawEvent]:
    """Every message now in `topic`, partition by partition, each in offset order."""
    admin = AdminClient({"bootstrap.servers": brokers})
    partitions = admin.list_topics(topic, timeout=timeout).topics[topic].partitions
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": "skuflow-reader",  # unused: partitions are assigned, nothing committed
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,  # the end's news in 20 ms, not 500
        }
    )
    try:
        for partition in sorted(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
            offset = low
            deadline = monotonic() + timeout
            while offset < high:
                if monotonic() > deadline:
                    why = f"reading {topic}[{partition}] stalled at offset {offset} of {high}"
                    raise TimeoutError(why)
                # consume() returns only when its batch fills or its timeout passes: take what
                # is prefetched without waiting, else wait for the first message (poll).
                messages = consumer.consume(1000, 0)
                if not messages:
                    first = consumer.poll(0.2)
                    messages = [] if first is None else [first]
                for msg in messages:
                    where = msg.offset()
                    if msg.error() is not None or where is None:
                        continue  # end-of-partition markers
                    offset = where + 1
                    deadline = monotonic() + timeout  # progress: a stall is measured from here
                    raw_key = msg.key()
                    key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else None
                    origin = f"{topic}/{partition}/{where}"
                    yield RawEvent(msg.value() or b"", origin, kafka_time(msg.timestamp()), key)
                    if offset >= high:
                        break
    finally:
        consumer.close()
