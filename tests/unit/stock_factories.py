"""Builders for the unit tests: one small catalog and terse event constructors.

Every event gets a fresh id; `minutes` places it on a timeline starting at `T0`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from state.apply import apply
from state.catalog import Catalog, Channel, KitComponent, Sku
from state.events import (
    AsnLine,
    AsnReceived,
    CycleCounted,
    Event,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Packed,
    Picked,
    PurchaseOrderLine,
    PurchaseOrderPlaced,
    PutAway,
    ReceiptLine,
    ReceiptPosted,
    ReservationExpired,
    Shipped,
    ShipTo,
    StatusChanged,
    StockAdjusted,
    TransferReceived,
    TransferShipped,
)
from state.outputs import Output
from state.stock import SkuStock
from state.units import UnitsOfMeasure

T = TypeVar("T")

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TODAY = T0.date()

LON_A = "LON/A/01/01/1/A"
LON_B = "LON/A/01/01/1/B"
LON_DOCK = "LON/RECV/00/00/0/DOCK"
MAN_A = "MAN/A/01/01/1/A"
MAN_DOCK = "MAN/RECV/00/00/0/DOCK"

CLOCK_GTIN = "09506000134352"
CLOCK_CASE_GTIN = "19506000134359"
WATCH_GTIN = "09506000134369"

_ids = itertools.count(1)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def make_catalog() -> Catalog:
    return Catalog.build(
        skus=[
            Sku(
                "RETRO-CLOCK",
                units=UnitsOfMeasure("each", {"case": 12, "pallet": 480}),
                gtins={CLOCK_GTIN: "each", CLOCK_CASE_GTIN: "case"},
            ),
            Sku(
                "FRESH-MILK",
                tracks_lot=True,
                tracks_expiry=True,
                units=UnitsOfMeasure("each", {"crate": 6}),
            ),
            Sku("GARDEN-HOSE", safety_stock={"LON": 2}, channel_buffers={"wholesale": 5}),
            Sku("SMART-WATCH", tracks_serial=True, gtins={WATCH_GTIN: "each"}),
            Sku("TEA-MUG"),
            Sku("TEA-POT"),
            Sku("TEA-SET", components=(KitComponent("TEA-MUG", 2), KitComponent("TEA-POT", 1))),
        ],
        locations=[LON_A, LON_B, LON_DOCK, MAN_A, MAN_DOCK],
        channels=[
            Channel("wholesale", priority=1, buffer=0),
            Channel("web", priority=2, buffer=0),
            Channel("marketplace", priority=3, buffer=0, shortfall="reject"),
        ],
        non_sellable_zones=["LON/RECV", "MAN/RECV"],
    )


def meta(minutes: float = 0, event_id: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id or f"ev-{next(_ids)}",
        "occurred_at": T0 + timedelta(minutes=minutes),
        "source": "unit-test",
    }


def received(
    sku: str,
    quantity: int,
    *,
    at: str = LON_A,
    lot: str | None = None,
    expiry: date | None = None,
    unit: str | None = None,
    po: str | None = None,
    asn: str | None = None,
    minutes: float = 0,
) -> ReceiptPosted:
    line = ReceiptLine(sku=sku, quantity=quantity, unit=unit, lot=lot, expiry=expiry)
    return ReceiptPosted(
        **meta(minutes), location=at, purchase_order_id=po, asn_id=asn, lines=(line,)
    )


def ordered(
    order_id: str,
    *lines: tuple[str, int] | OrderLine,
    channel: str = "web",
    priority: int = 0,
    minutes: float = 0,
) -> OrderPlaced:
    built = tuple(
        line if isinstance(line, OrderLine) else OrderLine(sku=line[0], quantity=line[1])
        for line in lines
    )
    return OrderPlaced(
        **meta(minutes),
        order_id=order_id,
        channel=channel,
        priority=priority,
        ship_to=ShipTo(region="GB-LND", postal_code="EC1A 1BB"),
        lines=built,
    )


def picked(
    order_id: str,
    sku: str,
    quantity: int,
    *,
    at: str = LON_A,
    lot: str | None = None,
    minutes: float = 0,
) -> Picked:
    return Picked(
        **meta(minutes), order_id=order_id, sku=sku, quantity=quantity, location=at, lot=lot
    )


def packed(order_id: str, sku: str, quantity: int, *, minutes: float = 0) -> Packed:
    return Packed(**meta(minutes), order_id=order_id, sku=sku, quantity=quantity)


def shipped(order_id: str, sku: str, quantity: int, *, minutes: float = 0) -> Shipped:
    return Shipped(**meta(minutes), order_id=order_id, sku=sku, quantity=quantity)


def cancelled(order_id: str, *skus: str, minutes: float = 0) -> OrderCancelled:
    return OrderCancelled(**meta(minutes), order_id=order_id, skus=skus)


def reservation_expired(order_id: str, sku: str, *, minutes: float = 0) -> ReservationExpired:
    return ReservationExpired(**meta(minutes), order_id=order_id, sku=sku)


def put_away(
    sku: str, quantity: int, *, src: str, dst: str, lot: str | None = None, minutes: float = 0
) -> PutAway:
    return PutAway(
        **meta(minutes), sku=sku, quantity=quantity, lot=lot, from_location=src, to_location=dst
    )


def adjusted(
    sku: str,
    quantity: int,
    reason: str,
    *,
    at: str = LON_A,
    lot: str | None = None,
    bucket: str = "available",
    expiry: date | None = None,
    minutes: float = 0,
) -> StockAdjusted:
    return StockAdjusted.model_validate(
        {
            **meta(minutes),
            "sku": sku,
            "quantity": quantity,
            "location": at,
            "lot": lot,
            "reason": reason,
            "bucket": bucket,
            "expiry": expiry,
        }
    )


def status_changed(
    sku: str,
    quantity: int,
    status: str,
    *,
    at: str = LON_A,
    lot: str | None = None,
    release_from: str = "on_hold",
    minutes: float = 0,
) -> StatusChanged:
    return StatusChanged.model_validate(
        {
            **meta(minutes),
            "sku": sku,
            "quantity": quantity,
            "location": at,
            "lot": lot,
            "status": status,
            "release_from": release_from,
        }
    )


def counted(
    sku: str,
    quantity: int,
    *,
    at: str = LON_A,
    lot: str | None = None,
    expiry: date | None = None,
    minutes: float = 0,
) -> CycleCounted:
    return CycleCounted(
        **meta(minutes), sku=sku, location=at, lot=lot, quantity=quantity, expiry=expiry
    )


def transfer_shipped(
    transfer_id: str,
    sku: str,
    quantity: int,
    *,
    src: str = LON_A,
    to_site: str = "MAN",
    lot: str | None = None,
    minutes: float = 0,
) -> TransferShipped:
    return TransferShipped(
        **meta(minutes),
        transfer_id=transfer_id,
        sku=sku,
        quantity=quantity,
        lot=lot,
        from_location=src,
        to_site=to_site,
    )


def transfer_received(
    transfer_id: str,
    sku: str,
    quantity: int,
    *,
    at: str = MAN_A,
    lot: str | None = None,
    closes: bool = False,
    minutes: float = 0,
) -> TransferReceived:
    return TransferReceived(
        **meta(minutes),
        transfer_id=transfer_id,
        sku=sku,
        quantity=quantity,
        lot=lot,
        to_location=at,
        closes_transfer=closes,
    )


def po_placed(
    po: str, sku: str, quantity: int, *, site: str = "LON", minutes: float = 0
) -> PurchaseOrderPlaced:
    return PurchaseOrderPlaced(
        **meta(minutes),
        purchase_order_id=po,
        supplier="ACME",
        site=site,
        expected_date=days(7),
        lines=(PurchaseOrderLine(sku=sku, quantity=quantity),),
    )


def asn_received(
    asn: str,
    sku: str,
    quantity: int,
    *,
    po: str | None = None,
    site: str = "LON",
    lot: str | None = None,
    expiry: date | None = None,
    minutes: float = 0,
) -> AsnReceived:
    return AsnReceived(
        **meta(minutes),
        asn_id=asn,
        purchase_order_id=po,
        supplier="ACME",
        site=site,
        expected_date=days(3),
        lines=(AsnLine(sku=sku, quantity=quantity, lot=lot, expiry=expiry),),
    )


def run(
    catalog: Catalog, events: Iterable[Event], state: SkuStock | None = None, sku: str | None = None
) -> tuple[SkuStock, tuple[Output, ...]]:
    """Folds events through `apply`; returns the last state and all outputs in order."""
    outputs: list[Output] = []
    stock = state
    for event in events:
        stock, emitted = apply(stock, event, catalog, sku=sku)
        outputs.extend(emitted)
    assert stock is not None
    return stock, tuple(outputs)


def of_type(outputs: Iterable[Output], kind: type[T]) -> list[T]:
    return [o for o in outputs if isinstance(o, kind)]
