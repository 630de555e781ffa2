"""Rules for commercial documents: orders, cancellations, reservation expiry, POs and ASNs.

- OrderPlaced: each line for this SKU (or for a kit containing it) is allocated by
  `state.allocation.allocate`; the order's reservation keeps where its units are reserved and its
  backorder. An order id already holding this SKU is refused (`duplicate_order`).
- OrderCancelled / ReservationExpired: every unpicked reserved unit returns to available and the
  backorder is dropped (`state.allocation.release`).
- PurchaseOrderPlaced: on_order + Σ of its lines for this SKU, at the PO's site.
- AsnReceived: the supplier's notice replaces the PO's expectation: on the PO, on_order −
  min(ASN quantity, still on the PO); on the ASN, on_order + ASN quantity. Lots and expiry dates
  announced on the ASN are learnt. A document id already known is refused (`duplicate_document`).
"""

from __future__ import annotations

from dataclasses import replace

from state.allocation import allocate, demands_for, release
from state.buckets import Quantities
from state.catalog import Catalog, Sku
from state.checks import base_quantity, learn_lot, lot_key
from state.events import (
    AsnReceived,
    OrderCancelled,
    OrderPlaced,
    PurchaseOrderPlaced,
    ReservationExpired,
)
from state.fulfilment import reservation_of
from state.outputs import LineAllocated, Output
from state.positions import Stamp, site_movement
from state.rejections import Rejection, RejectionCode
from state.stock import Inbound, InboundKind, Reservation, Reserved, SkuStock

Result = tuple[SkuStock, tuple[Output, ...]]


def _merged(lines: list[Reserved]) -> tuple[Reserved, ...]:
    """One line per (location, lot), in first-reserved order (the lines themselves when no two
    share a position, as for nearly every order: they are frozen, so they can be shared)."""
    by_key: dict[tuple[str, str], int] = {}
    for line in lines:
        by_key[(line.location, line.lot)] = by_key.get((line.location, line.lot), 0) + line.quantity
    if len(by_key) == len(lines):
        return tuple(lines)
    return tuple(Reserved(location, lot, quantity) for (location, lot), quantity in by_key.items())


def place_order(
    stock: SkuStock, event: OrderPlaced, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    if event.order_id in stock.reservations:
        raise Rejection(
            RejectionCode.DUPLICATE_ORDER, f"order {event.order_id} already holds {sku.code}"
        )
    outputs: list[Output] = []
    reserved: list[Reserved] = []
    backordered = 0
    for demand in demands_for(event, sku, catalog):
        stock, lines, moved = allocate(stock, demand, event, catalog, stamp)
        outputs.extend(moved)
        reserved.extend(lines)
        allocated = sum(line.quantity for line in lines)
        short = demand.quantity - allocated
        backorder = short if demand.shortfall == "backorder" else 0
        backordered += backorder
        outputs.append(
            LineAllocated(
                event_id=stamp.event_id,
                sku=sku.code,
                order_id=event.order_id,
                ordered_sku=demand.ordered_sku,
                ordered=demand.quantity,
                allocated=allocated,
                backordered=backorder,
                rejected=short - backorder,
                reservations=lines,
            )
        )
    reservation = Reservation(
        order_id=event.order_id,
        channel=event.channel,
        priority=event.priority,
        placed_at=event.occurred_at,
        lines=_merged(reserved),
        backordered=backordered,
    )
    return stock.with_reservation(reservation), tuple(outputs)


def cancel_order(
    stock: SkuStock, event: OrderCancelled, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    return release(stock, reservation_of(stock, event.order_id), stamp, "cancelled")


def expire_reservation(
    stock: SkuStock, event: ReservationExpired, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    return release(stock, reservation_of(stock, event.order_id), stamp, "expired")


def _add_inbound(stock: SkuStock, entry: Inbound, stamp: Stamp) -> Result:
    key = (entry.kind, entry.document_id)
    if key in stock.inbound:
        raise Rejection(
            RejectionCode.DUPLICATE_DOCUMENT, f"{entry.kind} {entry.document_id} is already known"
        )
    stock = replace(stock, inbound={**stock.inbound, key: entry})
    movement = site_movement(
        stock,
        stamp,
        site=entry.site,
        lot="",
        delta=Quantities(on_order=entry.quantity),
        reference=entry.document_id,
    )
    return stock, (movement,)


def _ordered(sku: Sku, lines: tuple[tuple[str, int, str | None], ...]) -> int:
    return sum(base_quantity(sku, q, unit) for code, q, unit in lines if code == sku.code)


def place_purchase_order(
    stock: SkuStock, event: PurchaseOrderPlaced, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    kind: InboundKind = "purchase_order"
    entry = Inbound(
        kind=kind,
        document_id=event.purchase_order_id,
        site=catalog.require_site(event.site),
        expected_date=event.expected_date,
        quantity=_ordered(sku, tuple((line.sku, line.quantity, line.unit) for line in event.lines)),
    )
    return _add_inbound(stock, entry, stamp)


def receive_asn(
    stock: SkuStock, event: AsnReceived, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    site = catalog.require_site(event.site)
    for line in event.lines:
        if line.sku == sku.code and line.lot is not None:
            stock = learn_lot(stock, sku, lot_key(sku, line.lot), line.expiry)
    quantity = _ordered(sku, tuple((line.sku, line.quantity, line.unit) for line in event.lines))
    outputs: list[Output] = []
    po = event.purchase_order_id
    ordered = None if po is None else stock.inbound.get(("purchase_order", po))
    if ordered is not None:
        taken = min(quantity, ordered.quantity)
        rest = dict(stock.inbound)
        if ordered.quantity > taken:
            rest[("purchase_order", ordered.document_id)] = replace(
                ordered, quantity=ordered.quantity - taken
            )
        else:
            del rest[("purchase_order", ordered.document_id)]
        stock = replace(stock, inbound=rest)
        outputs.append(
            site_movement(
                stock,
                stamp,
                site=ordered.site,
                lot="",
                delta=Quantities(on_order=-taken),
                reference=ordered.document_id,
            )
        )
    entry = Inbound(
        kind="asn",
        document_id=event.asn_id,
        site=site,
        expected_date=event.expected_date,
        quantity=quantity,
        purchase_order_id=po,
    )
    stock, added = _add_inbound(stock, entry, stamp)
    return stock, (*outputs, *added)
