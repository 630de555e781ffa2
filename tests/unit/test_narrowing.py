"""Each SKU key receives only its part of a multi-SKU document, and applies it exactly as before."""

from __future__ import annotations

from state.apply import apply
from state.events import ReceiptLine, ReceiptPosted, narrowed, parts_by_sku, skus_of
from tests.unit.stock_factories import (
    LON_A,
    cancelled,
    make_catalog,
    meta,
    ordered,
    picked,
    received,
)

CATALOG = make_catalog()


def test_an_order_narrowed_to_a_sku_keeps_its_lines_and_the_kits_that_contain_it() -> None:
    order = ordered("O1", ("RETRO-CLOCK", 1), ("TEA-SET", 2), ("TEA-MUG", 3))
    assert [line.sku for line in narrowed(order, "TEA-MUG", CATALOG).lines] == [
        "TEA-SET",
        "TEA-MUG",
    ]
    assert [line.sku for line in narrowed(order, "RETRO-CLOCK", CATALOG).lines] == ["RETRO-CLOCK"]
    assert narrowed(order, "RETRO-CLOCK", CATALOG).event_id == order.event_id


def test_a_receipt_narrowed_to_a_sku_keeps_only_that_skus_lines() -> None:
    receipt = ReceiptPosted(
        **meta(),
        location=LON_A,
        lines=(ReceiptLine(sku="TEA-MUG", quantity=2), ReceiptLine(sku="TEA-POT", quantity=1)),
    )
    assert [line.sku for line in narrowed(receipt, "TEA-POT", CATALOG).lines] == ["TEA-POT"]


def test_a_cancellation_of_several_skus_is_narrowed_to_one() -> None:
    assert narrowed(cancelled("O1", "TEA-MUG", "TEA-POT"), "TEA-POT", CATALOG).skus == ("TEA-POT",)


def test_an_event_about_one_sku_is_handed_on_unchanged() -> None:
    pick = picked("O1", "TEA-MUG", 1)
    receipt = received("TEA-MUG", 5)
    assert narrowed(pick, "TEA-MUG", CATALOG) is pick
    assert narrowed(receipt, "TEA-MUG", CATALOG) is receipt


def test_applying_the_narrowed_order_gives_the_same_outcome_as_the_whole_order() -> None:
    stock, _ = apply(None, received("TEA-MUG", 10), CATALOG, sku="TEA-MUG")
    order = ordered("O2", ("RETRO-CLOCK", 1), ("TEA-SET", 2), ("TEA-MUG", 3))
    whole = apply(stock, order, CATALOG, sku="TEA-MUG")
    part = apply(stock, narrowed(order, "TEA-MUG", CATALOG), CATALOG, sku="TEA-MUG")
    assert part == whole


def test_splitting_a_document_by_sku_gives_each_key_its_narrowed_part_in_one_pass() -> None:
    order = ordered("O3", ("RETRO-CLOCK", 1), ("TEA-SET", 2), ("TEA-MUG", 3))
    receipt = ReceiptPosted(
        **meta(),
        location=LON_A,
        lines=(ReceiptLine(sku="TEA-MUG", quantity=2), ReceiptLine(sku="TEA-POT", quantity=1)),
    )
    several = cancelled("O1", "TEA-MUG", "TEA-POT")
    for document in (order, receipt, several, picked("O1", "TEA-MUG", 1)):
        parts = parts_by_sku(document, CATALOG)
        assert [sku for sku, _ in parts] == list(skus_of(document, CATALOG))
        for sku, part in parts:
            assert part == narrowed(document, sku, CATALOG)
