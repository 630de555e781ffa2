"""`apply` is total, atomic, idempotent and per SKU."""

from __future__ import annotations

from stock_factories import (
    LON_A,
    meta,
    of_type,
    ordered,
    received,
    run,
)

from state.apply import apply
from state.buckets import Quantities
from state.catalog import Catalog
from state.events import CycleCounted, OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo
from state.outputs import Duplicate, Movement, Rejected, StockChanged
from state.rejections import RejectionCode
from state.stock import SkuStock

CLOCK = "RETRO-CLOCK"


def test_the_same_event_applied_twice_changes_nothing_the_second_time(catalog: Catalog) -> None:
    receipt = received(CLOCK, 10)
    once, _ = apply(None, receipt, catalog)

    twice, outputs = apply(once, receipt, catalog)

    assert twice == once
    assert outputs == (Duplicate(receipt.event_id, CLOCK),)


def test_a_rejected_event_redelivered_is_a_duplicate_not_a_second_verdict(
    catalog: Catalog,
) -> None:
    order = ordered("ORD-1", (CLOCK, 1), channel="fax")
    stock, first = apply(None, order, catalog)

    _, second = apply(stock, order, catalog)

    assert isinstance(first[0], Rejected)
    assert second == (Duplicate(order.event_id, CLOCK),)


def test_the_window_of_remembered_event_ids_keeps_at_least_the_last_window_ids() -> None:
    stock = SkuStock.empty(CLOCK, window=3)
    for event_id in ["a", "b", "c", "d"]:
        stock = stock.remember(event_id)

    assert all(stock.has_seen(event_id) for event_id in ["a", "b", "c", "d"])
    assert len(stock.seen) == 4


def test_the_window_of_remembered_event_ids_is_bounded() -> None:
    stock = SkuStock.empty(CLOCK, window=100)
    for n in range(1000):
        stock = stock.remember(f"e{n}")

    assert all(stock.has_seen(f"e{n}") for n in range(900, 1000))
    assert not stock.has_seen("e0")
    assert 100 <= len(stock.seen) <= 2 * (100 + 64)


def test_an_unknown_sku_is_rejected(catalog: Catalog) -> None:
    stock, outputs = apply(None, received("FLUX-CAPACITOR", 1), catalog)

    assert outputs[0].code == RejectionCode.UNKNOWN_SKU  # type: ignore[union-attr]
    assert stock.sku == "FLUX-CAPACITOR"
    assert stock.positions == {}


def test_a_negative_quantity_that_bypassed_validation_is_rejected_not_applied(
    catalog: Catalog,
) -> None:
    line = ReceiptLine.model_construct(sku=CLOCK, quantity=-5, unit=None, lot=None, expiry=None)
    receipt = ReceiptPosted.model_construct(
        **meta(), type="ReceiptPosted", schema_version=1, location=LON_A, lines=(line,)
    )

    stock, outputs = apply(None, receipt, catalog)

    assert outputs[0].code == RejectionCode.NON_POSITIVE_QUANTITY  # type: ignore[union-attr]
    assert stock.positions == {}


def test_a_negative_count_that_bypassed_validation_is_rejected(catalog: Catalog) -> None:
    count = CycleCounted.model_construct(
        **meta(),
        type="CycleCounted",
        sku=CLOCK,
        location=LON_A,
        lot=None,
        quantity=-1,
        unit=None,
        expiry=None,
    )

    _, outputs = apply(None, count, catalog)

    assert outputs[0].code == RejectionCode.NON_POSITIVE_QUANTITY  # type: ignore[union-attr]


def test_a_rejection_part_way_through_an_event_leaves_no_trace(catalog: Catalog) -> None:
    good = ReceiptLine(sku=CLOCK, quantity=5)
    bad = ReceiptLine(sku=CLOCK, quantity=1, unit="crate")
    receipt = ReceiptPosted(**meta(), location=LON_A, lines=(good, bad))

    stock, outputs = apply(None, receipt, catalog)

    assert [type(o) for o in outputs] == [Rejected]
    assert stock.positions == {}


def test_stock_of_a_kit_is_rejected(catalog: Catalog) -> None:
    _, outputs = apply(None, received("TEA-SET", 1), catalog)

    assert outputs[0].code == RejectionCode.KIT_NOT_STOCKED  # type: ignore[union-attr]


def test_an_event_about_another_sku_is_rejected(catalog: Catalog) -> None:
    stock, outputs = apply(SkuStock.empty("TEA-MUG"), received(CLOCK, 1), catalog)

    assert outputs[0].code == RejectionCode.UNRESOLVED_SKU  # type: ignore[union-attr]
    assert stock.positions == {}


def test_a_multi_sku_event_without_a_state_or_a_key_cannot_be_placed(catalog: Catalog) -> None:
    order = ordered("ORD-1", (CLOCK, 1), ("TEA-MUG", 1))

    stock, outputs = apply(None, order, catalog)

    assert outputs[0].code == RejectionCode.UNRESOLVED_SKU  # type: ignore[union-attr]
    assert stock.sku == ""


def test_the_key_given_by_the_dataflow_starts_the_state(catalog: Catalog) -> None:
    order = OrderPlaced(
        **meta(),
        order_id="ORD-1",
        channel="web",
        ship_to=ShipTo(region="GB-LND", postal_code="EC1A 1BB"),
        lines=(OrderLine(sku=CLOCK, quantity=1), OrderLine(sku="TEA-MUG", quantity=1)),
    )

    stock, _ = apply(None, order, catalog, sku="TEA-MUG")

    assert stock.sku == "TEA-MUG"
    assert stock.reservations["ORD-1"].backordered == 1


def test_an_applied_change_ends_with_a_stock_changed_snapshot(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [received(CLOCK, 10), ordered("ORD-1", (CLOCK, 4))])

    snapshot = outputs[-1]
    assert isinstance(snapshot, StockChanged)
    assert snapshot.totals == Quantities(available=6, allocated=4) == stock.totals()
    assert snapshot.network_atp == 6


def test_every_movement_says_what_changed_where_and_what_is_left(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(CLOCK, 10), ordered("ORD-1", (CLOCK, 4))])

    last = of_type(outputs, Movement)[-1]
    assert (last.kind, last.location, last.order_id) == ("OrderPlaced", LON_A, "ORD-1")
    assert last.deltas == Quantities(available=-4, allocated=4)
    assert last.resulting == Quantities(available=6, allocated=4)
