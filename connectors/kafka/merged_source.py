"""Every partition of the stream topics, merged into one stream in event-time order.

Events of one SKU reach skuflow on several topics (an order on `orders`, the receipt that makes it
possible on `receipts`), and a plain consumer interleaves partitions in whatever order its fetches
return. Like Kafka Streams (which picks, among its partitions' buffered heads, the record with the
smallest timestamp), this source releases records in (timestamp, topic, partition, offset) order:

- a record is released only when every partition either has a buffered record or is caught up
  (at its end), so a partition still fetching cannot be overtaken... unless it stays silent for
  `max_idle_ms`, when the merge goes on without it (live streams must not stall on one quiet
  producer); a record that arrives later is released late, and the core copes with any order;
- the producer sets each message's timestamp to the event's `occurred_at` (see `EventProducer`),
  so the merge is by event time, and for data already in Kafka the merged order does not depend
  on fetch timing at all: a replay, a redelivery or a resumed run sequence the same way.

Resume state: per partition, the offset of the first record not yet released.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass, field

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient

from connectors.kafka.source import kafka_time
from state.intake import RawEvent

Part = tuple[str, int]  # (topic, partition)
Offsets = dict[Part, int]


@dataclass
class _Buffered:
    records: deque[tuple[int, int, RawEvent]] = field(default_factory=deque)  # (ts, offset, raw)
    caught_up: bool = False


class _MergedPartition(StatefulSourcePartition[RawEvent, Offsets]):
    def __init__(
        self,
        config: dict[str, object],
        parts: list[Part],
        resume: Offsets | None,
        *,
        tail: bool,
        batch_size: int,
        max_idle_ms: int,
    ) -> None:
        self._consumer = Consumer({**config, "enable.partition.eof": True})
        starts = resume or {}
        self._consumer.assign(
            [TopicPartition(t, p, starts.get((t, p), OFFSET_BEGINNING)) for t, p in parts]
        )
        self._parts = {part: _Buffered() for part in parts}
        self._next: Offsets = dict(starts)
        self._tail = tail
        self._batch_size = batch_size
        self._max_idle = max_idle_ms / 1000
        self._blocked_since: float | None = None

    def _fetch(self) -> None:
        for msg in self._consumer.consume(self._batch_size, 0.01):
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if topic is None or partition is None:
                continue
            buffered = self._parts[(topic, partition)]
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    buffered.caught_up = True
                continue
            if offset is None:
                continue
            buffered.caught_up = False
            # Stream topics' keys only spread load: the intake finds each event's SKUs itself.
            origin = f"{topic}/{partition}/{offset}"
            raw = RawEvent(msg.value() or b"", origin, kafka_time(msg.timestamp()))
            buffered.records.append((msg.timestamp()[1], offset, raw))

    def next_batch(self) -> list[RawEvent]:
        self._fetch()
        batch: list[RawEvent] = []
        heads = [
            (b.records[0][0], part, b.records[0][1]) for part, b in self._parts.items() if b.records
        ]
        heapq.heapify(heads)
        while heads and len(batch) < self._batch_size:
            if not self._may_release():
                break
            _, part, _ = heapq.heappop(heads)
            buffered = self._parts[part]
            _, offset, raw = buffered.records.popleft()
            self._next[part] = offset + 1
            batch.append(raw)
            if buffered.records:
                heapq.heappush(heads, (buffered.records[0][0], part, buffered.records[0][1]))
        if not batch and not self._tail and self._drained():
            raise StopIteration
        return batch

    def _may_release(self) -> bool:
        """Every partition has a head or is caught up; else wait, at most `max_idle`."""
        waiting = any(not b.records and not b.caught_up for b in self._parts.values())
        if not waiting:
            self._blocked_since = None
            return True
        now = time.monotonic()
        if self._blocked_since is None:
            self._blocked_since = now
        return self._tail and now - self._blocked_since >= self._max_idle

    def _drained(self) -> bool:
        return all(b.caught_up and not b.records for b in self._parts.values())

    def snapshot(self) -> Offsets:
        return dict(self._next)

    def close(self) -> None:
        self._consumer.close()


class MergedKafkaSource(FixedPartitionedSource[RawEvent, Offsets]):
    """All partitions of `topics` as one Bytewax partition, in event-time order."""

    def __init__(
        self,
        brokers: list[str],
        topics: list[str],
        *,
        tail: bool = True,
        batch_size: int = 1000,
        max_idle_ms: int = 100,
    ) -> None:
        self._brokers = brokers
        self._topics = topics
        self._tail = tail
        self._batch_size = batch_size
        self._max_idle_ms = max_idle_ms

    def list_parts(self) -> list[str]:
        return ["merged"]

    def _partitions(self) -> list[Part]:
        admin = AdminClient({"bootstrap.servers": ",".join(self._brokers)})
        metadata = admin.list_topics(timeout=30).topics
        return [(t, p) for t in self._topics for p in sorted(metadata[t].partitions)]

    def build_part(
        self, step_id: str, for_part: str, resume_state: Offsets | None
    ) -> _MergedPartition:
        config: dict[str, object] = {
            "bootstrap.servers": ",".join(self._brokers),
            "group.id": "skuflow-sequencer",  # unused: offsets live in Bytewax's recovery state
            "enable.auto.commit": False,
        }
        return _MergedPartition(
            config,
            self._partitions(),
            resume_state,
            tail=self._tail,
            batch_size=self._batch_size,
            max_idle_ms=self._max_idle_ms,
        )
