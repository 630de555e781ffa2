"""How an API write reaches the dataflow: published as events, never applied here.

The dataflow is the single writer of stock, so the API's writes (floor events, orders,
cancellations) become inputs to it. `EventPublisher.publish` returns only once the events are
durable where the dataflow reads them, and raises otherwise: the API answers 202/201 only for
events it has handed on, and 503 when it could not.

- `QueuePublisher`: the embedded mode's in-process queue (`connectors.inprocess.QueueSource`).
- `KafkaPublisher`: the registry's `commands` topic (`connectors.kafka.topics`), flushed before
  `publish` returns, so every event is acknowledged by the brokers (acks=all) before the API
  answers.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from typing import Protocol

from connectors.inprocess import QueueSource, raw_event
from connectors.kafka.producer import EventProducer
from state.events import Event

API_ORIGIN = "api"
COMMANDS = "commands"


class PublishError(RuntimeError):
    """The events could not be handed to the dataflow; the client may retry (ids make it safe)."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Event]) -> None: ...


class QueuePublisher:
    """Puts events on the embedded flow's queue; waits at most `timeout` seconds for room."""

    def __init__(self, source: QueueSource, timeout: float = 5.0) -> None:
        self._source = source
        self._timeout = timeout

    def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            # The origin names the record (dead letters are unique on origin and verdict).
            raw = raw_event(event, f"{API_ORIGIN}/{event.event_id}")
            try:
                self._source.queue.put(raw, timeout=self._timeout)
            except queue.Full as exc:
                msg = f"the dataflow's queue stayed full for {self._timeout}s"
                raise PublishError(msg) from exc


class KafkaPublisher:
    """Sends to the `commands` topic of the producer's registry, then flushes (durable)."""

    def __init__(self, producer: EventProducer, flush_timeout: float = 10.0) -> None:
        self._producer = producer
        self._topic = producer.topics.name(COMMANDS)
        self._timeout = flush_timeout

    def publish(self, events: Sequence[Event]) -> None:
        try:
            for event in events:
                self._producer.send(event, topic=self._topic)
            self._producer.flush(self._timeout)
        except Exception as exc:  # KafkaException, BufferError: nothing is known to be durable
            msg = f"Kafka did not acknowledge the events within {self._timeout}s: {exc}"
            raise PublishError(msg) from exc
