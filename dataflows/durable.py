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
directory). Each partition holds one partition of the wrapped sink; the snapshot carries
nothing but the epoch boundary itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
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


class _DurablePartition(StatefulSinkPartition[T, None]):
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._per_epoch = isinstance(inner, ConfirmedPerEpoch)

    def write_batch(self, values: list[T]) -> None:
        if self._per_epoch:
            self._inner.send(values)
        else:
            self._inner.write_batch(values)

    def snapshot(self) -> None:
        """Nothing to resume from (the write itself is the progress); a `ConfirmedPerEpoch`
        partition's writes are confirmed here, so the epoch's writes are in before its
        snapshot is."""
        if self._per_epoch:
            self._inner.confirm()

    def close(self) -> None:
        self._inner.close()


class DurableSink(FixedPartitionedSink[T, None]):
    """`inner`, written so that Bytewax recovery never resumes past an unwritten epoch."""

    def __init__(self, inner: DynamicSink[T], parts: int = 1) -> None:
        if parts < 1:
            raise ValueError(f"a durable sink needs at least one partition, not {parts}")
        self.inner = inner
        self.parts = parts

    def list_parts(self) -> list[str]:
        return [str(index) for index in range(self.parts)]

    def part_fn(self, item_key: str) -> int:
        return zlib.crc32(item_key.encode())

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _DurablePartition[T]:
        return _DurablePartition(self.inner.build(step_id, int(for_part), self.parts))


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
    """`op.output`, durably: a `DynamicSink` is keyed and written through a `DurableSink`."""
    wrapped = durable(sink, parts)
    if wrapped is sink:
        op.output(step_id, stream, sink)
        return
    # One partition routes nothing: skip the per-item key (this runs for every ledger entry).
    keyed = op.key_on(f"{step_id}_key", stream, key if parts > 1 else _one_partition)
    op.output(step_id, keyed, wrapped)


def _one_partition(_item: object) -> str:
    return ""
