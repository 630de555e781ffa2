"""`apply`: the one entry point the dataflow calls, `(state | None, event) -> (state, outputs)`.

    apply(state, event, catalog, *, sku=None) -> (SkuStock, tuple[Output, ...])

The dataflow keys events by SKU (`state.events.skus_of`) and binds the catalog with
`functools.partial`. Guarantees, whatever the input:

- Total: it never raises for an event; an invalid one yields `Rejected(code, message)` and the
  state is unchanged but for remembering the event id.
- Atomic: a rule works on immutable values, so a rejection part-way discards all of it.
- Idempotent: an event id in the window of recently seen ids yields `Duplicate` and nothing else
  (a rejected event is remembered too: its redelivery is a duplicate, not a second verdict).
- Per SKU: only the part of an event about this SKU is applied (an order's other lines are other
  keys' business). When `state` is None the SKU is `sku`, else the event's only SKU; an event
  about several SKUs with no state and no `sku` cannot be placed (`unresolved_sku`).
- Every applied change is in a `Movement`; when any stock moved a `StockChanged` snapshot ends
  the outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from state.atp import totals_and_network_atp
from state.catalog import Catalog, Sku
from state.commercial import (
    cancel_order,
    expire_reservation,
    place_order,
    place_purchase_order,
    receive_asn,
)
from state.events import (
    AsnReceived,
    CycleCounted,
    Event,
    ItemScanned,
    OrderCancelled,
    OrderPlaced,
    Packed,
    Picked,
    PurchaseOrderPlaced,
    PutAway,
    ReceiptPosted,
    ReservationExpired,
    RfidObserved,
    Shipped,
    StatusChanged,
    StockAdjusted,
    TransferReceived,
    TransferShipped,
    concerns,
    skus_of,
)
from state.floor import (
    adjust,
    change_status,
    count,
    observed,
    put_away,
    receive,
    receive_transfer,
    scanned,
    ship_transfer,
)
from state.fulfilment import pack, pick, ship
from state.outputs import Duplicate, Movement, Output, Rejected, StockChanged
from state.positions import Stamp
from state.rejections import Rejection, RejectionCode
from state.stock import SkuStock

Result = tuple[SkuStock, tuple[Output, ...]]


Rule = Callable[[SkuStock, Any, Sku, Catalog, Stamp], Result]
RULES: Mapping[type[Event], Rule] = {
    ReceiptPosted: receive,
    PutAway: put_away,
    Picked: pick,
    Packed: pack,
    Shipped: ship,
    TransferShipped: ship_transfer,
    TransferReceived: receive_transfer,
    StockAdjusted: adjust,
    CycleCounted: count,
    StatusChanged: change_status,
    ItemScanned: scanned,
    RfidObserved: observed,
    OrderPlaced: place_order,
    OrderCancelled: cancel_order,
    ReservationExpired: expire_reservation,
    PurchaseOrderPlaced: place_purchase_order,
    AsnReceived: receive_asn,
}


def _starting_state(event: Event, catalog: Catalog, sku: str | None) -> SkuStock:
    if sku is not None:
        return SkuStock.empty(sku)
    keys = skus_of(event, catalog)
    return SkuStock.empty(keys[0] if len(keys) == 1 else "")


def _sku_for(stock: SkuStock, event: Event, catalog: Catalog) -> Sku:
    """The catalog SKU of this state, if the event is about it and it can hold stock."""
    if not concerns(event, stock.sku, catalog):
        raise Rejection(
            RejectionCode.UNRESOLVED_SKU,
            f"{event.type} {event.event_id} is not about SKU {stock.sku or '(unknown)'}",
        )
    sku = catalog.skus.get(stock.sku) or catalog.sku(stock.sku)  # (the refusal, when unknown)
    if sku.is_kit:
        raise Rejection(
            RejectionCode.KIT_NOT_STOCKED,
            f"{sku.code} is a kit: it holds no stock (its components do)",
        )
    return sku


def apply(
    state: SkuStock | None, event: Event, catalog: Catalog, *, sku: str | None = None
) -> Result:
    """Applies one event to one SKU's state. Never raises for bad input; see the module doc."""
    stock = state if state is not None else _starting_state(event, catalog, sku)
    if stock.has_seen(event.event_id):
        return stock, (Duplicate(event_id=event.event_id, sku=stock.sku),)
    stamp = Stamp(event.event_id, event.occurred_at, event.type, stock.sku)
    try:
        rule = RULES[type(event)]
        changed, outputs = rule(stock, event, _sku_for(stock, event, catalog), catalog, stamp)
    except Rejection as refused:
        rejected = Rejected(event.event_id, stock.sku, refused.code, refused.message)
        return stock.remember(event.event_id), (rejected,)
    for output in outputs:  # (a loop: `any` over a generator cost more, for every event)
        if isinstance(output, Movement):
            break
    else:
        return changed.remember(event.event_id), outputs
    as_of = stamp.as_of
    totals, atp = totals_and_network_atp(changed, catalog, as_of)
    snapshot = StockChanged(
        event_id=event.event_id, sku=stock.sku, as_of=as_of, totals=totals, network_atp=atp
    )
    return changed.remember(event.event_id), (*outputs, snapshot)
