"""Writing to Kafka from the dataflow: wait out a broker that is away, never lose a message quietly.

Bytewax's `KafkaSink` produces without a delivery callback, so a message Kafka finally refuses
(its `message.timeout.ms` ran out, the topic is gone) vanishes without a word. `DeliveredKafkaSink`
is the same sink with the delivery report checked: each batch is produced, then flushed (stock
changes, decisions and the sequenced log under a `DurableSink`: once an epoch, see `produce`),
and a batch with an undelivered message raises, which stops the flow; Bytewax recovery then
resumes from the last snapshot and writes the batch again (the idempotent producer and the keyed,
absolute messages make that harmless).

A broker that is down or restarting is not an error here: librdkafka keeps retrying, and the
flush waits for it (up to `message.timeout.ms`, 5 minutes by default), logging a warning every
`WAIT_LOG_SECONDS` with how many messages are still waiting. The client's own reports
(`_TRANSPORT`, `_ALL_BROKERS_DOWN`: transient, retried by librdkafka) go to the log through
`log_kafka_error`, for the consumers too.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaError, KafkaException, Message, Producer

log = logging.getLogger(__name__)

WAIT_LOG_SECONDS = 5.0
Outgoing = KafkaSinkMessage[bytes | None, bytes | None]


def log_kafka_error(error: KafkaError) -> None:
    """librdkafka's `error_cb`: a fatal error is logged as one, the rest as the retries they are."""
    if error.fatal():
        log.error("Kafka client error (fatal): %s", error)
    else:
        log.warning("Kafka client error (librdkafka retries): %s", error)


class _InFlight:
    """A batch produced: its messages, and how many of them Kafka has not acknowledged yet."""

    __slots__ = ("count", "items")

    def __init__(self, items: Sequence[Outgoing]) -> None:
        self.items = items
        self.count = len(items)


class DeliveredPartition(StatelessSinkPartition[Outgoing]):
    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._failures: list[str] = []
        # Per batch produced and not yet known to be fully acknowledged: how many of its
        # messages wait (batches wholly acknowledged are dropped from the left).
        self._batches: deque[_InFlight] = deque()
        # How many of those batches still wait for a message: kept by the delivery reports
        # (served on this thread, by `poll` and `flush`), so a batch asks no scan of them all.
        self._open = 0

    def write_batch(self, items: Sequence[Outgoing]) -> None:
        """Produce `items` and wait until Kafka has acknowledged every one of them."""
        self.produce(items)
        self.confirm_delivered()

    def produce(self, items: Sequence[Outgoing]) -> None:
        """Produce `items` without waiting for their acknowledgement (`confirm_delivered` waits).

        The stock-changes and decisions partitions, under a `DurableSink`, produce each batch
        and confirm once an epoch, in its snapshot (`dataflows.durable.ConfirmedPerEpoch`): the
        wait for Kafka's acks then overlaps the flow's work instead of following every batch. A
        refusal already reported still stops the flow here, at the next batch.

        The sequenced log (`connectors.kafka.sequenced_log`) also waits, at each batch, for
        the batch before it (`await_batches`): it may not run further ahead of the broker."""
        if not items:
            self._raise_on_refusals()
            return
        waiting = _InFlight(items)
        self._batches.append(waiting)
        self._open += 1
        failures = self._failures

        def delivered(error: KafkaError | None, _message: Message) -> None:
            waiting.count -= 1
            if waiting.count == 0:
                self._open -= 1
            if error is not None:
                failures.append(str(error))

        produce, topic = self._producer.produce, self._topic
        for item in items:
            while True:
                try:
                    if item.headers:
                        produce(
                            item.topic or topic,
                            value=item.value,
                            key=item.key,
                            headers=list(item.headers),
                            timestamp=item.timestamp,
                            on_delivery=delivered,
                        )
                    else:  # the usual message: no headers list to build and convert
                        produce(
                            item.topic or topic,
                            value=item.value,
                            key=item.key,
                            timestamp=item.timestamp,
                            on_delivery=delivered,
                        )
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    self._producer.poll(0.1)
        self._producer.poll(0)  # once a batch: serving reports per message cost ~15 µs each
        self._unacknowledged()  # batches wholly acknowledged let go now, not at the epoch's end
        self._raise_on_refusals()

    def await_batches(self, in_flight: int) -> None:
        """Wait until at most `in_flight` of the batches produced are still unacknowledged;
        raise if Kafka refused a message. Waiting for the previous batch while the
        current one travels overlaps Kafka's round trip with the flow's work, and still keeps
        the producer no more than `in_flight` batches ahead of what the broker has."""
        began = last_log = time.monotonic()
        while self._unacknowledged() > in_flight:
            self._producer.poll(0.05)
            now = time.monotonic()
            if now - last_log >= WAIT_LOG_SECONDS:
                last_log = now
                log.warning(
                    "%d batches to %s still waiting for Kafka after %.0f s; librdkafka retries.",
                    self._unacknowledged() - in_flight, self._topic, now - began,
                )  # fmt: skip
        self._raise_on_refusals()

    def _unacknowledged(self) -> int:
        batches = self._batches
        while batches and batches[0].count <= 0:
            batches.popleft()
        return self._open

    def unacknowledged(self) -> list[Outgoing]:
        """Without waiting: the messages of every batch Kafka has not wholly acknowledged yet
        (a batch partly acknowledged whole: sent again, its messages are duplicates that the
        idempotent, keyed consumers absorb); raises if Kafka refused a message."""
        self._producer.poll(0)
        self._raise_on_refusals()
        self._unacknowledged()
        return [item for waiting in self._batches if waiting.count > 0 for item in waiting.items]

    def confirm_delivered(self) -> None:
        """Wait until every message produced so far is delivered; raise if Kafka refused any."""
        waiting = self._producer.flush(WAIT_LOG_SECONDS)
        while waiting:
            log.warning(
                "%d messages to %s still waiting for Kafka after %.0f s; librdkafka retries.",
                waiting,
                self._topic,
                WAIT_LOG_SECONDS,
            )
            waiting = self._producer.flush(WAIT_LOG_SECONDS)
        self._batches.clear()
        self._open = 0
        self._raise_on_refusals()

    def _raise_on_refusals(self) -> None:
        if self._failures:
            failed = list(self._failures)
            self._failures.clear()  # the same list: delivery callbacks of batches in flight hold it
            msg = (
                f"Kafka refused {len(failed)} messages to {self._topic} ({'; '.join(failed[:3])}); "
                "the flow stops here and resumes from its last snapshot when started again. "
                "Check that the broker is up and the topic exists."
            )
            raise KafkaException(msg)

    def close(self) -> None:
        self.confirm_delivered()


class DeliveredKafkaSink(DynamicSink[Outgoing]):
    """Bytewax's `KafkaSink` with delivery reports checked; see the module docstring."""

    def __init__(
        self, brokers: list[str], topic: str, add_config: dict[str, str] | None = None
    ) -> None:
        self._brokers = brokers
        self._topic = topic
        self._config = add_config or {}

    def build(self, step_id: str, worker_index: int, worker_count: int) -> DeliveredPartition:
        producer = Producer(
            {
                "bootstrap.servers": ",".join(self._brokers),
                "error_cb": log_kafka_error,
                **self._config,
            }
        )
        return DeliveredPartition(producer, self._topic)
