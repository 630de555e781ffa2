"""Publish events to their topics (the registry decides where), idempotently and durably."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaException, Producer

from connectors.kafka.delivery import log_kafka_error
from connectors.kafka.topics import Topics, encode, key_of
from state.events import Event


class EventProducer:
    """`send` queues, `flush` waits until every queued event is acknowledged by the broker."""

    def __init__(self, brokers: str, topics: Topics | None = None, **config: str) -> None:
        self.topics = topics or Topics()
        self._producer = Producer(
            {
                "bootstrap.servers": brokers,
                "enable.idempotence": True,  # a retried send is never written twice
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "error_cb": log_kafka_error,  # a broker away is retried: logged, not raised
                **config,
            }
        )
        self._failures: list[str] = []

    def warm_up(self, timeout: float = 10.0) -> None:
        """Learn every topic's partitions and leaders now, not at the first send.

        A cold idempotent producer's first message took ~500 ms to be acknowledged (measured on
        loopback, issue 9), the next ones under 1 ms: a client answering its first request, or a
        benchmark whose clock starts at once, calls this first. Raises if Kafka does not answer:
        check SKUFLOW_KAFKA_BROKERS and that the broker is up (`skuflow services status`)."""
        self._producer.list_topics(timeout=timeout)

    def _delivered(self, err: object, msg: object) -> None:
        if err is not None:
            self._failures.append(str(err))

    def send(self, event: Event, topic: str | None = None) -> None:
        target = topic or self.topics.for_event(event)
        while True:
            try:
                self._producer.produce(
                    target,
                    key=key_of(event),
                    value=encode(event),
                    # The message's timestamp is the event's time: the sequencer merges the
                    # stream topics in this order (connectors/kafka/merged_source.py).
                    timestamp=int(event.occurred_at.timestamp() * 1000),
                    on_delivery=self._delivered,
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.1)
        self._producer.poll(0)

    def send_all(self, events: Iterable[Event]) -> int:
        sent = 0
        for event in events:
            self.send(event)
            sent += 1
        return sent

    def flush(self, timeout: float = 60.0) -> None:
        left = self._producer.flush(timeout)
        failed, self._failures = self._failures, []  # a failure is reported once, by this flush
        if left or failed:
            failures = "; ".join(failed[:5])
            msg = f"{left} events not acknowledged by Kafka after {timeout}s. {failures}"
            raise KafkaException(msg)
