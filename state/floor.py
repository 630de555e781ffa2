"""Rules for the warehouse floor: receipts, put-away, transfers, adjustments, holds, counts, scans.

Each rule is `rule(stock, event, sku, catalog, stamp) -> (stock, outputs)`, in base units:

- ReceiptPosted: + available at the receiving bin (a non-sellable zone keeps it out of ATP until
  put away); on_order − min(received, still expected) on the ASN first, then the purchase order.
  A receipt against no known document is a blind receipt: accepted, on_order unchanged.
- PutAway: available − q at the source bin, + q at the destination bin, within one site.
- TransferShipped: available − q at the source bin, in_transit + q towards another site.
- TransferReceived: in_transit − q, available + q at a bin of the destination site (q ≤ still in
  transit); `closes_transfer` writes off what is still in transit (lost on the way).
- StockAdjusted: found / returned add q to a bucket (available unless named); lost, stolen,
  damaged, expired, scrapped and consumed remove q from it. Allocated stock is not adjustable:
  it belongs to orders (a count shorts reservations when stock is missing).
- StatusChanged: hold / quarantine / damaged move q from available to on_hold / quarantined /
  damaged; release moves q back to available from the named bucket (on_hold by default).
- CycleCounted: see `state.counting`.
- ItemScanned / RfidObserved: observations (`Sighted`); they move no stock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from state.buckets import Quantities
from state.catalog import Catalog, Sku
from state.checks import base_quantity, learn_lot, location_path, lot_key
from state.counting import record_count
from state.events import (
    INCREASING_REASONS,
    CycleCounted,
    ItemScanned,
    PutAway,
    ReceiptPosted,
    RfidObserved,
    StatusChanged,
    StockAdjusted,
    TransferReceived,
    TransferShipped,
)
from state.gs1 import decode_barcode, decode_sgtin96
from state.outputs import Output, RepeatedRead, Sighted
from state.positions import Stamp, move, site_movement
from state.rejections import Rejection, RejectionCode
from state.stock import InboundKind, InTransit, SkuStock

REPEAT_READ_SECONDS = 10
REPEAT_READ = timedelta(seconds=REPEAT_READ_SECONDS)

Result = tuple[SkuStock, tuple[Output, ...]]


def _draw_inbound(
    stock: SkuStock, kind: InboundKind, document: str | None, quantity: int, stamp: Stamp
) -> tuple[SkuStock, int, tuple[Output, ...]]:
    """Takes up to `quantity` off the on_order of one document; returns what is left to take."""
    entry = None if document is None else stock.inbound.get((kind, document))
    if entry is None or quantity == 0:
        return stock, quantity, ()
    taken = min(quantity, entry.quantity)
    rest = {k: v for k, v in stock.inbound.items() if k != (kind, entry.document_id)}
    if entry.quantity > taken:
        rest[(kind, entry.document_id)] = replace(entry, quantity=entry.quantity - taken)
    stock = replace(stock, inbound=rest)
    movement = site_movement(
        stock,
        stamp,
        site=entry.site,
        lot="",
        delta=Quantities(on_order=-taken),
        reference=entry.document_id,
    )
    return stock, quantity - taken, (movement,)


def receive(
    stock: SkuStock, event: ReceiptPosted, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    path = location_path(catalog, event.location)
    outputs: list[Output] = []
    for line in event.lines:
        if line.sku != sku.code:
            continue
        quantity = base_quantity(sku, line.quantity, line.unit)
        lot = lot_key(sku, line.lot)
        stock = learn_lot(stock, sku, lot, line.expiry)
        reference = event.asn_id or event.purchase_order_id
        stock, moved = move(
            stock, (path, lot), Quantities(available=quantity), stamp, reference=reference
        )
        outputs.extend(moved)
        stock, left, drawn = _draw_inbound(stock, "asn", event.asn_id, quantity, stamp)
        outputs.extend(drawn)
        stock, _, drawn = _draw_inbound(
            stock, "purchase_order", event.purchase_order_id, left, stamp
        )
        outputs.extend(drawn)
    return stock, tuple(outputs)


def put_away(stock: SkuStock, event: PutAway, sku: Sku, catalog: Catalog, stamp: Stamp) -> Result:
    source, target = catalog.location(event.from_location), catalog.location(event.to_location)
    if source.site != target.site:
        raise Rejection(
            RejectionCode.WRONG_SITE,
            f"{source} and {target} are in different sites: that is a transfer",
        )
    quantity = base_quantity(sku, event.quantity, event.unit)
    lot = lot_key(sku, event.lot)
    stock, taken = move(stock, (source.path, lot), Quantities(available=-quantity), stamp)
    stock, put = move(stock, (target.path, lot), Quantities(available=quantity), stamp)
    return stock, (*taken, *put)


def ship_transfer(
    stock: SkuStock, event: TransferShipped, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    source = catalog.location(event.from_location)
    to_site = catalog.require_site(event.to_site)
    if source.site == to_site:
        raise Rejection(
            RejectionCode.SAME_SITE_TRANSFER, f"{source} is already at {to_site}: put it away"
        )
    quantity = base_quantity(sku, event.quantity, event.unit)
    lot = lot_key(sku, event.lot)
    key = (event.transfer_id, lot)
    existing = stock.in_transit.get(key)
    if existing is not None and (existing.to_site, existing.from_site) != (to_site, source.site):
        raise Rejection(
            RejectionCode.WRONG_SITE,
            f"transfer {event.transfer_id} goes {existing.from_site} → {existing.to_site}",
        )
    stock, taken = move(
        stock,
        (source.path, lot),
        Quantities(available=-quantity),
        stamp,
        reference=event.transfer_id,
    )
    already = 0 if existing is None else existing.quantity
    entry = InTransit(event.transfer_id, lot, source.site, to_site, already + quantity)
    stock = replace(stock, in_transit={**stock.in_transit, key: entry})
    movement = site_movement(
        stock,
        stamp,
        site=to_site,
        lot=lot,
        delta=Quantities(in_transit=quantity),
        reference=event.transfer_id,
    )
    return stock, (*taken, movement)


def receive_transfer(
    stock: SkuStock, event: TransferReceived, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    lot = lot_key(sku, event.lot)
    entry = stock.in_transit.get((event.transfer_id, lot))
    if entry is None:
        raise Rejection(
            RejectionCode.UNKNOWN_TRANSFER,
            f"nothing of {sku.code} lot {lot or '-'} is in transit on {event.transfer_id}",
        )
    target = catalog.location(event.to_location)
    if target.site != entry.to_site:
        raise Rejection(RejectionCode.WRONG_SITE, f"{event.transfer_id} goes to {entry.to_site}")
    quantity = base_quantity(sku, event.quantity, event.unit, allow_zero=event.closes_transfer)
    if quantity > entry.quantity:
        raise Rejection(
            RejectionCode.RECEIPT_EXCEEDS_TRANSFER,
            f"{event.transfer_id}: {quantity} received, {entry.quantity} in transit",
        )
    outputs: list[Output] = []
    if quantity:
        stock, put = move(
            stock,
            (target.path, lot),
            Quantities(available=quantity),
            stamp,
            reference=event.transfer_id,
        )
        outputs.extend(put)
    cleared = entry.quantity if event.closes_transfer else quantity
    rest = {k: v for k, v in stock.in_transit.items() if k != (event.transfer_id, lot)}
    if entry.quantity > cleared:
        rest[(event.transfer_id, lot)] = replace(entry, quantity=entry.quantity - cleared)
    stock = replace(stock, in_transit=rest)
    movement = site_movement(
        stock,
        stamp,
        site=entry.to_site,
        lot=lot,
        delta=Quantities(in_transit=-cleared),
        reference=event.transfer_id,
    )
    return stock, (*outputs, movement)


def adjust(
    stock: SkuStock, event: StockAdjusted, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    path = location_path(catalog, event.location)
    quantity = base_quantity(sku, event.quantity, event.unit)
    lot = lot_key(sku, event.lot)
    sign = 1 if event.reason in INCREASING_REASONS else -1
    if sign > 0:
        stock = learn_lot(stock, sku, lot, event.expiry)
    delta = Quantities.of(**{event.bucket: sign * quantity})
    return move(stock, (path, lot), delta, stamp)


def change_status(
    stock: SkuStock, event: StatusChanged, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    path = location_path(catalog, event.location)
    quantity = base_quantity(sku, event.quantity, event.unit)
    lot = lot_key(sku, event.lot)
    bucket = {"hold": "on_hold", "quarantine": "quarantined", "damaged": "damaged"}.get(
        event.status
    )
    if bucket is None:  # release
        delta = Quantities.of(available=quantity, **{event.release_from: -quantity})
    else:
        delta = Quantities.of(available=-quantity, **{bucket: quantity})
    return move(stock, (path, lot), delta, stamp)


def count(stock: SkuStock, event: CycleCounted, sku: Sku, catalog: Catalog, stamp: Stamp) -> Result:
    path = location_path(catalog, event.location)
    counted = base_quantity(sku, event.quantity, event.unit, allow_zero=True)
    lot = lot_key(sku, event.lot)
    stock = learn_lot(stock, sku, lot, event.expiry)
    return record_count(stock, (path, lot), counted, stamp)


def scanned(
    stock: SkuStock, event: ItemScanned, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    scan = decode_barcode(event.barcode, reference_year=event.occurred_at.year)
    _, unit = catalog.sku_for_gtin(scan.gtin)  # `apply` checked that the GTIN is this SKU's
    if sku.tracks_serial and scan.serial is None:
        raise Rejection(RejectionCode.SERIAL_REQUIRED, f"{sku.code} is serialised: scan AI 21")
    sighted = Sighted(
        event_id=stamp.event_id,
        sku=sku.code,
        location=location_path(catalog, event.location),
        quantity=scan.count * sku.units.factor(unit),
        device=event.device,
        lot=scan.lot,
        expiry=scan.expiry,
        serial=scan.serial,
    )
    return stock, (sighted,)


def observed(
    stock: SkuStock, event: RfidObserved, sku: Sku, catalog: Catalog, stamp: Stamp
) -> Result:
    """A tag read: a sighting, unless the tag was read in the same zone within the repeat window.

    Repeats are de-duplicated per EPC: a read at time t in zone z repeats the last sighting
    (z', t') iff z = z' and 0 <= t - t' < REPEAT_READ_SECONDS. Reads older than the window are
    forgotten, so the state holds only tags read in the last few seconds.
    """
    gtin, serial = decode_sgtin96(event.epc)
    _, unit = catalog.sku_for_gtin(gtin)  # `apply` checked that the GTIN is this SKU's
    zone = catalog.require_zone(event.zone)
    now = event.occurred_at
    recent = {
        epc: (where, when)
        for epc, (where, when) in stock.tag_reads.items()
        if now - when < REPEAT_READ
    }
    last = recent.get(event.epc)
    if last is not None and last[0] == zone and last[1] <= now:
        repeat = RepeatedRead(stamp.event_id, sku.code, event.epc, zone, last[1])
        return replace(stock, tag_reads=recent), (repeat,)
    sighted = Sighted(
        event_id=stamp.event_id,
        sku=sku.code,
        location=zone,
        quantity=sku.units.factor(unit),
        device=event.reader,
        serial=serial,
    )
    return replace(stock, tag_reads={**recent, event.epc: (zone, now)}), (sighted,)
