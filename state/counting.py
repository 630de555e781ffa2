"""Cycle counts: setting the absolute quantity at a bin and recording the variance (shrinkage).

A `CycleCounted` event says "at time t there were N units of this SKU (and lot) at this bin".
Movements may reach us late, so the count is reconciled with time, not with arrival order:

    after(t)  = Σ Δon_hand of the movements journalled at the bin with occurred_at ≥ t
    book(t)   = on_hand − after(t)            the book quantity as of the count
    variance  = counted − book(t)             negative = shrinkage, positive = found stock
    on_hand'  = max(0, counted + after(t))    the count, plus what happened since

- The change on_hand' − on_hand goes to `available` when positive. When negative it is taken
  from available, then damaged, quarantined, on hold, and last from allocated, shorting the
  reservations there (`state.allocation.short_reservations`): physical stock is what it is.
- A movement older than the count that arrives after it is reconciled by `state.positions.move`:
  on hand stays as counted and the recorded variance is revised (`VarianceRevised`).
- A count older than the last count at the bin is refused (`superseded_count`). A count older
  than the oldest movement the bounded journal still holds is refused too
  (`count_predates_journal`): its book quantity can no longer be known exactly.
- The max(0, ...) only matters with contradictory input (later movements removed more than the
  count found): a receipt before them is still to arrive; stock is never made negative.
"""

from __future__ import annotations

from dataclasses import replace

from state.allocation import short_reservations
from state.buckets import Quantities
from state.journal import moved_since, since
from state.outputs import CountRecorded, Output
from state.positions import Stamp, move
from state.rejections import Rejection, RejectionCode
from state.stock import CountRecord, PositionKey, SkuStock

SHORTAGE_ORDER = ("available", "damaged", "quarantined", "on_hold", "allocated")


def spread(quantities: Quantities, change: int) -> Quantities:
    """The bucket deltas that change on hand by `change` (≥ −on_hand), per the order above."""
    if change >= 0:
        return Quantities(available=change)
    deltas: dict[str, int] = {}
    missing = -change
    for bucket in SHORTAGE_ORDER:
        take = min(missing, getattr(quantities, bucket))
        deltas[bucket] = -take
        missing -= take
    return Quantities(**deltas)


def record_count(
    stock: SkuStock, key: PositionKey, counted: int, stamp: Stamp
) -> tuple[SkuStock, tuple[Output, ...]]:
    """Sets on hand at `key` from a count of `counted` base units taken at stamp.occurred_at."""
    position = stock.position(key)
    at = stamp.occurred_at
    last = position.last_count
    if last is not None and at < last.counted_at:
        raise Rejection(
            RejectionCode.SUPERSEDED_COUNT,
            f"{stock.sku} at {key[0]} was counted later, at {last.counted_at.isoformat()}",
        )
    if position.horizon is not None and at <= position.horizon:
        raise Rejection(
            RejectionCode.COUNT_PREDATES_JOURNAL,
            f"{stock.sku} at {key[0]}: movements after {at.isoformat()} are no longer journalled",
        )
    after = moved_since(position.journal, at)
    on_hand = position.quantities.on_hand
    book = on_hand - after
    delta = spread(position.quantities, max(0, counted + after) - on_hand)
    stock, shorted = short_reservations(stock, key, -delta.allocated, stamp)
    moved: tuple[Output, ...] = ()
    if delta:
        stock, moved = move(stock, key, delta, stamp, is_count=True)
    record = CountRecord(
        counted_at=at, event_id=stamp.event_id, counted=counted, book=book, variance=counted - book
    )
    journal = since(position.journal, at)
    counted_position = replace(stock.position(key), last_count=record, journal=journal)
    recorded = CountRecorded(
        event_id=stamp.event_id,
        sku=stock.sku,
        location=key[0],
        lot=key[1],
        counted_at=at,
        counted=counted,
        book=book,
        variance=record.variance,
    )
    return stock.with_position(key, counted_position), (*shorted, *moved, recorded)
