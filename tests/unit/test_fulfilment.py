"""Pick, pack and ship against what was allocated and picked."""

from __future__ import annotations

from stock_factories import (
    LON_A,
    LON_B,
    cancelled,
    days,
    of_type,
    ordered,
    packed,
    picked,
    received,
    run,
    shipped,
)

from state.buckets import Quantities
from state.catalog import Catalog
from state.outputs import OrderProgressed
from state.rejections import RejectionCode
from state.stock import Reserved

CLOCK = "RETRO-CLOCK"
MILK = "FRESH-MILK"


def code_of(outputs: tuple[object, ...]) -> RejectionCode:
    return outputs[-1].code  # type: ignore[attr-defined,no-any-return]


def test_a_pick_takes_allocated_units_off_hand(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), ordered("ORD-1", (CLOCK, 3)), picked("ORD-1", CLOCK, 2)]
    stock, outputs = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities(available=7, allocated=1)
    assert stock.reservations["ORD-1"].picked == 2
    assert of_type(outputs, OrderProgressed)[-1].picked == 2


def test_a_pick_larger_than_the_allocation_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), ordered("ORD-1", (CLOCK, 3)), picked("ORD-1", CLOCK, 4)]
    stock, outputs = run(catalog, events)

    assert code_of(outputs) == RejectionCode.PICK_EXCEEDS_ALLOCATION
    assert stock.quantities_at(LON_A) == Quantities(available=7, allocated=3)


def test_a_pick_where_the_order_has_nothing_reserved_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), ordered("ORD-1", (CLOCK, 3))]
    _, outputs = run(catalog, [*events, picked("ORD-1", CLOCK, 1, at=LON_B)])

    assert code_of(outputs) == RejectionCode.PICK_EXCEEDS_ALLOCATION


def test_a_pick_for_an_unknown_order_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(CLOCK, 10), picked("ORD-404", CLOCK, 1)])

    assert code_of(outputs) == RejectionCode.UNKNOWN_ORDER


def test_a_pick_without_a_lot_takes_the_orders_earliest_expiring_lot(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="SOON", expiry=days(5)),
        received(MILK, 6, lot="LATE", expiry=days(20)),
        ordered("ORD-1", (MILK, 8)),
        picked("ORD-1", MILK, 7),
    ]
    stock, _ = run(catalog, events)

    assert stock.reservations["ORD-1"].lines == (Reserved(LON_A, "LATE", 1),)


def test_a_pick_naming_a_lot_takes_that_lot(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="SOON", expiry=days(5)),
        received(MILK, 6, lot="LATE", expiry=days(20)),
        ordered("ORD-1", (MILK, 8)),
        picked("ORD-1", MILK, 2, lot="LATE"),
    ]
    stock, _ = run(catalog, events)

    assert stock.reservations["ORD-1"].lines == (Reserved(LON_A, "SOON", 6),)


def test_picking_a_lot_that_expired_since_allocation_is_rejected(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="SOON", expiry=days(2)),
        ordered("ORD-1", (MILK, 2)),
        picked("ORD-1", MILK, 2, lot="SOON", minutes=3 * 24 * 60),
    ]
    _, outputs = run(catalog, events)

    assert code_of(outputs) == RejectionCode.EXPIRED_LOT


def test_an_unnamed_pick_skips_reserved_lots_that_have_expired(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="SOON", expiry=days(2)),
        ordered("ORD-1", (MILK, 2)),
        picked("ORD-1", MILK, 2, minutes=3 * 24 * 60),
    ]
    _, outputs = run(catalog, events)

    assert code_of(outputs) == RejectionCode.PICK_EXCEEDS_ALLOCATION


def test_packing_more_than_was_picked_is_rejected(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        ordered("ORD-1", (CLOCK, 3)),
        picked("ORD-1", CLOCK, 2),
        packed("ORD-1", CLOCK, 2),
        packed("ORD-1", CLOCK, 1),
    ]
    stock, outputs = run(catalog, events)

    assert code_of(outputs) == RejectionCode.PACK_EXCEEDS_PICK
    assert stock.reservations["ORD-1"].packed == 2


def test_shipping_more_than_was_picked_is_rejected(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        ordered("ORD-1", (CLOCK, 3)),
        picked("ORD-1", CLOCK, 2),
        shipped("ORD-1", CLOCK, 3),
    ]
    _, outputs = run(catalog, events)

    assert code_of(outputs) == RejectionCode.SHIP_EXCEEDS_PICK


def test_a_fully_shipped_order_is_forgotten(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        ordered("ORD-1", (CLOCK, 3)),
        picked("ORD-1", CLOCK, 3),
        packed("ORD-1", CLOCK, 3),
        shipped("ORD-1", CLOCK, 3),
    ]
    stock, outputs = run(catalog, events)

    assert stock.reservations == {}
    assert of_type(outputs, OrderProgressed)[-1].shipped == 3
    assert stock.totals() == Quantities(available=7)


def test_picked_units_of_a_cancelled_order_can_still_ship(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        ordered("ORD-1", (CLOCK, 3)),
        picked("ORD-1", CLOCK, 1),
        cancelled("ORD-1", CLOCK),
        shipped("ORD-1", CLOCK, 1),
    ]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities(available=9)
    assert stock.reservations == {}
