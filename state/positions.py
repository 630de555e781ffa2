"""Moving stock at a position (bin + lot): the one place where on-hand buckets change.

Every rule that changes on-hand buckets calls `move(stock, key, delta, stamp)`, which

1. refuses any change that would leave a bucket negative (`insufficient_stock`), so no rule can
   oversell or underflow by mistake;
2. reconciles with the last cycle count at the position: a movement that occurred before the
   count (but arrives after it) is already reflected in the physical count. It must not change
   on hand again, so its on-hand change Δ is offset through `available` (the bucket a count's
   variance went to) and the recorded variance is revised: variance' = variance − Δ.
   Example: book 10, a pick of 3 happens, the count finds 7 (variance −3), then the pick arrives:
   allocated −3, available +3, on hand stays 7 and the variance becomes 0 (it was no shrinkage);
3. journals (occurred_at, Δon_hand) of movements after the count, which a count arriving late
   needs to know its book quantity as of its own time (see `state.counting`);
4. returns the `Movement` with the net deltas, so the ledger always sums to the state.

Time rule: a count at time t reflects every movement with occurred_at < t (strictly before).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from state.buckets import Quantities
from state.journal import appended, fits, length, oldest, without_oldest
from state.outputs import Movement, Output, VarianceRevised
from state.rejections import Rejection, RejectionCode
from state.shared import shared_quantities
from state.stock import NO_STOCK, Position, PositionKey, SkuStock
from state.values import quick_init

JOURNAL_LIMIT = 64


@quick_init
@dataclass(frozen=True, slots=True)
class Stamp:
    """Who and when: the event being applied, as the rules need it."""

    event_id: str
    occurred_at: datetime
    kind: str
    sku: str

    @property
    def as_of(self) -> date:
        """The business date of the event (its own local date), used for expiry."""
        return self.occurred_at.date()


def _journalled(
    journal: bytes, horizon: datetime | None, occurred_at: datetime, on_hand_delta: int
) -> tuple[bytes, datetime | None]:
    """Adds the entry (kept sorted by time); past the limit drops the oldest and moves the horizon
    so that a count older than what was dropped is refused rather than miscounted."""
    journal = appended(journal, occurred_at, on_hand_delta)
    if length(journal) > JOURNAL_LIMIT:
        dropped_at = oldest(journal)
        journal = without_oldest(journal)
        horizon = dropped_at if horizon is None else max(horizon, dropped_at)
    return journal, horizon


def move(
    stock: SkuStock,
    key: PositionKey,
    delta: Quantities,
    stamp: Stamp,
    *,
    order_id: str | None = None,
    reference: str | None = None,
    is_count: bool = False,
) -> tuple[SkuStock, tuple[Output, ...]]:
    """Applies `delta` (base units, on-hand buckets only) at `key`.

    `is_count` marks the change a cycle count itself makes: it is neither reconciled with the
    count nor journalled. Invariant: afterwards no bucket at `key` is negative, or `Rejection`
    was raised.

    Every rule that moves stock comes here, several times per event: the new position is built
    once, from its parts (the journal and the count worked out first), not once per change.
    """
    location, lot = key
    position = stock.positions.get(key)
    if position is None:
        position = NO_STOCK
    count = position.last_count
    journal, horizon = position.journal, position.horizon
    on_hand = delta.on_hand
    outputs: tuple[Output, ...] = ()
    if is_count:
        code = RejectionCode.INSUFFICIENT_STOCK
    elif on_hand and count is not None and stamp.occurred_at < count.counted_at:
        delta = delta + Quantities(available=-on_hand)
        revised = replace(count, variance=count.variance - on_hand)
        outputs = (
            VarianceRevised(
                event_id=stamp.event_id,
                sku=stamp.sku,
                location=location,
                lot=lot,
                count_event_id=count.event_id,
                variance=revised.variance,
                by=revised.variance - count.variance,
            ),
        )
        count = revised
        code = RejectionCode.CONFLICTS_WITH_COUNT
    else:
        if on_hand:
            if not fits(on_hand):
                raise Rejection(
                    RejectionCode.INVALID_EVENT,
                    f"{stamp.sku}: a change of {on_hand} base units at {location} is more stock "
                    "than exists; check the quantity and the unit's factor in the catalog",
                )
            journal, horizon = _journalled(journal, horizon, stamp.occurred_at, on_hand)
        code = RejectionCode.INSUFFICIENT_STOCK
    resulting = position.quantities + delta
    if negative := resulting.negative_buckets():
        raise Rejection(
            code,
            f"{stamp.sku}: {', '.join(negative)} at {location} lot {lot or '-'} would fall "
            f"below zero ({position.quantities.as_dict()} + {delta.as_dict()})",
        )
    resulting = shared_quantities(resulting)
    stock = stock.with_position(key, Position(resulting, count, journal, horizon))
    movement = Movement(
        stamp.event_id, stamp.sku, stamp.kind, location, lot, delta, resulting, order_id, reference
    )
    return stock, (movement, *outputs)


def site_movement(
    stock: SkuStock,
    stamp: Stamp,
    *,
    site: str,
    lot: str,
    delta: Quantities,
    reference: str,
) -> Movement:
    """The ledger line for an in_transit (per destination site and lot) or on_order (per site)
    change already made to `stock`; `resulting` is that site's total after it."""
    return Movement(
        event_id=stamp.event_id,
        sku=stamp.sku,
        kind=stamp.kind,
        location=site,
        lot=lot,
        deltas=delta,
        resulting=Quantities(
            in_transit=stock.in_transit_to(site, lot) if delta.in_transit else 0,
            on_order=stock.on_order_at(site) if delta.on_order else 0,
        ),
        reference=reference,
    )
