"""Batch windows in the inventory flow: orders bound for one zone within the window share a
shipment's fixed cost; an order outside it does not; nothing waits past the end of the input."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, cluster_main, run_main

from connectors.inprocess import events_source, raw_event
from dataflows.inventory import (
    InventorySinks,
    LogMessage,
    build_inventory_flow,
    build_sequencer_flow,
)
from dataflows.routing import PLAN_KEY, Routing, decode_plan
from state.catalog import Catalog, Channel, Sku
from state.events import Event, OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo
from state.intake import RawEvent, decode
from state.ledger import LedgerEntry
from state.outputs import LineAllocated
from state.routing_outcome import OrderRouted
from state.routing_policy import Lane, RoutingPolicy

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
LON, MAN = "LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"
CLOCK, KETTLE = "RETRO-CLOCK", "TEAL-KETTLE"
POLICY = RoutingPolicy(
    lanes={
        ("LON", "UK"): Lane(4.0, 0.2),
        ("MAN", "UK"): Lane(5.0, 0.2),
        ("LON", "EU"): Lane(12.0, 0.6),
        ("MAN", "EU"): Lane(13.0, 0.6),
    },
    zones={"United Kingdom": "UK", "Channel Islands": "UK", "France": "EU"},
    default_zone="UK",
    unit_weight_kg=1.0,
)
WINDOW = timedelta(minutes=30)


def catalog() -> Catalog:
    return Catalog.build(
        skus=[Sku(CLOCK), Sku(KETTLE)], locations=[LON, MAN], channels=[Channel("web")]
    )


def receipt(n: int, sku: str, quantity: int, location: str) -> ReceiptPosted:
    return ReceiptPosted(
        event_id=f"rcpt-{n}",
        occurred_at=T0 + timedelta(minutes=n),
        source="test",
        location=location,
        lines=(ReceiptLine(sku=sku, quantity=quantity),),
    )


def order(minute: int, sku: str, quantity: int, region: str = "United Kingdom") -> OrderPlaced:
    return OrderPlaced(
        event_id=f"order-{minute}",
        occurred_at=T0 + timedelta(minutes=minute),
        source="test",
        order_id=f"O{minute}",
        channel="web",
        ship_to=ShipTo(region=region, postal_code="N1"),
        lines=(OrderLine(sku=sku, quantity=quantity),),
    )


def story() -> list[Event]:
    """Three UK orders (two in the window opened at minute 10, one after it), one to France."""
    return [
        receipt(1, CLOCK, 20, LON),
        receipt(2, KETTLE, 20, LON),
        order(10, CLOCK, 2),
        order(15, KETTLE, 1, region="France"),
        order(20, KETTLE, 3, region="Channel Islands"),
        order(50, CLOCK, 1),
    ]


def run(
    events: list[Event], window: timedelta | None = WINDOW, workers: int = 1
) -> tuple[dict[str, OrderRouted], list[LedgerEntry]]:
    decisions: list[OrderRouted] = []
    ledger: list[LedgerEntry] = []
    routing = Routing.for_catalog(catalog(), POLICY, batch_window=window)
    sinks = InventorySinks(ledger=[TestingSink(ledger)], decisions=[TestingSink(decisions)])
    flow = build_inventory_flow(events_source(events), sinks, catalog(), routing=routing)
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return {d.order_id: d for d in decisions}, ledger


def test_two_orders_to_one_zone_within_the_window_pay_one_shipments_fixed_part() -> None:
    decisions, _ = run(story())

    first, second = decisions["O10"], decisions["O20"]
    assert first.batch == second.batch == "UK@2011-03-01T09:10:00+00:00"
    assert (first.sites, second.sites) == (("LON",), ("LON",))
    assert first.shared_shipments == ()
    assert first.cost.shipping == pytest.approx(4.0 + 0.2 * 2)
    assert second.shared_shipments == ("LON",)
    assert second.cost.shipping == pytest.approx(0.2 * 3)  # its kilograms only
    assert second.planned_cost.shipping == pytest.approx(0.2 * 3)


def test_an_order_after_the_window_and_one_to_another_zone_pay_their_own_shipments() -> None:
    decisions, _ = run(story())

    later, france = decisions["O50"], decisions["O15"]
    assert later.batch == "UK@2011-03-01T09:50:00+00:00"
    assert later.shared_shipments == ()
    assert later.cost.shipping == pytest.approx(4.0 + 0.2)
    assert france.batch == "EU@2011-03-01T09:15:00+00:00"
    assert france.cost.shipping == pytest.approx(12.0 + 0.6)


def test_without_a_window_every_order_pays_its_own_shipment() -> None:
    decisions, _ = run(story(), window=None)

    assert all(d.batch is None and not d.shared_shipments for d in decisions.values())
    assert decisions["O20"].cost.shipping == pytest.approx(4.0 + 0.2 * 3)


def test_the_windows_still_open_at_the_end_of_the_input_are_decided() -> None:
    decisions, _ = run([*story()[:2], order(10, CLOCK, 1), order(11, CLOCK, 1)])

    assert sorted(decisions) == ["O10", "O11"]  # nothing after them closed their window
    assert decisions["O11"].shared_shipments == ("LON",)


def test_batched_orders_never_oversell_and_account_for_every_unit() -> None:
    events: list[Event] = [receipt(1, CLOCK, 5, MAN), receipt(2, CLOCK, 3, LON)]
    events += [order(10 + n, CLOCK, 1 + n % 3) for n in range(12)]  # 23 units asked, 8 there

    decisions, ledger = run(events)

    assert len(decisions) == 12
    for decision in decisions.values():
        for line in decision.lines:
            assert line.allocated + line.backordered + line.rejected == line.ordered
    reserved = Counter[str]()
    for entry in ledger:
        if isinstance(entry.output, LineAllocated):
            for r in entry.output.reservations:
                reserved[r.location] += r.quantity
    assert reserved[MAN] <= 5
    assert reserved[LON] <= 3
    assert sum(d.allocated for d in decisions.values()) == 8


def test_a_two_worker_cluster_batches_the_same_orders() -> None:
    one, _ = run(story())
    two, _ = run(story(), workers=2)

    assert {k: (d.batch, d.shared_shipments) for k, d in two.items()} == {
        k: (d.batch, d.shared_shipments) for k, d in one.items()
    }


def test_the_sequencer_writes_a_windows_orders_and_plans_into_the_log_when_it_closes() -> None:
    log: list[LogMessage] = []
    routing = Routing.for_catalog(catalog(), POLICY, batch_window=WINDOW)
    flow = build_sequencer_flow(
        events_source(story()), TestingSink(log), [], catalog(), routing=routing
    )

    run_main(flow)

    plans = [m for m in log if (m.key or b"").decode().startswith(PLAN_KEY)]
    records = [decode_plan(RawEvent(m.value or b"", "log/0/0", T0, key=PLAN_KEY)) for m in plans]
    batches = {r.plan.order_id: r.plan.batch for r in records}  # type: ignore[union-attr]
    assert batches["O10"] == batches["O20"] != batches["O50"]
    logged = [decode(RawEvent(m.value or b"", "log", T0)) for m in log if m.key == CLOCK.encode()]
    orders = [event for event in logged if isinstance(event, OrderPlaced)]
    assert [o.order_id for o in orders] == ["O10", "O50"]
    assert orders[0].lines[0].site == "LON"


def test_a_window_open_when_the_flow_crashed_is_resumed_and_decided_together(
    tmp_path: Path,
) -> None:
    """The window's orders are in the step's snapshot. (The resumed run's picture is empty until
    views arrive, so whether they share a shipment is not asserted here.)"""
    init_db_dir(tmp_path, 1)
    events = story()
    items = [raw_event(e, f"inline/{n}") for n, e in enumerate(events)]
    source = TestingSource([*items[:5], TestingSource.ABORT(), *items[5:]])
    decisions: list[OrderRouted] = []

    def attempt() -> None:
        routing = Routing.for_catalog(catalog(), POLICY, batch_window=WINDOW)
        sinks = InventorySinks(decisions=[TestingSink(decisions)])
        flow = build_inventory_flow(source, sinks, catalog(), routing=routing)
        run_main(flow, epoch_interval=timedelta(0), recovery_config=RecoveryConfig(str(tmp_path)))

    attempt()  # stops at the abort, as a crash would
    assert [d.order_id for d in decisions] == []  # O10 and O20 were held in the UK window
    attempt()

    by_id = {d.order_id: d for d in decisions}
    assert by_id["O10"].batch == by_id["O20"].batch == "UK@2011-03-01T09:10:00+00:00"
    assert by_id["O50"].batch == "UK@2011-03-01T09:50:00+00:00"
    assert [(d.allocated, d.sites) for d in (by_id["O10"], by_id["O20"])] == [
        (2, ("LON",)),
        (3, ("LON",)),
    ]
