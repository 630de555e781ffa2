"""In-process sources: events handed over in memory, for the embedded mode and for tests.

- `events_source(events)`: a finite list (or iterable) of events, serialised to JSON so they go
  through the same decoding as bytes from Kafka; Bytewax's `TestingSource` underneath.
- `QueueSource`: a live queue that the API (or a simulator) feeds while the flow runs; the flow
  ends when `close()` is called and the queue has drained.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable
from datetime import UTC, datetime

from bytewax.inputs import DynamicSource, StatelessSourcePartition
from bytewax.testing import TestingSource

from state.events import Event
from state.intake import RawEvent

_CLOSED = object()


def raw_event(event: Event, origin: str) -> RawEvent:
    """An event as a producer would send it: its JSON bytes, received at its own event time."""
    return RawEvent(event.model_dump_json().encode(), origin, event.occurred_at)


def events_source(
    events: Iterable[Event | bytes], origin: str = "inline"
) -> TestingSource[RawEvent]:
    """A finite source, read lazily (a year's replay never sits in memory at once); bytes are
    passed through as they are (to test bad input). Read it once: it is not resumable."""
    raws = (
        RawEvent(item, f"{origin}/{n}", datetime.now(UTC))
        if isinstance(item, bytes)
        else raw_event(item, f"{origin}/{n}")
        for n, item in enumerate(events)
    )
    return TestingSource(raws)


class _QueuePartition(StatelessSourcePartition[RawEvent]):
    def __init__(self, source: QueueSource) -> None:
        self._source = source

    def next_batch(self) -> list[RawEvent]:
        batch: list[RawEvent] = []
        try:
            item = self._source.queue.get(timeout=0.05)
        except queue.Empty:
            return batch
        while True:
            if item is _CLOSED:
                self._source.queue.put(_CLOSED)  # let every worker see it
                if batch:
                    return batch
                raise StopIteration
            batch.append(item)  # type: ignore[arg-type]
            if len(batch) >= self._source.batch_size:
                return batch
            try:
                item = self._source.queue.get_nowait()
            except queue.Empty:
                return batch


class QueueSource(DynamicSource[RawEvent]):
    """A queue the flow drains; `put` from any thread, `close` to end the flow."""

    def __init__(self, maxsize: int = 100_000, batch_size: int = 1000) -> None:
        self.queue: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self.batch_size = batch_size
        self._sequence = 0

    def put(self, event: Event, origin: str = "inprocess") -> None:
        self._sequence += 1
        self.queue.put(raw_event(event, f"{origin}/{self._sequence}"))

    def put_raw(self, raw: RawEvent) -> None:
        self.queue.put(raw)

    def close(self) -> None:
        self.queue.put(_CLOSED)

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _QueuePartition:
        return _QueuePartition(self)
