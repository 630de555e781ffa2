"""The sequenced log's sink: each batch produced while earlier ones are acknowledged.

Once an event is in the log its place in its SKU's sequence is fixed, so the sequencer must never
acknowledge (snapshot the stream topics' offsets past) an event the log does not hold. Waiting
for Kafka's acknowledgement after every batch (a flush) kept that, at ~40 ms a batch: a third of
the sequencer's time, spent idle. Under a `DurableSink` (`dataflows.durable.ConfirmedPerEpoch`)
this sink instead:

- `send`s each batch, then waits only while more than `IN_FLIGHT_BATCHES` before it are
  unacknowledged: Kafka's round trip overlaps the flow's work, and the sequencer is never more
  than that many batches ahead of the broker (so a broker that is away stops it soon);
- at the epoch's end, carries what Kafka has not acknowledged yet in the epoch's snapshot
  (`dataflows.durable.CarriedPerEpoch`) rather than wait for it: a flow resumed from that
  snapshot produces those messages again before anything else, so the log still holds every
  event the resume point has passed, in the order sequenced (an event delivered before the
  crash is in the log twice: its second copy folds as a `Duplicate`, as any event the
  resumed sequencer sends again does). The flush this replaced held the whole worker at every
  epoch's end for 2-50 ms, more when the broker was slow.

A message Kafka refuses stops the flow at the next batch or snapshot (see `delivery`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from connectors.kafka.delivery import DeliveredKafkaSink, DeliveredPartition, Outgoing

log = logging.getLogger(__name__)

# Batches produced and not yet acknowledged, beyond the one just sent, before the worker waits.
# It was 1: every batch then waited for the one before it, and a broker slow to acknowledge (a
# loaded machine: 30-350 ms, a few times a second) held the whole worker, fold and view writes
# included, while the fold could have gone on with what the log already held. At 16 the worker
# waits only for a broker that stays behind; freshness at 1,000 events/s, one run each at load
# 5-6: the worker's waits 1.74 → 0.53 s in 10 s, p99 226 → 161 ms (issue 9).
IN_FLIGHT_BATCHES = 16
LINGER_MS = "0"  # librdkafka's wait for more messages before it sends a request (see below)
REPORT_SECONDS = 10.0  # how often the DEBUG log sums up the waits for Kafka's acknowledgements


class _LogPartition(StatelessSinkPartition[Outgoing]):
    carries = True  # read by `dataflows.durable` (`CarriedPerEpoch`)

    def __init__(self, inner: DeliveredPartition) -> None:
        self._inner = inner
        self._waits = AckWaits()

    def write_batch(self, items: Sequence[Outgoing]) -> None:
        self._inner.write_batch(items)

    def send(self, items: Sequence[Outgoing]) -> None:
        self._inner.produce(items)
        began = time.monotonic()
        self._inner.await_batches(IN_FLIGHT_BATCHES)
        self._waits.add(len(items), time.monotonic() - began)

    def confirm(self) -> None:
        self._inner.confirm_delivered()

    def carry(self) -> list[Outgoing]:
        return self._inner.unacknowledged()

    def resend(self, items: Sequence[Outgoing]) -> None:
        self._inner.produce(items)

    def close(self) -> None:
        self._inner.close()


class SequencedLogSink(DynamicSink[Outgoing]):
    """The sequenced log, idempotently produced; see the module docstring for when it waits."""

    def __init__(self, brokers: list[str], topic: str) -> None:
        # Idempotent producer: a retried send never puts an event in the log twice; a broker
        # away is waited for and logged, a message Kafka refuses stops the flow. No linger: a
        # batch is already whole when it is produced (it is the sequencer's batch), and every
        # millisecond it lingered the fold waited for it too, and so did the worker at the next
        # batch (`await_batches`): 2 ms of linger took the log's hop (produce to the fold's
        # fetch) from 3-4 ms to 6.5 ms at 1,000 events/s and tripled the worker's time blocked
        # there (issue 9). Under load librdkafka still packs what queues up while earlier
        # requests are in flight.
        self._kafka = DeliveredKafkaSink(
            brokers, topic, add_config={"enable.idempotence": "true", "linger.ms": LINGER_MS}
        )

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _LogPartition:
        return _LogPartition(self._kafka.build(step_id, worker_index, worker_count))


class AckWaits:
    """The worker's waits for the log's acknowledgements, summed up in a DEBUG line every
    `REPORT_SECONDS`: while the sequencer waits, nothing else on its worker runs (the fold, the
    view's writes), so a slow broker shows first as stale views. At DEBUG only; off, it costs
    one clock read a batch."""

    def __init__(self) -> None:
        self._reset(time.monotonic())

    def _reset(self, now: float) -> None:
        self._since = now
        self._batches = self._events = 0
        self._waited = self._longest = 0.0

    def add(self, events: int, waited: float) -> None:
        self._batches += 1
        self._events += events
        self._waited += waited
        self._longest = max(self._longest, waited)
        now = time.monotonic()
        if now - self._since < REPORT_SECONDS:
            return
        log.debug(
            "sequenced log: %d events in %d batches over %.0f s; waited %.0f ms for Kafka's "
            "acknowledgements (longest %.0f ms)",
            self._events, self._batches, now - self._since, self._waited * 1000,
            self._longest * 1000,
        )  # fmt: skip
        self._reset(now)
