"""Rules for fulfilling orders: pick, pack, ship.

- Picked: takes q units of an order's reservation at a bin out of stock (allocated − q, so on
  hand − q). Refused when the order has fewer than q units reserved there
  (`pick_exceeds_allocation`), or when the lot named has expired (`expired_lot`). Without a lot,
  the order's reserved lots at the bin are picked FEFO, skipping expired ones.
- Packed: refused beyond what was picked (packed ≤ picked). No stock moves.
- Shipped: refused beyond what was picked (shipped ≤ picked). No stock moves: the units left on
  hand when they were picked. An order with nothing left reserved, backordered or unshipped is
  forgotten.
- Picked units of a cancelled order stay picked (off the shelf); putting them back is a
  StockAdjusted "returned".
"""

from __future__ import annotations

from datetime import date

from state.buckets import Quantities
from state.catalog import Catalog, Sku
from state.checks import base_quantity, location_path, not_expired
from state.events import Packed, Picked, Shipped
from state.outputs import OrderProgressed, Output
from state.positions import Stamp, move
from state.rejections import Rejection, RejectionCode
from state.stock import Reservation, Reserved, SkuStock

Result = tuple[SkuStock, tuple[Output, ...]]


def reservation_of(stock: SkuStock, order_id: str) -> Reservation:
    if order_id not in stock.reservations:
        raise Rejection(
            RejectionCode.UNKNOWN_ORDER, f"order {order_id} holds nothing of {stock.sku}"
        )
    return stock.reservations[order_id]


def progressed(stamp: Stamp, reservation: Reservation) -> OrderProgressed:
    return OrderProgressed(
        event_id=stamp.event_id,
        sku=stamp.sku,
        order_id=reservation.order_id,
        picked=reservation.picked,
        packed=reservation.packed,
        shipped=reservation.shipped,
    )


def pick(stock: SkuStock, event: Picked, sku: Sku, catalog: Catalog, stamp: Stamp) -> Result:
    reservation = reservation_of(stock, event.order_id)
    path = location_path(catalog, event.location)
    quantity = base_quantity(sku, event.quantity, event.unit)
    lot = event.lot
    if lot is not None:
        not_expired(stock, sku, lot, stamp.as_of)
        here = [line for line in reservation.lines if line.location == path and line.lot == lot]
    else:  # the reserved lots at the bin that have not expired
        lots, as_of = stock.lots, stamp.as_of
        here = [
            line
            for line in reservation.lines
            if line.location == path and not sku.is_expired(lots.get(line.lot), as_of)
        ]

    def fefo(line: Reserved) -> tuple[bool, date, str]:
        expiry = stock.expiry(line.lot)
        return (expiry is None, expiry or date.max, line.lot)

    if len(here) > 1:  # (one line, the usual case, is in order already)
        here.sort(key=fefo)
    if quantity > sum(line.quantity for line in here):
        raise Rejection(
            RejectionCode.PICK_EXCEEDS_ALLOCATION,
            f"order {event.order_id} has {sum(line.quantity for line in here)} of {sku.code} "
            f"allocated at {path}{f' lot {event.lot}' if event.lot else ''}, not {quantity}",
        )
    outputs: list[Output] = []
    taken: dict[tuple[str, str], int] = {}
    left = quantity
    for line in here:
        take = min(left, line.quantity)
        if take:
            stock, moved = move(
                stock,
                (line.location, line.lot),
                Quantities(allocated=-take),
                stamp,
                order_id=event.order_id,
            )
            outputs.extend(moved)
            taken[(line.location, line.lot)] = take
            left -= take
    # Only the lines picked from change; the others are kept as they are (an order reserved at
    # many bins would otherwise copy every line at every pick).
    lines = tuple(
        line if (line.location, line.lot) not in taken else _less(line, taken)
        for line in reservation.lines
    )
    reservation = progress(
        reservation,
        lines=tuple(line for line in lines if line.quantity),
        picked=reservation.picked + quantity,
    )
    stock = stock.with_reservation(reservation)
    outputs.append(progressed(stamp, reservation))
    return stock, tuple(outputs)


def progress(
    reservation: Reservation,
    *,
    lines: tuple[Reserved, ...] | None = None,
    picked: int | None = None,
    packed: int | None = None,
    shipped: int | None = None,
) -> Reservation:
    """The reservation with these fields changed: `dataclasses.replace` spelled out, as every
    pick, pack and shipment makes one and `replace` costs three times the constructor."""
    r = reservation
    return Reservation(
        r.order_id,
        r.channel,
        r.priority,
        r.placed_at,
        r.lines if lines is None else lines,
        r.backordered,
        r.picked if picked is None else picked,
        r.packed if packed is None else packed,
        r.shipped if shipped is None else shipped,
    )


def _less(line: Reserved, taken: dict[tuple[str, str], int]) -> Reserved:
    return Reserved(line.location, line.lot, line.quantity - taken[(line.location, line.lot)])


def pack(stock: SkuStock, event: Packed, sku: Sku, catalog: Catalog, stamp: Stamp) -> Result:
    reservation = reservation_of(stock, event.order_id)
    quantity = base_quantity(sku, event.quantity, event.unit)
    if reservation.packed + quantity > reservation.picked:
        raise Rejection(
            RejectionCode.PACK_EXCEEDS_PICK,
            f"order {event.order_id}: {reservation.packed} of {reservation.picked} picked "
            f"{sku.code} already packed; cannot pack {quantity} more",
        )
    reservation = progress(reservation, packed=reservation.packed + quantity)
    return stock.with_reservation(reservation), (progressed(stamp, reservation),)


def ship(stock: SkuStock, event: Shipped, sku: Sku, catalog: Catalog, stamp: Stamp) -> Result:
    reservation = reservation_of(stock, event.order_id)
    quantity = base_quantity(sku, event.quantity, event.unit)
    if reservation.shipped + quantity > reservation.picked:
        raise Rejection(
            RejectionCode.SHIP_EXCEEDS_PICK,
            f"order {event.order_id}: {reservation.shipped} of {reservation.picked} picked "
            f"{sku.code} already shipped; cannot ship {quantity} more",
        )
    reservation = progress(reservation, shipped=reservation.shipped + quantity)
    return stock.with_reservation(reservation), (progressed(stamp, reservation),)
