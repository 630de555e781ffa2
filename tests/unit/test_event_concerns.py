"""`concerns(event, sku)`, what `apply` asks of every event, agrees with `skus_of` everywhere."""

from __future__ import annotations

import pytest
from stock_factories import (
    CLOCK_GTIN,
    LON_A,
    asn_received,
    cancelled,
    meta,
    ordered,
    picked,
    po_placed,
    received,
)

from state.catalog import Catalog
from state.events import Event, ItemScanned, concerns, skus_of

CLOCK = "RETRO-CLOCK"
EVENTS = [
    received(CLOCK, 1),
    picked("O", CLOCK, 1),
    po_placed("PO", CLOCK, 1),
    asn_received("ASN", CLOCK, 1),
    ordered("O", (CLOCK, 1), ("TEA-MUG", 2)),
    ordered("O", ("TEA-SET", 1)),
    cancelled("O", "TEA-SET", CLOCK),
    cancelled("O", "NOT-IN-CATALOG"),
    ItemScanned(**meta(), barcode=f"(01){CLOCK_GTIN}(10)LOT9", location=LON_A, device="RF-GUN-7"),
    ItemScanned(**meta(), barcode="(01)00000000000000", location=LON_A, device="RF-GUN-7"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e.type}-{e.event_id}")
def test_an_event_concerns_exactly_the_skus_it_is_keyed_by(catalog: Catalog, event: Event) -> None:
    keyed = skus_of(event, catalog)
    for sku in (*catalog.skus, "NOT-IN-CATALOG"):
        assert concerns(event, sku, catalog) == (sku in keyed), sku


def test_an_ordered_kit_concerns_its_components_not_itself(catalog: Catalog) -> None:
    kit_order = ordered("O", ("TEA-SET", 1))
    assert concerns(kit_order, "TEA-MUG", catalog)
    assert not concerns(kit_order, "TEA-SET", catalog)
