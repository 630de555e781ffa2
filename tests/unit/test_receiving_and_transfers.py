"""Receipts, purchase orders and ASNs, put-away, and transfers between sites."""

from __future__ import annotations

from stock_factories import (
    LON_A,
    LON_B,
    LON_DOCK,
    MAN_A,
    asn_received,
    days,
    meta,
    po_placed,
    put_away,
    received,
    run,
    transfer_received,
    transfer_shipped,
)

from state.buckets import Quantities
from state.catalog import Catalog
from state.events import ReceiptLine, ReceiptPosted
from state.outputs import Movement, Rejected
from state.rejections import RejectionCode

CLOCK = "RETRO-CLOCK"
MILK = "FRESH-MILK"


def rejection(outputs: tuple[object, ...]) -> RejectionCode:
    [refused] = outputs
    assert isinstance(refused, Rejected)
    return refused.code


def test_a_receipt_makes_units_available_at_the_receiving_bin(catalog: Catalog) -> None:
    stock, _ = run(catalog, [received(CLOCK, 10)])

    assert stock.quantities_at(LON_A) == Quantities(available=10)


def test_a_receipt_applies_only_its_lines_for_this_sku(catalog: Catalog) -> None:
    receipt = ReceiptPosted(
        **meta(),
        location=LON_A,
        lines=(ReceiptLine(sku="TEA-MUG", quantity=4), ReceiptLine(sku=CLOCK, quantity=2)),
    )
    stock, _ = run(catalog, [receipt], sku=CLOCK)

    assert stock.totals() == Quantities(available=2)


def test_a_receipt_in_cases_is_stored_in_eaches(catalog: Catalog) -> None:
    stock, _ = run(catalog, [received(CLOCK, 2, unit="case")])

    assert stock.quantities_at(LON_A).available == 24


def test_a_unit_without_a_conversion_is_rejected(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [received(CLOCK, 2, unit="crate")])

    assert rejection(outputs) == RejectionCode.UNKNOWN_UNIT
    assert stock.positions == {}


def test_a_receipt_at_an_unknown_location_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(CLOCK, 2, at="NYC/A/01/01/1/A")])

    assert rejection(outputs) == RejectionCode.UNKNOWN_LOCATION


def test_a_receipt_reduces_what_is_on_order_for_its_purchase_order(catalog: Catalog) -> None:
    stock, _ = run(catalog, [po_placed("PO-1", CLOCK, 50), received(CLOCK, 20, po="PO-1")])

    assert stock.totals().on_order == 30
    assert stock.on_order_at("LON") == 30


def test_receiving_more_than_ordered_closes_the_purchase_order(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [po_placed("PO-1", CLOCK, 5), received(CLOCK, 8, po="PO-1")])

    assert stock.totals() == Quantities(available=8)
    assert [m.deltas.on_order for m in outputs if isinstance(m, Movement)] == [5, 0, -5]


def test_a_blind_receipt_leaves_on_order_alone(catalog: Catalog) -> None:
    stock, _ = run(catalog, [po_placed("PO-1", CLOCK, 5), received(CLOCK, 3, po="PO-9")])

    assert stock.totals().on_order == 5


def test_an_asn_takes_over_the_purchase_orders_expectation(catalog: Catalog) -> None:
    events = [po_placed("PO-1", CLOCK, 50), asn_received("ASN-1", CLOCK, 30, po="PO-1")]
    stock, _ = run(catalog, events)

    assert stock.totals().on_order == 50
    assert stock.inbound[("purchase_order", "PO-1")].quantity == 20
    assert stock.inbound[("asn", "ASN-1")].quantity == 30


def test_an_asn_for_more_than_ordered_adds_the_difference(catalog: Catalog) -> None:
    events = [po_placed("PO-1", CLOCK, 10), asn_received("ASN-1", CLOCK, 12, po="PO-1")]
    stock, _ = run(catalog, events)

    assert stock.totals().on_order == 12
    assert ("purchase_order", "PO-1") not in stock.inbound


def test_a_receipt_draws_on_the_asn_first_then_the_purchase_order(catalog: Catalog) -> None:
    events = [
        po_placed("PO-1", CLOCK, 50),
        asn_received("ASN-1", CLOCK, 30, po="PO-1"),
        received(CLOCK, 35, po="PO-1", asn="ASN-1"),
    ]
    stock, _ = run(catalog, events)

    assert ("asn", "ASN-1") not in stock.inbound
    assert stock.inbound[("purchase_order", "PO-1")].quantity == 15


def test_an_asn_without_a_purchase_order_is_on_order(catalog: Catalog) -> None:
    stock, _ = run(catalog, [asn_received("ASN-1", CLOCK, 7, site="MAN")])

    assert stock.on_order_at("MAN") == 7


def test_an_asn_teaches_the_expiry_of_its_lots(catalog: Catalog) -> None:
    stock, _ = run(catalog, [asn_received("ASN-1", MILK, 6, lot="L1", expiry=days(9))])

    assert stock.expiry("L1") == days(9)


def test_the_same_purchase_order_placed_twice_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [po_placed("PO-1", CLOCK, 5), po_placed("PO-1", CLOCK, 5)])

    assert outputs[-1].code == RejectionCode.DUPLICATE_DOCUMENT  # type: ignore[union-attr]


def test_a_purchase_order_for_an_unknown_site_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [po_placed("PO-1", CLOCK, 5, site="NYC")])

    assert rejection(outputs) == RejectionCode.UNKNOWN_LOCATION


def test_a_lot_tracked_sku_cannot_be_received_without_a_lot(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(MILK, 6)])

    assert rejection(outputs) == RejectionCode.LOT_REQUIRED


def test_a_new_lot_of_an_expiry_tracked_sku_needs_its_expiry(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(MILK, 6, lot="L1")])

    assert rejection(outputs) == RejectionCode.EXPIRY_REQUIRED


def test_a_lot_cannot_change_its_expiry(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="L1", expiry=days(5)),
        received(MILK, 6, lot="L1", expiry=days(6)),
    ]
    stock, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.LOT_EXPIRY_CONFLICT  # type: ignore[union-attr]
    assert stock.quantities_at(LON_A, "L1").available == 6


def test_a_known_lot_can_be_received_again_without_restating_its_expiry(
    catalog: Catalog,
) -> None:
    events = [
        received(MILK, 6, lot="L1", expiry=days(5)),
        received(MILK, 1, unit="crate", lot="L1"),
    ]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A, "L1").available == 12


def test_put_away_moves_available_units_from_the_dock_to_a_bin(catalog: Catalog) -> None:
    events = [received(CLOCK, 10, at=LON_DOCK), put_away(CLOCK, 4, src=LON_DOCK, dst=LON_B)]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_DOCK).available == 6
    assert stock.quantities_at(LON_B).available == 4


def test_put_away_across_sites_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), put_away(CLOCK, 4, src=LON_A, dst=MAN_A)]
    _, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.WRONG_SITE  # type: ignore[union-attr]


def test_put_away_of_more_than_is_available_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 3), put_away(CLOCK, 4, src=LON_A, dst=LON_B)]
    stock, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.INSUFFICIENT_STOCK  # type: ignore[union-attr]
    assert stock.quantities_at(LON_B) == Quantities()


def test_a_transfer_is_in_transit_until_received(catalog: Catalog) -> None:
    stock, _ = run(catalog, [received(CLOCK, 10), transfer_shipped("TR-1", CLOCK, 4)])
    assert stock.totals() == Quantities(available=6, in_transit=4)

    stock, _ = run(catalog, [transfer_received("TR-1", CLOCK, 4)], stock)
    assert stock.totals() == Quantities(available=10)
    assert stock.quantities_at(MAN_A).available == 4
    assert stock.in_transit == {}


def test_a_partly_received_transfer_stays_in_transit_for_the_rest(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        transfer_shipped("TR-1", CLOCK, 4),
        transfer_shipped("TR-1", CLOCK, 2),
        transfer_received("TR-1", CLOCK, 5),
    ]
    stock, _ = run(catalog, events)

    assert stock.in_transit_to("MAN", "") == 1


def test_closing_a_short_transfer_writes_off_what_never_arrived(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        transfer_shipped("TR-1", CLOCK, 4),
        transfer_received("TR-1", CLOCK, 3, closes=True),
    ]
    stock, _ = run(catalog, events)

    assert stock.totals() == Quantities(available=9)


def test_a_transfer_closed_with_nothing_received_writes_it_all_off(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        transfer_shipped("TR-1", CLOCK, 4),
        transfer_received("TR-1", CLOCK, 0, closes=True),
    ]
    stock, _ = run(catalog, events)

    assert stock.totals() == Quantities(available=6)


def test_receiving_more_than_was_shipped_on_a_transfer_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), transfer_shipped("TR-1", CLOCK, 4)]
    _, outputs = run(catalog, [*events, transfer_received("TR-1", CLOCK, 5)])

    assert outputs[-1].code == RejectionCode.RECEIPT_EXCEEDS_TRANSFER  # type: ignore[union-attr]


def test_a_transfer_received_at_the_wrong_site_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), transfer_shipped("TR-1", CLOCK, 4)]
    _, outputs = run(catalog, [*events, transfer_received("TR-1", CLOCK, 4, at=LON_B)])

    assert outputs[-1].code == RejectionCode.WRONG_SITE  # type: ignore[union-attr]


def test_an_unknown_transfer_cannot_be_received(catalog: Catalog) -> None:
    _, outputs = run(catalog, [transfer_received("TR-404", CLOCK, 1)])

    assert rejection(outputs) == RejectionCode.UNKNOWN_TRANSFER


def test_a_transfer_within_one_site_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), transfer_shipped("TR-1", CLOCK, 4, to_site="LON")]
    _, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.SAME_SITE_TRANSFER  # type: ignore[union-attr]


def test_one_transfer_cannot_change_its_route(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        received(CLOCK, 10, at=MAN_A),
        transfer_shipped("TR-1", CLOCK, 4),
        transfer_shipped("TR-1", CLOCK, 4, src=MAN_A, to_site="LON"),
    ]
    _, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.WRONG_SITE  # type: ignore[union-attr]
