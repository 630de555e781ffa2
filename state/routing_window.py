"""Batch windows for routing: the orders bound for one zone, held for a few minutes of event time
and then planned together (`state.routing.plan_batch`), so that the later orders join the
shipments the earlier ones opened and pay only their kilograms.

    admit(window, zone, order, length) -> (window, closed)   an order bound for the zone
    advance(window, now)               -> (window, closed)   event time seen anywhere else

(`ToBatch(zone, order | time)` is either, as the flow's step receives them, keyed by zone.)

A window opens at its first order's event time t0 and holds every order bound for its zone
until event time reaches t0 + length: the first order or tick (`advance`: the event time of
anything else in the stream) at or after t0 + length closes it, and its orders are planned. An
order that arrives after its window closed (it is late) opens a new window. For input in event
time order the batches therefore depend on the input alone, not on when they close. The flow
also closes windows at the end of a finite input, and a window's length after it opened on the
wall clock so that a quiet live stream holds nothing for long (`dataflows.routing`).

Shipments are per (site, zone) in the cost model, so a zone (not a country) is what a window
gathers: orders to France and Belgium share a shipment to EU-WEST.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from state.events import OrderPlaced


@dataclass(frozen=True, slots=True)
class ToBatch:
    """What a zone's window receives: an order bound for the zone (`admit`), or the event time
    of something else in the stream (`advance`)."""

    zone: str
    item: OrderPlaced | datetime


@dataclass(frozen=True, slots=True)
class BatchWindow:
    """One zone's open window: its orders in arrival order, and when it closes (event time)."""

    zone: str
    opened: datetime
    closes: datetime
    orders: tuple[OrderPlaced, ...]

    @property
    def batch(self) -> str:
        """The batch's name in plans and decisions: its zone and when it opened."""
        return f"{self.zone}@{self.opened.isoformat()}"


def advance(
    window: BatchWindow | None, now: datetime
) -> tuple[BatchWindow | None, BatchWindow | None]:
    """(the window still open, the window `now` closed): a window closes at t0 + length."""
    if window is not None and now >= window.closes:
        return None, window
    return window, None


def admit(
    window: BatchWindow | None, zone: str, order: OrderPlaced, length: timedelta
) -> tuple[BatchWindow, BatchWindow | None]:
    """(the window holding `order`, the window its event time closed first, if any)."""
    if length <= timedelta(0):
        msg = f"a batch window must last some time, not {length} (no window: decide on arrival)"
        raise ValueError(msg)
    window, closed = advance(window, order.occurred_at)
    if window is None:
        at = order.occurred_at
        return BatchWindow(zone, at, at + length, (order,)), closed
    return replace(window, orders=(*window.orders, order)), closed
