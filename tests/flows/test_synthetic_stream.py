"""The synthetic stream over N SKU-locations: deterministic, valid, and covering when asked."""

from __future__ import annotations

from collections import Counter

from bytewax.testing import TestingSink, run_main

from connectors.inprocess import events_source
from connectors.replay.online_retail import pick_bin
from connectors.replay.synthetic import build_catalog, sku_code, synthetic
from dataflows.inventory import InventorySinks, build_inventory_flow
from state.events import PutAway
from state.ledger import LedgerEntry
from state.outputs import Rejected


def test_the_same_seed_gives_the_same_events_with_unique_ids() -> None:
    first = list(synthetic(800, 2000, seed=3))
    assert first == list(synthetic(800, 2000, seed=3))
    assert first != list(synthetic(800, 2000, seed=4))
    assert len({event.event_id for event in first}) == len(first) == 2000


def test_the_mix_has_orders_picks_receipts_and_counts_in_event_time_order() -> None:
    events = list(synthetic(400, 3000))
    kinds = Counter(event.type for event in events)
    assert {"OrderPlaced", "Picked", "Shipped", "ReceiptPosted", "PutAway", "CycleCounted"} <= set(
        kinds
    )
    assert kinds["Picked"] - kinds["Shipped"] in (0, 1)  # the last pick may lose its ship
    times = [event.occurred_at for event in events if event.type == "OrderPlaced"]
    assert times == sorted(times)


def test_cover_puts_stock_at_every_sku_location_first() -> None:
    events = list(synthetic(40, 80, cover=True))
    stocked = {(e.sku, e.to_location) for e in events if isinstance(e, PutAway)}
    assert len(stocked) == 40
    assert (sku_code(9), pick_bin("BCN")) in stocked


def test_the_engine_rejects_none_of_its_events() -> None:
    entries: list[LedgerEntry] = []
    catalog = build_catalog(400)
    sinks = InventorySinks(ledger=[TestingSink(entries)])
    run_main(build_inventory_flow(events_source(synthetic(400, 3000)), sinks, catalog))
    assert len({entry.event_id for entry in entries}) == 3000
    assert [e for e in entries if isinstance(e.output, Rejected)] == []
