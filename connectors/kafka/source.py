"""Kafka as the flow's source: every partition of some topics, each message a `RawEvent`.

Offsets live in Bytewax's recovery state (no consumer group), so a resumed run re-reads exactly
from its last snapshot. `received_at` is the message's Kafka timestamp, not the wall clock, so a
replay of the same topic produces the same dead letters.

A broker that is away is not bad input: the client's transient errors (`_TRANSPORT`,
`_ALL_BROKERS_DOWN`, timeouts, a partition without a leader for a moment) are logged and skipped,
never dead-lettered, while librdkafka reconnects and the partition goes on from its offset.
Other consumer errors become dead letters with their reason.

The partitions are Bytewax's `KafkaSource`'s (same names, same resume state: the next offset),
read with confluent-kafka directly: each message becomes a `RawEvent` without an intermediate
`KafkaSourceMessage`, a fetch takes what librdkafka has prefetched and never blocks the worker
(`IDLE_POLL`), and the consumer learns its partition's leader before it is assigned
(`warm_up`). The broker holds a fetch that finds nothing until a record arrives or a time runs
out: 20 ms when the source ends at the topics' ends (`tail=False`: the end of a replay is known
sooner than librdkafka's 500 ms would tell it), librdkafka's 500 ms when it tails them. A record
arriving ends the hold at once either way; a tailing source's 20 ms holds only made the consumer
ask again 50 times a second per partition while nothing came (`TAIL_FETCH_WAIT_MAX_MS`).

A source that ends at the topics' ends does not rely on librdkafka's end-of-partition event
alone: a fetch that finds nothing also compares the partition's next offset with the end the
broker reported in its last fetch response (`at_reported_end`), the same news one event sooner.
The event can go missing: in CI a broker restarted early in a replay's fold left
`skuflow run --until-end` idle for good, its sources polling and nothing coming (most likely the
consumers' prefetched records and end event were dropped when the leader came back, and
librdkafka does not report an end twice; not reproduced in 9 runs since). A partition that finds
nothing for `STALL_LOG_SECONDS` short of its end says so, with its offset and the end, every
`STALL_LOG_SECONDS`.

A partition's consumer can also stop fetching altogether after a broker restart: in CI (session
23) a log partition stayed at its first offset for 4 minutes after the broker came back, no
fetch answered, so the end cached above stayed unknown and the replay never ended. So a partition
silent for `STALL_ASK_SECONDS` (a replay) or `STALL_LOG_SECONDS` (tailing) asks the broker itself
for its offsets (one request, at most `BROKER_ASK_SECONDS`): a replay at that end ends, and a
partition short of records the broker holds has its fetch restarted at its offset (`seek`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bytewax.connectors.kafka import KafkaSource
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Message as ClientMessage

from connectors.kafka.delivery import log_kafka_error
from state.intake import RawEvent

log = logging.getLogger(__name__)

# Client-side states that pass: the broker is unreachable, restarting or electing a leader.
TRANSIENT_CODES = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._RESOLVE,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.BROKER_NOT_AVAILABLE,
    }
)
# A fetch never blocks: one that finds nothing prefetched asks Bytewax to call again this much
# later (`next_awake`), so the worker runs the flow's other steps meanwhile. A blocking wait here
# stalled the whole worker (the sequencer, the fold, the sinks) 10 ms per empty partition and
# fetch: 46% of the allocation bench's wall time, and most of an order's round trip (issue 9).
IDLE_POLL = timedelta(milliseconds=2)
FETCH_WAIT_MAX_MS = 20  # how long the broker holds a fetch it has no data for (the end's news)
# A tailing source needs no news of the end. The four log partitions' 20 ms holds cost the broker
# 0.34 of a core at 100 events/s against 0.13 with 500 ms, and 0.10 against 0.05 at 1 event/s,
# freshness unchanged (`bench freshness`, one run each at 1, 100, 1,000 and 5,000/s, issue 9).
TAIL_FETCH_WAIT_MAX_MS = 500
STALL_LOG_SECONDS = 30.0  # a partition short of its end and silent this long is logged
STALL_ASK_SECONDS = 5.0  # a replay's partition silent this long asks the broker for its end
BROKER_ASK_SECONDS = 0.5  # the longest that request holds the worker (the broker may be away)


def at_reported_end(next_offset: int, low: int, high: int) -> bool:
    """Whether a partition whose next offset is `next_offset` (negative: nothing read yet, so
    its first record, `low`) has reached `high`, the end the broker last reported; a negative
    `low` or `high` is librdkafka's "not known yet"."""
    position = next_offset if next_offset >= 0 else low
    return position >= 0 and 0 <= high <= position


def ask_broker(
    consumer: Consumer,
    partition: TopicPartition,
    next_offset: int,
    silent_for: float,
    positions: Callable[[int], list[TopicPartition]],
) -> bool | None:
    """Ask the broker itself (not the last fetch response) for `partition`'s offsets, for a
    partition that has fetched nothing for `silent_for` seconds (module doc): True if
    `next_offset` (negative: nothing read yet) is at its end; False if not, and then a fetch
    short of records the broker holds is restarted at its position (`seek`, logged; should the
    consumer refuse, it is assigned `positions(position)` afresh); None if the broker did not
    answer within `BROKER_ASK_SECONDS` (librdkafka reconnects, and the caller asks again later)."""
    try:
        low, high = consumer.get_watermark_offsets(
            partition, timeout=BROKER_ASK_SECONDS, cached=False
        )
    except KafkaException:
        return None
    if at_reported_end(next_offset, low, high):
        return True
    position = next_offset if next_offset >= 0 else low
    if 0 <= position < high:
        log.warning(
            "Kafka consumer: %s/%s fetched nothing for %.0f s at offset %s though the broker "
            "holds records up to %s; restarting its fetch there.",
            partition.topic, partition.partition, silent_for, position, high,
        )  # fmt: skip
        try:
            consumer.seek(TopicPartition(partition.topic, partition.partition, position))
        except KafkaException:
            consumer.assign(positions(position))
    return False


def is_transient(error: KafkaError) -> bool:
    """A client error that librdkafka recovers from by itself (see the module docstring)."""
    return error.code() in TRANSIENT_CODES or bool(error.retriable())


def error_raw(error: KafkaError, origin: str, timestamp: tuple[int, int] | None) -> RawEvent:
    """A consumer error as input: the flow dead-letters it (it does not decode as an event)."""
    return RawEvent(f"kafka consumer error: {error}".encode(), origin, kafka_time(timestamp))


def warm_up(consumer: Consumer, topic: str | None = None) -> None:
    """Ask for the topics' metadata before assigning partitions: assigned cold, a consumer's
    first fetch came ~0.5 s later (measured on a 20,000-event replay, issue 9). Only a
    head start: a broker that does not answer now is waited for by the fetches themselves."""
    try:
        consumer.list_topics(topic, timeout=10)
    except KafkaException as exc:
        log.warning("Kafka did not answer a metadata request (%s); fetching goes on", exc)


def kafka_time(timestamp: tuple[int, int] | None) -> datetime:
    """A message's (type, epoch ms) timestamp as an aware datetime (the epoch when it has none)."""
    if timestamp is not None and timestamp[1] > 0:
        return datetime.fromtimestamp(timestamp[1] / 1000, UTC)
    return datetime.fromtimestamp(0, UTC)


class _RawPartition(StatefulSourcePartition[RawEvent, int | None]):
    """One partition of one topic; its resume state is the offset of the next message to read."""

    def __init__(
        self,
        config: dict[str, object],
        topic: str,
        partition: int,
        resume_state: int | None,
        *,
        tail: bool,
        batch_size: int,
    ) -> None:
        self._consumer = Consumer({**config, "enable.partition.eof": not tail})
        warm_up(self._consumer, topic)
        self._offset = OFFSET_BEGINNING if resume_state is None else resume_state
        self._consumer.assign([TopicPartition(topic, partition, self._offset)])
        self._where = f"{topic}/{partition}"
        self._batch_size = batch_size
        self._partition = TopicPartition(topic, partition)
        self._tail = tail
        self._at_end = False
        self._awake: datetime | None = None
        self._silent_since: float | None = None
        self._stall_logged = 0.0
        self._broker_asked = 0.0

    def next_batch(self) -> list[RawEvent]:
        if self._at_end:
            raise StopIteration
        messages = self._consumer.consume(self._batch_size, 0)
        self._awake = None if messages else datetime.now(UTC) + IDLE_POLL
        if not messages:
            self._when_silent()
            return []
        self._silent_since = None
        batch: list[RawEvent] = []
        for message in messages:
            if message.error() is not None:
                if self._on_error(message, batch):
                    break
                continue
            offset = message.offset()
            raw_key = message.key()
            key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else None
            origin = f"{self._where}/{offset}"
            batch.append(
                RawEvent(message.value() or b"", origin, kafka_time(message.timestamp()), key)
            )
            if offset is not None:
                self._offset = offset + 1
        return batch

    def _when_silent(self) -> None:
        """Nothing prefetched. A replay is at its end if the broker's last fetch response said
        so; a partition silent for long asks the broker itself (module doc); a replay short of
        its end says so once in a while."""
        now = time.monotonic()
        if self._silent_since is None:
            self._silent_since = self._stall_logged = self._broker_asked = now
        high = -1
        if not self._tail:
            try:
                low, high = self._consumer.get_watermark_offsets(self._partition, cached=True)
            except KafkaException:
                low = high = -1
            if at_reported_end(self._offset, low, high):
                self._at_end = True
                return
        ask_after = STALL_LOG_SECONDS if self._tail else STALL_ASK_SECONDS
        if now - self._broker_asked >= ask_after:
            self._broker_asked = now
            self._ask_broker(now - self._silent_since)
            if self._at_end:
                return
        if not self._tail and now - self._stall_logged >= STALL_LOG_SECONDS:
            self._stall_logged = now
            log.warning(
                "Kafka consumer: %s has had nothing for %.0f s at offset %s (the broker's last "
                "reported end %s); still waiting for Kafka, librdkafka reconnects.",
                self._where, now - self._silent_since, self._offset, high,
            )  # fmt: skip

    def _ask_broker(self, silent_for: float) -> None:
        """`ask_broker` for this partition: a replay at its end ends."""
        topic, index = self._partition.topic, self._partition.partition
        at_end = ask_broker(
            self._consumer,
            self._partition,
            self._offset,
            silent_for,
            lambda position: [TopicPartition(topic, index, position)],
        )
        if at_end and not self._tail:
            self._at_end = True

    def _on_error(self, message: ClientMessage, batch: list[RawEvent]) -> bool:
        """Handle a consumer error; True at the partition's end (`tail=False`: the flow ends)."""
        error = message.error()
        assert error is not None
        if error.code() == KafkaError._PARTITION_EOF:
            self._at_end = True  # the batch so far still goes out; the next call ends
            return True
        if is_transient(error):
            log.warning("Kafka consumer: %s; librdkafka reconnects.", error)
            return False
        origin = f"{self._where}/{message.offset()}"
        batch.append(error_raw(error, origin, message.timestamp()))
        return False

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> int | None:
        return self._offset

    def close(self) -> None:
        self._consumer.close()


class KafkaEventSource(FixedPartitionedSource[RawEvent, int | None]):
    """Every partition of `topics`, from the beginning (or from the recovery snapshot).

    `tail=False` ends the flow when every partition is read to its end (replays and tests).
    """

    def __init__(
        self, brokers: list[str], topics: list[str], *, tail: bool = True, batch_size: int = 1000
    ) -> None:
        self._brokers = brokers
        self._topics = topics
        self._tail = tail
        self._batch_size = batch_size
        self._config: dict[str, object] = {
            "bootstrap.servers": ",".join(brokers),
            "group.id": "BYTEWAX_IGNORED",  # unused: offsets live in Bytewax's recovery state
            "enable.auto.commit": False,
            "fetch.wait.max.ms": TAIL_FETCH_WAIT_MAX_MS if tail else FETCH_WAIT_MAX_MS,
            # An offset out of range (retention, a topic made again) restarts at the first record
            # still there, not at the end (librdkafka's default), which would skip them all.
            "auto.offset.reset": "earliest",
            "error_cb": log_kafka_error,  # broker away: logged, librdkafka reconnects
        }

    def list_parts(self) -> list[str]:
        # Bytewax's own part names ("{partition}-{topic}"): recovery directories keep working.
        config: dict[str, Any] = {"error_cb": log_kafka_error}
        return KafkaSource(self._brokers, self._topics, add_config=config).list_parts()

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _RawPartition:
        index, topic = for_part.split("-", 1)
        if topic not in self._topics:
            msg = (
                f"the recovery state names topic {topic!r}, not one of {self._topics}: "
                "start a new recovery directory"
            )
            raise ValueError(msg)
        return _RawPartition(
            self._config,
            topic,
            int(index),
            resume_state,
            tail=self._tail,
            batch_size=self._batch_size,
        )
