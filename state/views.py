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


@dataclass(frozen=True, slots=True)
class PositionView:
    location: str
    lot: str
    quantities: Quantities


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


def view_of(stock: SkuStock, catalog: Catalog, updated_at: datetime, event_id: str) -> SkuView:
    """Snapshot `stock` for the live view; ATP as of the event's date."""
    as_of = updated_at.date()
    positions = tuple(
        PositionView(location=path, lot=lot, quantities=position.quantities)
        for (path, lot), position in sorted(stock.positions.items())
        if position.quantities
    )
    totals = stock.totals()
    return SkuView(
        sku=stock.sku,
        as_of=as_of,
        updated_at=updated_at,
        last_event_id=event_id,
        positions=positions,
        in_transit=totals.in_transit,
        on_order=totals.on_order,
        atp=atp_report(stock, catalog, as_of),
    )
