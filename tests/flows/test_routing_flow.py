"""Routing in the inventory flow: orders planned before keying, one OrderRouted per order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bytewax.testing import TestingSink, cluster_main, run_main

from connectors.inprocess import events_source
from dataflows.inventory import (
    InventorySinks,
    LogMessage,
    build_inventory_flow,
    build_sequencer_flow,
    route,
)
from dataflows.routing import PLAN_KEY, PlanRecord, Routing, decode_plan
from state.catalog import Catalog, Channel, Sku
from state.events import (
    Event,
    OrderLine,
    OrderPlaced,
    Picked,
    ReceiptLine,
    ReceiptPosted,
    ReservationExpired,
    ShipTo,
)
from state.intake import DeadLetter, RawEvent
from state.ledger import LedgerEntry
from state.outputs import LineAllocated, Released
from state.routing_outcome import OrderRouted
from state.routing_policy import Lane, RoutingPolicy

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
LON, MAN = "LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"
CLOCK, KETTLE = "RETRO-CLOCK", "TEAL-KETTLE"
POLICY = RoutingPolicy(
    lanes={("LON", "UK"): Lane(4.0, 0.2), ("MAN", "UK"): Lane(5.0, 0.2)},
    zones={"United Kingdom": "UK"},
    default_zone="UK",
)


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


def order(n: int, *lines: tuple[str, int], event_id: str | None = None) -> OrderPlaced:
    return OrderPlaced(
        event_id=event_id or f"order-{n}",
        occurred_at=T0 + timedelta(minutes=n),
        source="test",
        order_id=f"O{n}",
        channel="web",
        ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
        lines=tuple(OrderLine(sku=sku, quantity=q) for sku, q in lines),
    )


def story() -> list[Event]:
    """MAN holds both SKUs, LON only kettles: the two-line order consolidates at MAN."""
    return [
        receipt(1, CLOCK, 5, MAN),
        receipt(2, KETTLE, 5, MAN),
        receipt(3, KETTLE, 5, LON),
        order(10, (CLOCK, 2), (KETTLE, 1)),
        order(11, (KETTLE, 2)),
        order(11, (KETTLE, 2), event_id="order-11-again"),  # the same order id placed twice
        order(12, (CLOCK, 9)),  # more than there is: 3 backordered
    ]


def run(events: list[Event], workers: int = 1) -> tuple[list[OrderRouted], list[LedgerEntry]]:
    decisions: list[OrderRouted] = []
    ledger: list[LedgerEntry] = []
    routing = Routing.for_catalog(catalog(), POLICY)
    sinks = InventorySinks(ledger=[TestingSink(ledger)], decisions=[TestingSink(decisions)])
    flow = build_inventory_flow(events_source(events), sinks, catalog(), routing=routing)
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return sorted(decisions, key=lambda d: d.order_id), ledger


def test_the_flow_emits_one_explained_decision_per_order() -> None:
    decisions, _ = run(story())

    assert [d.order_id for d in decisions] == ["O10", "O11", "O12"]
    two_lines = decisions[0]
    assert two_lines.sites == ("MAN",)
    assert two_lines.planned_sites == ("MAN",)
    assert {a.label for a in two_lines.alternatives} >= {"split LON+MAN"}
    assert two_lines.cost.total == pytest.approx(5.0 + 0.2 * 0.25 * 3)


def test_every_line_is_accounted_for_in_the_decision() -> None:
    decisions, _ = run(story())

    for decision in decisions:
        for line in decision.lines:
            assert line.allocated + line.backordered + line.rejected == line.ordered
    short = decisions[2]
    assert (short.allocated, short.backordered) == (3, 6)


def test_the_commit_follows_the_planned_site() -> None:
    _, ledger = run(story())

    allocated = [e.output for e in ledger if isinstance(e.output, LineAllocated)]
    by_order = {(a.order_id, a.sku): {r.location for r in a.reservations} for a in allocated}
    assert by_order[("O10", CLOCK)] == {MAN}
    assert by_order[("O10", KETTLE)] == {MAN}


def test_a_two_worker_cluster_decides_the_same_orders() -> None:
    one, _ = run(story())
    two, _ = run(story(), workers=2)

    assert [(d.order_id, d.allocated, d.backordered) for d in two] == [
        (d.order_id, d.allocated, d.backordered) for d in one
    ]


def test_a_routed_order_puts_its_plan_beside_its_parts_and_the_log_gives_it_back() -> None:
    routing = Routing.for_catalog(catalog(), POLICY)
    raw = RawEvent(order(10, (CLOCK, 1)).model_dump_json().encode(), "t/0", T0)

    items = route(catalog(), raw, routing)

    [record] = [item for item in items if isinstance(item, PlanRecord)]
    assert record.key == PLAN_KEY + "order-10"
    logged = RawEvent(record.encoded(), "log/0/7", T0, key=record.key)
    assert decode_plan(logged) == record
    assert route(catalog(), logged) == [record]


def test_reservations_nobody_picked_expire_and_picked_ones_do_not() -> None:
    expired: list[ReservationExpired] = []
    routing = Routing.for_catalog(catalog(), POLICY, hold=timedelta(0))
    events: list[Event] = [
        *story()[:3],
        order(10, (CLOCK, 2), (KETTLE, 1)),
        Picked(
            event_id="pick-1",
            occurred_at=T0 + timedelta(minutes=20),
            source="test",
            order_id="O10",
            sku=KETTLE,
            quantity=1,
            location=MAN,
        ),
    ]
    sinks = InventorySinks(expiries=[TestingSink(expired)])
    run_main(build_inventory_flow(events_source(events), sinks, catalog(), routing=routing))

    assert [(e.order_id, e.sku, e.event_id) for e in expired] == [
        ("O10", CLOCK, "expire:O10:RETRO-CLOCK")
    ]
    assert expired[0].occurred_at == T0 + timedelta(minutes=10)

    ledger: list[LedgerEntry] = []
    again = InventorySinks(ledger=[TestingSink(ledger)])
    run_main(build_inventory_flow(events_source([*events, *expired]), again, catalog()))
    [released] = [e.output for e in ledger if isinstance(e.output, Released)]
    assert (released.sku, released.quantity, released.reason) == (CLOCK, 2, "expired")


def test_the_sequencer_writes_each_plan_into_the_log_beside_the_orders_parts() -> None:
    log: list[LogMessage] = []
    routing = Routing.for_catalog(catalog(), POLICY)
    flow = build_sequencer_flow(
        events_source([order(10, (CLOCK, 1), (KETTLE, 1))]),
        TestingSink(log),
        [],
        catalog(),
        routing=routing,
    )

    run_main(flow)

    keys = sorted((m.key or b"").decode() for m in log)
    assert keys == sorted([CLOCK, KETTLE, PLAN_KEY + "order-10"])
    [plan_message] = [m for m in log if (m.key or b"").decode().startswith(PLAN_KEY)]
    record = decode_plan(RawEvent(plan_message.value or b"", "log/0/0", T0, key=PLAN_KEY))
    assert isinstance(record, PlanRecord)
    assert record.expected == {CLOCK: 1, KETTLE: 1}


def test_a_broken_plan_record_in_the_log_becomes_a_dead_letter() -> None:
    broken = RawEvent(b"{not a plan", "log/0/9", T0, key=PLAN_KEY + "order-9")

    [letter] = route(catalog(), broken)

    assert isinstance(letter, DeadLetter)
    assert letter.reason.startswith("routing plan record")
