"""The live view of one SKU: what Redis holds and channels read, as absolute values.

A `SkuView` is a complete snapshot (every position's buckets, in-transit and on-order supply, and
every ATP figure), so a sink writes it over what was there: replaying an event twice, or out of
a recovery, can never double a number in the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from state.atp import AtpReport, atp_report
from state.buckets import Quantities
from state.catalog import Catalog
from state.stock import SkuStock
from state.values import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class PositionView:
    location: str
    lot: str
    quantities: Quantities


@quick_init
@dataclass(frozen=True, slots=True)
class SkuView:
    sku: str
    as_of: date
    updated_at: datetime  # the event time of the last event applied
    last_event_id: str
    positions: tuple[PositionView, ...]
    in_transit: int
    on_order: int
    atp: AtpReport
    version: int = 0  # the SKU's `SkuStock.version`: a store never replaces a view by an older one


def view_of(
    stock: SkuStock,
    catalog: Catalog,
    updated_at: datetime,
    event_id: str,
    version: int | None = None,
) -> SkuView:
    """Snapshot `stock` for the live view; ATP as of the event's date.

    `version`: the SKU's version just after `event_id`, the last event that moved its stock
    (default `stock.version`). Events that move nothing change nothing a view shows, so a view
    made after a batch is stamped with the version of its last move: the same figure however
    the events were batched, and never more than a later move's."""
    as_of = updated_at.date()
    # One pass over the positions (a `PositionMap` gives them in sorted key order), summing
    # the two supply buckets as it goes: `stock.totals()` would add all seven buckets of every
    # position to read two of them, once per SKU per batch.
    positions = []
    in_transit = on_order = 0
    if stock.in_transit:  # (most SKUs have none: no generator for an empty mapping)
        in_transit = sum(transfer.quantity for transfer in stock.in_transit.values())
    if stock.inbound:
        on_order = sum(inbound.quantity for inbound in stock.inbound.values())
    for key, position in stock.positions.pairs():
        quantities = position.quantities
        if quantities:
            positions.append(PositionView(key[0], key[1], quantities))
            in_transit += quantities.in_transit  # always 0 at a bin; added as `totals()` does
            on_order += quantities.on_order
    return SkuView(
        sku=stock.sku,
        as_of=as_of,
        updated_at=updated_at,
        last_event_id=event_id,
        positions=tuple(positions),
        in_transit=in_transit,
        on_order=on_order,
        atp=atp_report(stock, catalog, as_of),
        version=stock.version if version is None else version,
    )
