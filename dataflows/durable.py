"""Outputs that hold back Bytewax's recovery frontier until they are written.

Bytewax resumes a flow from the last epoch whose *snapshots* were all written: the resume point
follows the snapshot stream, which carries stateful steps and stateful sinks, but not stateless
sinks (`DynamicSink`). A stateless sink's writes for an epoch can therefore still be pending
when that epoch's snapshots are committed; SIGKILL the process in that gap and the epoch's state
is recovered while its output is never written again. The SIGKILL test found exactly that: an
event folded into a SKU's state (so its redelivery folded as a `Duplicate`) whose ledger rows
were never written.

`durable(sink)` wraps any `DynamicSink` in a `FixedPartitionedSink`. A stateful sink snapshots at
the close of every epoch, after it has written that epoch's items, and the resume point cannot
pass an epoch until every snapshot of it is in: so everything an epoch emitted is written before
the flow can resume after it, and a resumed flow re-emits (idempotently) whatever came later.

Items are routed to partitions by a stable key (the SKU, the order, the Kafka message key), so
one SKU's views are written by one partition in the order they were emitted. `parts` is the
number of partitions (use the cluster's worker count; it must not change for a recovery
directory). Each partition holds one partition of the wrapped sink. Items travel to it in
lists, one per partition and upstream batch (`output`): Bytewax routes a partitioned sink's
items one by one, through a Python key and partition function each, about 1.3 µs an item and
some 4.5 items an event (ledger entries, log messages, views, changes); a batch's list costs
that once.

A partition's snapshot carries nothing but the epoch boundary itself, except under a
`CarriedPerEpoch` partition (the ledger), whose snapshot is the items it has not written yet:
written again, first, by a resumed partition, so the epoch's end need not wait for them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import partial
from itertools import chain
from typing import Any, Protocol, TypeVar, runtime_checkable

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.dataflow import Stream
from bytewax.outputs import DynamicSink, FixedPartitionedSink, Sink, StatefulSinkPartition

T = TypeVar("T")


def routing_key(item: object) -> str:
    """The key that keeps one SKU's (or one order's) outputs on one partition, in order."""
    if isinstance(item, KafkaSinkMessage):
        key = item.key
        return key.decode(errors="replace") if isinstance(key, bytes) else str(key or "")
    for attribute in ("sku", "order_id", "origin", "event_id"):
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return value
    return ""


@runtime_checkable
class ConfirmedPerEpoch(Protocol):
    """A partition whose writes can be confirmed later (Kafka: sent, then flushed).

    Under a `DurableSink` its batches are `send`-ed and `confirm`-ed once, in the epoch's
    snapshot: still before the resume point can pass the epoch, without a wait every batch."""

    def send(self, items: Any) -> None: ...

    def confirm(self) -> None: ...


@runtime_checkable
class CarriedPerEpoch(Protocol):
    """A `ConfirmedPerEpoch` partition that can hand over what it has not written yet.

    With `carries` true (its writes idempotent, its items picklable), the epoch's snapshot does
    not wait for its writes: the snapshot *is* the items still unwritten (`carry`), and a
    partition resumed from it `resend`s them before anything else (in the form `carry` gave
    them). Recovery may then pass an epoch whose writes are still under way, never one whose
    items are neither written nor in its snapshot."""

    carries: bool

    def carry(self) -> list[Any]: ...

    def resend(self, items: Any) -> None: ...


class _DurablePartition(StatefulSinkPartition[list[T], list[T] | None]):
    def __init__(self, inner: Any, carried: list[T] | None = None) -> None:
        self._inner = inner
        self._per_epoch = isinstance(inner, ConfirmedPerEpoch)
        self._carries = isinstance(inner, CarriedPerEpoch) and inner.carries is True
        if carried:  # what the last snapshot's epoch had not written yet: first, in order
            if isinstance(inner, CarriedPerEpoch):
                inner.resend(carried)
            else:  # carried by a partition that no longer carries: written as items
                self._write(carried)

    def write_batch(self, values: list[list[T]]) -> None:
        # One list per upstream batch (`output`): usually one, in the order they were emitted.
        self._write(values[0] if len(values) == 1 else list(chain.from_iterable(values)))

    def _write(self, items: list[T]) -> None:
        if self._per_epoch:
            self._inner.send(items)
        else:
            self._inner.write_batch(items)

    def snapshot(self) -> list[T] | None:
        """Nothing to resume from (the write itself is the progress); a `ConfirmedPerEpoch`
        partition's writes are confirmed here, so the epoch's writes are in before its
        snapshot is; a `CarriedPerEpoch` one's unwritten items are the snapshot."""
        if self._carries:
            return self._inner.carry() or None
        if self._per_epoch:
            self._inner.confirm()
        return None

    def close(self) -> None:
        self._inner.close()


class DurableSink(FixedPartitionedSink[list[T], list[T] | None]):
    """`inner`, written so that Bytewax recovery never resumes past an unwritten epoch.

    Its items are lists of `inner`'s items keyed by their partition's index (`output` makes
    them)."""

    def __init__(self, inner: DynamicSink[T], parts: int = 1) -> None:
        if parts < 1:
            raise ValueError(f"a durable sink needs at least one partition, not {parts}")
        self.inner = inner
        self.parts = parts

    def list_parts(self) -> list[str]:
        return [str(index) for index in range(self.parts)]

    def part_fn(self, item_key: str) -> int:
        return int(item_key)  # `output` keys each list by its partition's index

    def build_part(
        self, step_id: str, for_part: str, resume_state: list[T] | None
    ) -> _DurablePartition[T]:
        inner = self.inner.build(step_id, int(for_part), self.parts)
        return _DurablePartition(inner, resume_state)


def durable(sink: Sink[T], parts: int = 1) -> Sink[Any]:
    """`sink` wrapped as a `DurableSink` when it is a `DynamicSink` (stateful sinks already hold
    the frontier back: they are returned as they are)."""
    return DurableSink(sink, parts) if isinstance(sink, DynamicSink) else sink


def output(
    step_id: str,
    stream: Stream[T],
    sink: Sink[T],
    parts: int = 1,
    key: Callable[[T], str] = routing_key,
) -> None:
    """`op.output`, durably: a `DynamicSink` is written through a `DurableSink`, each batch's
    items grouped by partition (by `key`), in order."""
    wrapped = durable(sink, parts)
    if wrapped is sink:
        op.output(step_id, stream, sink)
        return
    grouped = op.flat_map_batch(f"{step_id}_key", stream, partial(by_partition, parts, key))
    # (partition index, [item, ...]): one list per partition the batch reaches
    op.output(step_id, grouped, wrapped)


def by_partition(parts: int, key: Callable[[T], str], batch: list[T]) -> list[tuple[str, list[T]]]:
    """A batch's items grouped by their partition (`crc32(key) % parts`), each group in the
    batch's order; one partition takes the batch as it is."""
    if not batch:
        return []
    if parts == 1:
        return [("0", batch)]
    groups: dict[int, list[T]] = {}
    for item in batch:
        groups.setdefault(zlib.crc32(key(item).encode()) % parts, []).append(item)
    return [(str(index), items) for index, items in groups.items()]
