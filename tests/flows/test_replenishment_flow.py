"""Replenishment tapped into the inventory flow: proposals out, the same on one or two workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, cluster_main, run_main

from connectors.inprocess import events_source, raw_event
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishmentTap
from state.catalog import Catalog, Channel, Sku
from state.demand.proposals import ReorderProposed
from state.events import Event, OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo
from state.ledger import LedgerEntry
from state.outputs import LineAllocated
from state.replenishment import ReplenishmentConfig

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
LON = "LON/A/01/01/1/PICK"
MAN = "MAN/A/01/01/1/PICK"
SKUS = ("RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE")
CONFIG = ReplenishmentConfig(lead_time_days=5.0, lead_time_std_days=1.0, min_days=14)


def catalog() -> Catalog:
    return Catalog.build(
        skus=[Sku(code) for code in SKUS],
        locations=[LON, MAN],
        channels=[Channel("web", priority=1)],
    )


def receipt(sku: str, quantity: int, location: str) -> ReceiptPosted:
    return ReceiptPosted(
        event_id=f"rcpt-{sku}-{location[:3]}",
        occurred_at=T0 - timedelta(hours=1),
        source="test",
        location=location,
        lines=(ReceiptLine(sku=sku, quantity=quantity),),
    )


def order(day: int, lines: tuple[tuple[str, int, str], ...]) -> OrderPlaced:
    return OrderPlaced(
        event_id=f"order-{day}",
        occurred_at=T0 + timedelta(days=day),
        source="test",
        order_id=f"O{day}",
        channel="web",
        ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
        lines=tuple(OrderLine(sku=sku, quantity=q, site=site) for sku, q, site in lines),
    )


def story(days: int = 45) -> list[Event | bytes]:
    """Three SKUs at two sites, one multi-line order a day: two SKUs run down, one does not."""
    events: list[Event | bytes] = [
        receipt("RETRO-CLOCK", 200, LON),
        receipt("TEAL-KETTLE", 150, MAN),
        receipt("PAPER-BIRDIE", 5000, LON),
    ]
    for day in range(days):
        lines = (("RETRO-CLOCK", 5, "LON"), ("TEAL-KETTLE", 3, "MAN"), ("PAPER-BIRDIE", 2, "LON"))
        events.append(order(day, lines))
    return events


def run(events: list[Event | bytes], workers: int = 1) -> tuple[list[ReorderProposed], list]:
    proposals: list[ReorderProposed] = []
    ledger: list[LedgerEntry] = []
    tap = ReplenishmentTap(catalog(), CONFIG, [TestingSink(proposals)])
    sinks = InventorySinks(ledger=[TestingSink(ledger)], taps=[tap])
    flow = build_inventory_flow(events_source(events), sinks, catalog())
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return proposals, ledger


def test_skus_that_run_down_are_proposed_once_each_at_their_site() -> None:
    proposals, ledger = run(story())

    assert sorted((p.sku, p.site, p.proposal_id) for p in proposals) == [
        ("RETRO-CLOCK", "LON", "rp:RETRO-CLOCK:LON:1"),
        ("TEAL-KETTLE", "MAN", "rp:TEAL-KETTLE:MAN:1"),
    ]
    clock = next(p for p in proposals if p.sku == "RETRO-CLOCK")
    assert clock.forecast_daily == pytest.approx(5.0)
    assert clock.position <= clock.reorder_point < clock.position + 5
    assert clock.quantity >= clock.order_up_to - clock.position
    # the tap does not take anything from the ledger
    assert sum(isinstance(e.output, LineAllocated) for e in ledger) == 45 * 3


def test_a_two_worker_cluster_raises_the_same_proposals_as_one_worker() -> None:
    one, _ = run(story())
    two, _ = run(story(), workers=2)

    assert sorted(one, key=lambda p: p.proposal_id) == sorted(two, key=lambda p: p.proposal_id)


def test_a_flow_without_taps_raises_nothing_and_is_unchanged() -> None:
    ledger: list[LedgerEntry] = []
    flow = build_inventory_flow(
        events_source(story(3)), InventorySinks(ledger=[TestingSink(ledger)]), catalog()
    )
    run_main(flow)

    assert sum(isinstance(e.output, LineAllocated) for e in ledger) == 9


def test_learnt_demand_and_forecasts_are_restored_after_a_crash(tmp_path: Path) -> None:
    """The step's snapshot (frozen values shared, forecasters copied) is what a resumed run
    starts from: the proposals are those of a run that never stopped."""
    init_db_dir(tmp_path, 1)
    items = [raw_event(e, f"inline/{n}") for n, e in enumerate(story()) if not isinstance(e, bytes)]
    source = TestingSource([*items[:30], TestingSource.ABORT(), *items[30:]])
    proposals: list[ReorderProposed] = []

    def attempt() -> None:
        tap = ReplenishmentTap(catalog(), CONFIG, [TestingSink(proposals)])
        flow = build_inventory_flow(source, InventorySinks(taps=[tap]), catalog())
        run_main(flow, epoch_interval=timedelta(0), recovery_config=RecoveryConfig(str(tmp_path)))

    attempt()  # stops at the abort, as a crash would: 27 days learnt
    attempt()
    uninterrupted, _ = run(story())

    assert {p.proposal_id: p for p in proposals} == {p.proposal_id: p for p in uninterrupted}
