"""The sequenced log's sink: each batch produced while the one before it is acknowledged.

Once an event is in the log its place in its SKU's sequence is fixed, so the sequencer must never
acknowledge (snapshot the stream topics' offsets past) an event the log does not hold. Waiting
for Kafka's acknowledgement after every batch (a flush) kept that, at ~40 ms a batch: a third of
the sequencer's time, spent idle. Under a `DurableSink` (`dataflows.durable.ConfirmedPerEpoch`)
this sink instead:

- `send`s each batch, then waits only until the batches *before* it are acknowledged: Kafka's
  round trip overlaps the decoding of the next batch, and the sequencer is never more than one
  batch ahead of the broker (so a tailing flow still folds the log as it grows, in step);
- `confirm`s everything in the epoch's snapshot, before the resume point can pass the epoch.

A message Kafka refuses stops the flow at the next batch or snapshot (see `delivery`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from connectors.kafka.delivery import DeliveredKafkaSink, DeliveredPartition, Outgoing

IN_FLIGHT_BATCHES = 1  # batches produced and not yet acknowledged, beyond the one just sent


class _LogPartition(StatelessSinkPartition[Outgoing]):
    def __init__(self, inner: DeliveredPartition) -> None:
        self._inner = inner

    def write_batch(self, items: Sequence[Outgoing]) -> None:
        self._inner.write_batch(items)

    def send(self, items: Sequence[Outgoing]) -> None:
        self._inner.produce(items)
        self._inner.await_batches(IN_FLIGHT_BATCHES)

    def confirm(self) -> None:
        self._inner.confirm_delivered()

    def close(self) -> None:
        self._inner.close()


class SequencedLogSink(DynamicSink[Outgoing]):
    """The sequenced log, idempotently produced; see the module docstring for when it waits."""

    def __init__(self, brokers: list[str], topic: str) -> None:
        # Idempotent producer: a retried send never puts an event in the log twice; a broker
        # away is waited for and logged, a message Kafka refuses stops the flow.
        self._kafka = DeliveredKafkaSink(
            brokers, topic, add_config={"enable.idempotence": "true", "linger.ms": "2"}
        )

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _LogPartition:
        return _LogPartition(self._kafka.build(step_id, worker_index, worker_count))
