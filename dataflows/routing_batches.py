"""Batch windows in the inventory flow: orders bound for one zone held, then planned together.

With a batch window (`Routing.batch_window`, `skuflow run --batch-minutes`), the intake holds
each order instead of planning it (`Routing.intake`), and these steps plan it:

    OrderPlaced ─► ToBatch(zone, order) ─┐
    any event  ─► ToBatch(zone, its time) for every zone (at most every window/4 of event time)
                                         └─► key by zone ─► BatchLogic (`state.routing_window`)
        ─► when the zone's window closes: `plan_batch` on the board's picture, in priority order
        ─► each order with its sites + its PlanRecord ─► keyed by SKU and into the log as before

A window closes when event time reaches its end (an order or a tick), a window's length after it
opened on the wall clock (a quiet live stream), or at the end of a finite input. Its open orders
are in the step's state, so a resumed run holds them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.operators import StatefulLogic

from dataflows.routing import PlanRecord, Router, Routing
from state.catalog import Catalog
from state.events import Event, OrderPlaced, parts_by_sku
from state.routing_window import BatchWindow, ToBatch, admit, advance

KeyedEvent = tuple[str, tuple[str, Event]]  # as `dataflows.inventory.Keyed`
Planned = tuple[OrderPlaced, PlanRecord]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Batching:
    """One zone's batch window and when the wall clock closes it (picklable: snapshotted)."""

    window: BatchWindow | None = None
    due: datetime | None = None


@dataclass
class BatchLogic(StatefulLogic[ToBatch, Planned, Batching]):
    """`StatefulLogic` for `op.stateful`, keyed by zone: holds the zone's window and plans its
    orders when it closes (module doc)."""

    router: Router
    length: timedelta
    state: Batching
    clock: Callable[[], datetime] = _utc_now

    def on_item(self, value: ToBatch) -> tuple[Iterable[Planned], bool]:
        before = self.state.window
        if isinstance(value.item, datetime):
            window, closed = advance(before, value.item)
        else:
            window, closed = admit(before, value.zone, value.item, self.length)
            if before is None or closed is not None:  # the order opened a new window
                self.state.due = self.clock() + self.length
        self.state.window = window
        return self._close(closed)

    def on_notify(self) -> tuple[Iterable[Planned], bool]:
        closed, self.state.window = self.state.window, None
        return self._close(closed)

    def on_eof(self) -> tuple[Iterable[Planned], bool]:
        return self.on_notify()

    def notify_at(self) -> datetime | None:
        return self.state.due if self.state.window is not None else None

    def snapshot(self) -> Batching:
        return Batching(self.state.window, self.state.due)

    def _close(self, closed: BatchWindow | None) -> tuple[Iterable[Planned], bool]:
        planned = self.router.plan_window(closed) if closed is not None else []
        return planned, (self.RETAIN if self.state.window is not None else self.DISCARD)


@dataclass(frozen=True)
class _BatchBuilder:
    router: Router
    length: timedelta

    def __call__(self, resumed: Batching | None) -> BatchLogic:
        return BatchLogic(self.router, self.length, resumed or Batching())


def parts_of(catalog: Catalog, planned: Planned) -> list[KeyedEvent | PlanRecord]:
    """A planned order addressed to each of its SKUs (as `dataflows.inventory.route` does),
    then its PlanRecord."""
    order, record = planned
    return [*((sku, (sku, part)) for sku, part in parts_by_sku(order, catalog)), record]


def _is_to_batch(item: object) -> bool:
    return isinstance(item, ToBatch)


def _is_plan(item: object) -> bool:
    return isinstance(item, PlanRecord)


def batch_orders(
    name: str,
    routing: Routing,
    catalog: Catalog,
    keyed: Stream[KeyedEvent | ToBatch],
    plans: Stream[PlanRecord],
) -> tuple[Stream[KeyedEvent], Stream[PlanRecord]]:
    """The batch window steps: held orders and ticks in; planned orders' parts and plans out,
    merged with the events and plans the intake passed straight on."""
    assert routing.batch_window is not None, "batch_orders needs a batch window"
    split = op.branch(f"{name}_held_orders", keyed, _is_to_batch)
    held: Stream[ToBatch] = split.trues  # type: ignore[assignment]
    by_zone = op.key_on(f"{name}_key_by_zone", held, lambda item: item.zone)
    # (zone, ToBatch)
    builder = _BatchBuilder(routing.router, routing.batch_window)
    closed = op.key_rm(f"{name}_unkey_batches", op.stateful(f"{name}_batch", by_zone, builder))
    # (OrderPlaced with its sites, PlanRecord), a closed window's orders in priority order
    parts = op.flat_map(f"{name}_batched_parts", closed, partial(parts_of, catalog))
    # (sku, (sku, OrderPlaced)) | PlanRecord
    out = op.branch(f"{name}_batched_plans", parts, _is_plan)
    passed: Stream[KeyedEvent] = split.falses  # type: ignore[assignment]
    batched: Stream[KeyedEvent] = out.falses  # type: ignore[assignment]
    batched_plans: Stream[PlanRecord] = out.trues  # type: ignore[assignment]
    return (
        op.merge(f"{name}_keyed_and_batched", passed, batched),
        op.merge(f"{name}_plans_and_batched", plans, batched_plans),
    )
