"""Reservation expiry: a timer per order in keyed state, releasing what nobody confirmed.

    OrderRouted, and the fold's OrderProgressed / Released entries, keyed by order id
        ─► ReservationTimer (Bytewax `stateful`, one pending `notify_at` per order)
        ─► ReservationExpired events ─► back into the flow's input (the `orders` topic)

When an order's decision says units were allocated, its timer is set to `hold` from now (wall
clock: `notify_at` runs on the system clock). A pick of a SKU confirms that SKU's reservation
(picks consume it); a release (cancellation or expiry) ends it. When the timer fires, every SKU
of the order still allocated and unconfirmed gets a `ReservationExpired` event, with the id
`expire:<order id>:<sku>` (a redelivered timer is a duplicate downstream) and the event time
decided_at + hold, and the order is forgotten. At the end of a finite input (replays, tests) the
timers already due fire; the others are dropped with the run.

Expiry events are inputs like any other: they go to the stream topics and through the sequenced
log, so the single writer of each SKU releases the units (`state.commercial.expire_reservation`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.operators import StatefulLogic

from state.events import ReservationExpired
from state.ledger import LedgerEntry
from state.outputs import OrderProgressed, Released
from state.routing_outcome import OrderRouted

SOURCE = "skuflow-reservation-timer"
TimerItem = OrderRouted | LedgerEntry


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Hold:
    """One order's open reservations (picklable: Bytewax snapshots it)."""

    order_id: str = ""
    skus: set[str] = field(default_factory=set)  # allocated and not yet confirmed
    due: datetime | None = None  # wall clock
    expires_at: datetime | None = None  # event time of the expiry events
    ended: bool = False


@dataclass
class ReservationTimer(StatefulLogic[TimerItem, ReservationExpired, Hold]):
    hold: timedelta
    state: Hold
    clock: Callable[[], datetime] = _utc_now

    def on_item(self, value: TimerItem) -> tuple[Iterable[ReservationExpired], bool]:
        state = self.state
        state.order_id, _ = _order_of(value)
        if isinstance(value, OrderRouted):
            if state.due is None and not state.ended:
                state.skus |= {line.sku for line in value.lines if line.allocated}
                state.due = self.clock() + self.hold
                state.expires_at = value.decided_at + self.hold
        else:
            output = value.output
            if isinstance(output, OrderProgressed) and output.picked:
                state.skus.discard(output.sku)  # a pick confirms (and consumes) the reservation
            elif isinstance(output, Released):
                state.skus.discard(output.sku)
                state.ended = not state.skus and state.due is not None
        if not state.skus:
            # Nothing allocated waits for a pick: everything confirmed or released, or (a pick,
            # a shipment, a release without a decision in hand: the progress of an order already
            # forgotten) nothing ever did. Keeping such a key would keep one idle timer per
            # order for good; a fresh one on the next item knows as much.
            return (), self.DISCARD
        return (), self.RETAIN

    def on_notify(self) -> tuple[Iterable[ReservationExpired], bool]:
        return self._expire(), self.DISCARD

    def on_eof(self) -> tuple[Iterable[ReservationExpired], bool]:
        due = self.state.due
        if due is not None and due <= self.clock():
            return self._expire(), self.DISCARD
        return (), self.RETAIN

    def notify_at(self) -> datetime | None:
        return self.state.due

    def snapshot(self) -> Hold:
        state = self.state
        return Hold(state.order_id, set(state.skus), state.due, state.expires_at, state.ended)

    def _expire(self) -> list[ReservationExpired]:
        at = self.state.expires_at
        if at is None:
            return []
        return [
            ReservationExpired(
                event_id=f"expire:{self.state.order_id}:{sku}",
                occurred_at=at,
                source=SOURCE,
                order_id=self.state.order_id,
                sku=sku,
            )
            for sku in sorted(self.state.skus)
        ]


def _order_of(item: TimerItem) -> tuple[str, TimerItem]:
    if isinstance(item, OrderRouted):
        return item.order_id, item
    return getattr(item.output, "order_id", "") or "", item


def _concerns_orders(entry: LedgerEntry) -> bool:
    return isinstance(entry.output, OrderProgressed | Released)


def expiries(
    decisions: Stream[OrderRouted], entries: Stream[LedgerEntry], hold: timedelta
) -> Stream[ReservationExpired]:
    """The timer steps: decisions start timers, picks and releases end them."""
    progress = op.filter("reservations_progress", entries, _concerns_orders)
    # LedgerEntry of OrderProgressed | Released
    both: Stream[TimerItem] = op.merge("reservations_in", decisions, progress)
    keyed = op.map("reservations_key_by_order", both, _order_of)
    # (order id, OrderRouted | LedgerEntry)
    timers = op.stateful("reservations_timer", keyed, _Builder(hold))
    # (order id, ReservationExpired)
    return op.key_rm("reservations_unkey", timers)


@dataclass(frozen=True)
class _Builder:
    """Bytewax's builder gets only the resumed state (so the order id travels in the state)."""

    hold: timedelta

    def __call__(self, resumed: Hold | None) -> ReservationTimer:
        return ReservationTimer(self.hold, resumed or Hold())
