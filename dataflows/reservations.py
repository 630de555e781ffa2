"""Reservation expiry: a timer per bucket of orders, releasing what nobody confirmed.

    OrderRouted, and the fold's OrderProgressed / Released entries, keyed by bucket of order id
        ─► ReservationTimer (Bytewax `stateful`, one `notify_at` per bucket: its earliest hold)
        ─► ReservationExpired events ─► back into the flow's input (the `orders` topic)

When an order's decision says units were allocated, the order gets a hold due `hold` from now
(wall clock: `notify_at` runs on the system clock). A pick of a SKU confirms that SKU's
reservation (picks consume it); a release (cancellation or expiry) ends it. When a hold falls
due, every SKU of the order still allocated and unconfirmed gets a `ReservationExpired` event,
with the id `expire:<order id>:<sku>` (a redelivered timer is a duplicate downstream) and the
event time decided_at + hold, and the order is forgotten. At the end of a finite input (replays,
tests) the holds already due expire; the others are dropped with the run.

Orders are keyed in `RESERVATION_BUCKETS` buckets of their ids (crc32), not one key each, as
routing's decision assembly is (`dataflows.routing.ASSEMBLY_BUCKETS`): Bytewax looks through
every key holding a timer each time the step runs, and a key costs hundreds of bytes beyond its
state, so a key per open order made each event dearer as orders piled up over the hold (hours).
A bucket's timer is its earliest due hold; when it fires, every hold due by then expires.

Expiry events are inputs like any other: they go to the stream topics and through the sequenced
log, so the single writer of each SKU releases the units (`state.commercial.expire_reservation`).
"""

from __future__ import annotations

import heapq
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
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

# Fixed forever for a recovery directory (a bucket's holds are found by its key).
RESERVATION_BUCKETS = 64


def reservation_bucket(order_id: str) -> str:
    """The bucket of an order id: the same in every process and every run (crc32)."""
    return f"holds-{zlib.crc32(order_id.encode()) % RESERVATION_BUCKETS:02d}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Hold:
    """One order's open reservations: a value, replaced (not changed) as picks confirm SKUs, so
    a snapshot shares it."""

    skus: tuple[str, ...]  # allocated and not yet confirmed, sorted
    due: datetime  # wall clock
    expires_at: datetime  # event time of the expiry events


@dataclass
class Holds:
    """One bucket's open orders, order id → Hold (picklable: Bytewax snapshots it)."""

    open: dict[str, Hold] = field(default_factory=dict)


@dataclass
class ReservationTimer(StatefulLogic[TimerItem, ReservationExpired, Holds]):
    """`StatefulLogic` for `op.stateful`, keyed by `reservation_bucket` of the order id."""

    hold: timedelta
    state: Holds
    clock: Callable[[], datetime] = _utc_now
    # (due, order id) of the open holds, earliest first; derived from `state` (not snapshotted).
    # An order that ends leaves its entry behind until it reaches the top or the heap is rebuilt
    # (`_tidy`), so that ending one costs no search.
    _due: list[tuple[datetime, str]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rebuild()

    def on_item(self, value: TimerItem) -> tuple[Iterable[ReservationExpired], bool]:
        holds = self.state.open
        order_id = _order_id(value)
        held = holds.get(order_id)
        if isinstance(value, OrderRouted):
            skus = tuple(sorted({line.sku for line in value.lines if line.allocated}))
            if held is None and skus:  # the first decision of the order starts its hold
                due = self.clock() + self.hold
                holds[order_id] = Hold(skus, due, value.decided_at + self.hold)
                heapq.heappush(self._due, (due, order_id))
        elif held is not None and (at := _place(held.skus, _confirmed_or_released(value))) >= 0:
            # A shipment ends nothing; a pick, a shipment or a release of an order holding
            # nothing (one already forgotten, or whose decision allocated nothing) has nothing
            # to end, and leaves nothing behind. The SKU is cut out by its place in the sorted
            # tuple (C slices): a Python pass per pick made an order of n lines cost n² steps.
            skus = held.skus[:at] + held.skus[at + 1 :]
            if skus:
                holds[order_id] = replace(held, skus=skus)
            else:
                del holds[order_id]
                self._tidy()
        return (), self._kept()

    def on_notify(self) -> tuple[Iterable[ReservationExpired], bool]:
        return self._expire_due(self.clock()), self._kept()

    def on_eof(self) -> tuple[Iterable[ReservationExpired], bool]:
        return self._expire_due(self.clock()), self._kept()

    def notify_at(self) -> datetime | None:
        """The earliest due hold of the bucket."""
        self._drop_ended()
        return self._due[0][0] if self._due else None

    def snapshot(self) -> Holds:
        return Holds(dict(self.state.open))  # the holds are values: a shallow copy is a copy

    def _kept(self) -> bool:
        return self.RETAIN if self.state.open else self.DISCARD

    def _expire_due(self, now: datetime) -> list[ReservationExpired]:
        expired: list[ReservationExpired] = []
        self._drop_ended()
        while self._due and self._due[0][0] <= now:
            _, order_id = heapq.heappop(self._due)
            held = self.state.open.pop(order_id)
            expired.extend(_expiries(order_id, held))
            self._drop_ended()
        return expired

    def _drop_ended(self) -> None:
        """Pop the entries of orders that ended (or started again since) off the heap's top."""
        due, holds = self._due, self.state.open
        while due and _ended(due[0], holds):
            heapq.heappop(due)

    def _tidy(self) -> None:
        """Rebuild the heap once ended orders' entries outnumber the open ones (amortised O(1))."""
        if len(self._due) > 2 * len(self.state.open) + 64:
            self._rebuild()

    def _rebuild(self) -> None:
        self._due = [(held.due, order_id) for order_id, held in self.state.open.items()]
        heapq.heapify(self._due)


def _ended(entry: tuple[datetime, str], holds: dict[str, Hold]) -> bool:
    due, order_id = entry
    held = holds.get(order_id)
    return held is None or held.due != due


def _place(skus: tuple[str, ...], sku: str | None) -> int:
    """Where `sku` stands in the sorted `skus`, or -1 if it is not there."""
    if sku is None:
        return -1
    at = bisect_left(skus, sku)
    return at if at < len(skus) and skus[at] == sku else -1


def _confirmed_or_released(entry: LedgerEntry) -> str | None:
    """The SKU whose reservation the entry ends: a pick confirms (and consumes) it, a release
    (cancellation or expiry) ends it."""
    output = entry.output
    if isinstance(output, OrderProgressed) and output.picked:
        return output.sku
    if isinstance(output, Released):
        return output.sku
    return None


def _expiries(order_id: str, held: Hold) -> list[ReservationExpired]:
    return [
        ReservationExpired(
            event_id=f"expire:{order_id}:{sku}",
            occurred_at=held.expires_at,
            source=SOURCE,
            order_id=order_id,
            sku=sku,
        )
        for sku in held.skus
    ]


def _order_id(item: TimerItem) -> str:
    if isinstance(item, OrderRouted):
        return item.order_id
    return getattr(item.output, "order_id", "") or ""


def _keyed(item: TimerItem) -> tuple[str, TimerItem]:
    return reservation_bucket(_order_id(item)), item


def _concerns_orders(entry: LedgerEntry) -> bool:
    return isinstance(entry.output, OrderProgressed | Released)


def expiries(
    decisions: Stream[OrderRouted], entries: Stream[LedgerEntry], hold: timedelta
) -> Stream[ReservationExpired]:
    """The timer steps: decisions start holds, picks and releases end them."""
    progress = op.filter("reservations_progress", entries, _concerns_orders)
    # LedgerEntry of OrderProgressed | Released
    both: Stream[TimerItem] = op.merge("reservations_in", decisions, progress)
    keyed = op.map("reservations_key_by_bucket", both, _keyed)
    # (bucket of the order id, OrderRouted | LedgerEntry)
    # A new step id for the new state's shape (Holds per bucket, not a Hold per order): a
    # recovery directory of the old one is not loaded into this logic. Its open holds are not
    # carried over: those reservations stay allocated until released another way.
    timers = op.stateful("reservations_timer_by_bucket", keyed, _Builder(hold))
    # (bucket, ReservationExpired)
    return op.key_rm("reservations_unkey", timers)


@dataclass(frozen=True)
class _Builder:
    hold: timedelta

    def __call__(self, resumed: Holds | None) -> ReservationTimer:
        return ReservationTimer(self.hold, resumed if resumed is not None else Holds())
