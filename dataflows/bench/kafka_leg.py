"""The receipts' own trip through Kafka: from `produce()` until a consumer can fetch them.

Freshness runs from the producer's `produce()` until the effect is readable in Redis. Part of
that is Kafka's alone: the producer's batching, the broker's append, the fetch. No flow reading
the topic can see a receipt sooner, the ceiling's bare flow included.

`KafkaArrivals` measures that part with a consumer of the bench's own, independent of the flow
under test. It is assigned every partition of the topic at its end when it starts, so it reads
only what comes after. For each receipt it keeps the receipt's timestamp (the bench stamps each
one with its `produce()` wall time, in milliseconds) and its delay: the wall time the consumer
got it minus that timestamp. The milliseconds truncate, so a delay can read up to 1 ms long.

The consumer asks the broker to hold an empty fetch at most `FETCH_WAIT_MAX_MS`. A fetch
returns as soon as a record arrives, so this only bounds how late the consumer can hear of
records that arrive while nothing else does.
"""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, TopicPartition

FETCH_WAIT_MAX_MS = 5


class KafkaArrivals(threading.Thread):
    """Every record appended to `topic` from now on: (its timestamp s, its delay ms)."""

    def __init__(self, brokers: str, topic: str) -> None:
        super().__init__(daemon=True, name="kafka-arrivals")
        self._consumer = Consumer(
            {
                "bootstrap.servers": brokers,
                "group.id": "skuflow-bench-arrivals",  # unused: partitions are assigned
                "enable.auto.commit": False,
                "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
            }
        )
        ends: list[TopicPartition] = []  # the ends as of now: only what is produced afterwards
        for partition in self._consumer.list_topics(topic, timeout=30).topics[topic].partitions:
            _, end = self._consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30
            )
            ends.append(TopicPartition(topic, partition, end))
        self._consumer.assign(ends)
        self.arrivals: list[tuple[float, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                # `consume` waits out its timeout unless the batch fills; `poll` returns with
                # the first record: each record is timed when it comes.
                messages = self._consumer.consume(1000, 0)
                if not messages:
                    first = self._consumer.poll(0.05)
                    messages = [first] if first is not None else []
                now = time.time()
                for message in messages:
                    if message.error() is not None:
                        continue
                    stamped = message.timestamp()[1] / 1000
                    self.arrivals.append((stamped, (now - stamped) * 1000))
        finally:
            self._consumer.close()

    def delays_since(self, since: float) -> list[float]:
        """The delays (ms) of the records stamped at or after `since` (wall time, s)."""
        return [delay for stamped, delay in self.arrivals if stamped >= since]
