"""Allocation: never oversell, FEFO, shortfall policies, channels, kits, and release."""

from __future__ import annotations

from stock_factories import (
    LON_A,
    LON_DOCK,
    MAN_A,
    T0,
    cancelled,
    days,
    of_type,
    ordered,
    received,
    reservation_expired,
    run,
)

from state.allocation import demand_counts, demands_for
from state.apply import apply
from state.buckets import Quantities
from state.catalog import Catalog
from state.events import OrderLine, skus_of
from state.outputs import LineAllocated, Rejected, Released
from state.rejections import RejectionCode
from state.stock import Reserved, SkuStock

CLOCK = "RETRO-CLOCK"
MILK = "FRESH-MILK"
HOSE = "GARDEN-HOSE"


def outcome(outputs: tuple[object, ...]) -> LineAllocated:
    [line] = of_type(outputs, LineAllocated)  # type: ignore[arg-type]
    return line


def test_an_order_allocates_available_stock(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [received(CLOCK, 10), ordered("ORD-1", (CLOCK, 3))])

    assert stock.quantities_at(LON_A) == Quantities(available=7, allocated=3)
    assert outcome(outputs).allocated == 3
    assert stock.reservations["ORD-1"].lines == (Reserved(LON_A, "", 3),)


def test_allocation_never_oversells_and_backorders_the_rest(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [received(CLOCK, 2), ordered("ORD-1", (CLOCK, 5))])

    line = outcome(outputs)
    assert (line.ordered, line.allocated, line.backordered, line.rejected) == (5, 2, 3, 0)
    assert stock.quantities_at(LON_A) == Quantities(allocated=2)
    assert stock.reservations["ORD-1"].backordered == 3


def test_an_order_with_nothing_in_stock_is_all_backordered(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [ordered("ORD-1", (CLOCK, 5))])

    assert outcome(outputs).backordered == 5
    assert stock.reservations["ORD-1"].reserved == 0


def test_a_channel_that_rejects_shortfalls_rejects_the_rest_of_the_line(
    catalog: Catalog,
) -> None:
    events = [received(CLOCK, 2), ordered("ORD-1", (CLOCK, 5), channel="marketplace")]
    stock, outputs = run(catalog, events)

    line = outcome(outputs)
    assert (line.allocated, line.backordered, line.rejected) == (2, 0, 3)
    assert stock.reservations["ORD-1"].backordered == 0


def test_a_lines_own_shortfall_policy_overrides_the_channels(catalog: Catalog) -> None:
    line = OrderLine(sku=CLOCK, quantity=5, shortfall="reject")
    _, outputs = run(catalog, [received(CLOCK, 2), ordered("ORD-1", line, channel="web")])

    assert outcome(outputs).rejected == 3


def test_an_order_with_nothing_allocated_or_backordered_is_not_kept(catalog: Catalog) -> None:
    stock, _ = run(catalog, [ordered("ORD-1", (CLOCK, 5), channel="marketplace")])

    assert "ORD-1" not in stock.reservations


def test_fefo_allocates_the_lot_that_expires_first(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="LATE", expiry=days(20)),
        received(MILK, 6, lot="SOON", expiry=days(5)),
        ordered("ORD-1", (MILK, 8)),
    ]
    _, outputs = run(catalog, events)

    assert outcome(outputs).reservations == (
        Reserved(LON_A, "SOON", 6),
        Reserved(LON_A, "LATE", 2),
    )


def test_lots_without_expiry_are_allocated_after_lots_with_one(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 5, lot="PLAIN"),
        received(CLOCK, 5, lot="DATED", expiry=days(300)),
        ordered("ORD-1", (CLOCK, 5)),
    ]
    _, outputs = run(catalog, events)

    assert outcome(outputs).reservations == (Reserved(LON_A, "DATED", 5),)


def test_an_expired_lot_is_never_allocated(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="OLD", expiry=days(1)),
        received(MILK, 6, lot="NEW", expiry=days(10)),
        ordered("ORD-1", (MILK, 12), minutes=24 * 60),  # a day later: OLD expires today
    ]
    stock, outputs = run(catalog, events)

    assert outcome(outputs).reservations == (Reserved(LON_A, "NEW", 6),)
    assert stock.quantities_at(LON_A, "OLD").available == 6


def test_an_order_asking_for_an_expired_lot_is_rejected(catalog: Catalog) -> None:
    line = OrderLine(sku=MILK, quantity=1, lot="OLD")
    events = [received(MILK, 6, lot="OLD", expiry=days(0)), ordered("ORD-1", line)]
    _, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.EXPIRED_LOT  # type: ignore[union-attr]


def test_an_order_for_a_lot_only_allocates_that_lot(catalog: Catalog) -> None:
    line = OrderLine(sku=MILK, quantity=4, lot="LATE")
    events = [
        received(MILK, 6, lot="SOON", expiry=days(5)),
        received(MILK, 6, lot="LATE", expiry=days(20)),
        ordered("ORD-1", line),
    ]
    _, outputs = run(catalog, events)

    assert outcome(outputs).reservations == (Reserved(LON_A, "LATE", 4),)


def test_allocation_prefers_the_site_named_on_the_line(catalog: Catalog) -> None:
    line = OrderLine(sku=CLOCK, quantity=4, site="MAN")
    events = [received(CLOCK, 5), received(CLOCK, 3, at=MAN_A), ordered("ORD-1", line)]
    _, outputs = run(catalog, events)

    assert outcome(outputs).reservations == (Reserved(MAN_A, "", 3), Reserved(LON_A, "", 1))


def test_an_order_preferring_an_unknown_site_is_rejected(catalog: Catalog) -> None:
    line = OrderLine(sku=CLOCK, quantity=4, site="NYC")
    _, outputs = run(catalog, [ordered("ORD-1", line)])

    assert outputs[-1].code == RejectionCode.UNKNOWN_LOCATION  # type: ignore[union-attr]


def test_stock_in_a_receiving_dock_is_not_allocated(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(CLOCK, 5, at=LON_DOCK), ordered("ORD-1", (CLOCK, 2))])

    assert outcome(outputs).allocated == 0


def test_allocation_keeps_safety_stock_back(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(HOSE, 5), ordered("ORD-1", (HOSE, 5), channel="wholesale")])

    assert outcome(outputs).allocated == 3  # 2 are safety stock at LON


def test_a_lower_priority_channel_cannot_dip_into_a_higher_channels_buffer(
    catalog: Catalog,
) -> None:
    _, outputs = run(catalog, [received(HOSE, 8, at=MAN_A), ordered("ORD-1", (HOSE, 8))])

    assert outcome(outputs).allocated == 3  # wholesale holds 5 of GARDEN-HOSE


def test_the_highest_priority_channel_can_use_its_own_buffer(catalog: Catalog) -> None:
    events = [received(HOSE, 8, at=MAN_A), ordered("ORD-1", (HOSE, 8), channel="wholesale")]
    _, outputs = run(catalog, events)

    assert outcome(outputs).allocated == 8


def test_an_order_on_an_unknown_channel_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [ordered("ORD-1", (CLOCK, 1), channel="fax")])

    assert outputs[-1].code == RejectionCode.UNKNOWN_CHANNEL  # type: ignore[union-attr]


def test_an_order_in_cases_reserves_eaches(catalog: Catalog) -> None:
    line = OrderLine(sku=CLOCK, quantity=1, unit="case")
    _, outputs = run(catalog, [received(CLOCK, 30), ordered("ORD-1", line)])

    assert outcome(outputs).allocated == 12


def test_an_order_only_touches_its_lines_for_this_sku(catalog: Catalog) -> None:
    order = ordered("ORD-1", (CLOCK, 2), ("TEA-MUG", 1))
    stock, outputs = run(catalog, [received(CLOCK, 5), order])

    assert [(o.sku, o.ordered) for o in of_type(outputs, LineAllocated)] == [(CLOCK, 2)]
    assert stock.totals() == Quantities(available=3, allocated=2)
    assert skus_of(order, catalog) == (CLOCK, "TEA-MUG")


def test_two_lines_for_the_same_sku_share_one_reservation(catalog: Catalog) -> None:
    order = ordered("ORD-1", (CLOCK, 2), (CLOCK, 3))
    stock, outputs = run(catalog, [received(CLOCK, 10), order])

    assert len(of_type(outputs, LineAllocated)) == 2
    assert stock.reservations["ORD-1"].lines == (Reserved(LON_A, "", 5),)


def test_a_kit_order_reserves_each_component(catalog: Catalog) -> None:
    order = ordered("ORD-1", ("TEA-SET", 3))
    assert skus_of(order, catalog) == ("TEA-MUG", "TEA-POT")

    mugs, outputs = run(catalog, [received("TEA-MUG", 10), order], sku="TEA-MUG")

    line = outcome(outputs)
    assert (line.ordered_sku, line.ordered, line.allocated) == ("TEA-SET", 6, 6)
    assert mugs.quantities_at(LON_A).allocated == 6


def test_the_same_order_placed_twice_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), ordered("ORD-1", (CLOCK, 1)), ordered("ORD-1", (CLOCK, 1))]
    stock, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.DUPLICATE_ORDER  # type: ignore[union-attr]
    assert stock.quantities_at(LON_A).allocated == 1


def test_cancelling_an_order_releases_its_reservation(catalog: Catalog) -> None:
    events = [received(CLOCK, 3), ordered("ORD-1", (CLOCK, 5)), cancelled("ORD-1", CLOCK)]
    stock, outputs = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities(available=3)
    assert "ORD-1" not in stock.reservations
    [released] = of_type(outputs, Released)
    assert (released.quantity, released.backorder_dropped, released.reason) == (3, 2, "cancelled")


def test_an_expired_reservation_is_released(catalog: Catalog) -> None:
    events = [received(CLOCK, 3), ordered("ORD-1", (CLOCK, 2))]
    stock, outputs = run(catalog, [*events, reservation_expired("ORD-1", CLOCK)])

    assert stock.quantities_at(LON_A) == Quantities(available=3)
    assert of_type(outputs, Released)[0].reason == "expired"


def test_cancelling_an_unknown_order_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [cancelled("ORD-404", CLOCK)])

    assert isinstance(outputs[0], Rejected)
    assert outputs[0].code == RejectionCode.UNKNOWN_ORDER


def test_an_order_line_for_a_kit_that_does_not_contain_this_sku_is_ignored(
    catalog: Catalog,
) -> None:
    order = ordered("ORD-1", ("TEA-SET", 1), (CLOCK, 1))
    stock, outputs = apply(SkuStock.empty(CLOCK), order, catalog)

    assert [o.ordered_sku for o in of_type(outputs, LineAllocated)] == [CLOCK]
    assert stock.reservations["ORD-1"].placed_at == T0


def test_demand_counts_match_the_demands_each_sku_gets_from_an_order(catalog: Catalog) -> None:
    order = ordered("O9", ("RETRO-CLOCK", 1), ("TEA-SET", 2), ("TEA-MUG", 3), ("NO-SUCH", 1))
    counts = demand_counts(order, catalog)
    for code in skus_of(order, catalog):
        sku = catalog.skus.get(code)
        expected = len(demands_for(order, sku, catalog)) if sku is not None else 1
        assert counts[code] == expected
