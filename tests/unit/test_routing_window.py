"""Batch windows: which orders a zone's window holds, when it closes, and the flow step that
holds it (event time, the wall clock for a quiet stream, the end of the input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dataflows.routing import Router, Routing, Ticks
from dataflows.routing_batches import Batching, BatchLogic
from state.catalog import Catalog, Channel, Sku
from state.events import OrderLine, OrderPlaced, ShipTo
from state.routing_policy import Lane, RoutingPolicy
from state.routing_window import BatchWindow, ToBatch, admit, advance

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
WALL = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
CLOCK = "RETRO-CLOCK"
POLICY = RoutingPolicy(lanes={("LON", "UK"): Lane(4.0, 0.2)}, default_zone="UK")
CATALOG = Catalog.build(
    skus=[Sku(CLOCK)], locations=["LON/A/01/01/1/PICK"], channels=[Channel("web")]
)


def order(minute: int) -> OrderPlaced:
    return OrderPlaced(
        event_id=f"order-{minute}",
        occurred_at=T0 + timedelta(minutes=minute),
        source="test",
        order_id=f"O{minute}",
        channel="web",
        ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
        lines=(OrderLine(sku=CLOCK, quantity=1),),
    )


def test_a_window_holds_the_orders_placed_before_it_closes() -> None:
    window, closed = admit(None, "UK", order(10), WINDOW)
    window, again = admit(window, "UK", order(39), WINDOW)

    assert closed is None
    assert again is None
    assert [o.order_id for o in window.orders] == ["O10", "O39"]
    assert window.closes == T0 + timedelta(minutes=40)
    assert window.batch == "UK@2011-03-01T09:10:00+00:00"


def test_the_first_order_at_the_windows_end_closes_it_and_opens_the_next() -> None:
    window, _ = admit(None, "UK", order(10), WINDOW)

    after, closed = admit(window, "UK", order(40), WINDOW)

    assert closed == window
    assert [o.order_id for o in after.orders] == ["O40"]
    assert after.opened == T0 + timedelta(minutes=40)


def test_event_time_seen_elsewhere_closes_a_window_once_it_reaches_the_end() -> None:
    window, _ = admit(None, "UK", order(10), WINDOW)

    assert advance(window, T0 + timedelta(minutes=39)) == (window, None)
    assert advance(window, T0 + timedelta(minutes=40)) == (None, window)
    assert advance(None, T0) == (None, None)


def test_a_late_order_joins_the_open_window() -> None:
    window, _ = admit(None, "UK", order(10), WINDOW)

    window, closed = admit(window, "UK", order(5), WINDOW)

    assert closed is None
    assert [o.order_id for o in window.orders] == ["O10", "O5"]


def test_a_window_must_last_some_time() -> None:
    with pytest.raises(ValueError, match="must last some time"):
        admit(None, "UK", order(1), timedelta(0))
    with pytest.raises(ValueError, match="must last some time"):
        Routing.for_catalog(CATALOG, POLICY, batch_window=timedelta(0))


def logic() -> BatchLogic:
    router = Routing.for_catalog(CATALOG, POLICY).router
    return BatchLogic(router, WINDOW, Batching(), clock=lambda: WALL)


def test_the_step_plans_a_closed_window_together_and_forgets_the_zone_when_none_is_open() -> None:
    step = logic()

    assert step.on_item(ToBatch("UK", order(10))) == ([], step.RETAIN)
    assert step.on_item(ToBatch("UK", order(11))) == ([], step.RETAIN)
    planned, keep = step.on_item(ToBatch("UK", T0 + timedelta(minutes=45)))

    assert keep == step.DISCARD
    assert [o.order_id for o, _ in planned] == ["O10", "O11"]
    assert {r.plan.batch for _, r in planned} == {"UK@2011-03-01T09:10:00+00:00"}


def test_a_quiet_window_closes_on_the_wall_clock_and_at_the_end_of_the_input() -> None:
    step = logic()
    step.on_item(ToBatch("UK", order(10)))

    assert step.notify_at() == WALL + WINDOW
    planned, keep = step.on_notify()
    assert [o.order_id for o, _ in planned] == ["O10"]
    assert keep == step.DISCARD
    assert step.notify_at() is None

    step.on_item(ToBatch("UK", order(50)))
    resumed = BatchLogic(step.router, WINDOW, step.snapshot())
    ended, _ = resumed.on_eof()
    assert [o.order_id for o, _ in ended] == ["O50"]


def test_a_copy_of_an_order_redelivered_into_its_window_is_planned_once() -> None:
    router: Router = Routing.for_catalog(CATALOG, POLICY).router
    window = BatchWindow("UK", T0, T0 + WINDOW, (order(1), order(1), order(2)))

    assert [o.order_id for o, _ in router.plan_window(window)] == ["O1", "O2"]


def test_ticks_go_to_every_zone_at_most_once_per_interval() -> None:
    ticks = Ticks(("EU", "UK"), timedelta(minutes=5))

    first = ticks.after(T0)

    assert first == [ToBatch("EU", T0), ToBatch("UK", T0)]
    assert ticks.after(T0 + timedelta(minutes=4)) == []
    assert len(ticks.after(T0 + timedelta(minutes=5))) == 2


def test_with_a_window_an_order_is_held_and_ticks_every_zones_window() -> None:
    routing = Routing.for_catalog(CATALOG, POLICY, batch_window=WINDOW)

    held, items = routing.intake(order(1))
    assert held is None
    assert items == [ToBatch("UK", order(1)), ToBatch("UK", order(1).occurred_at)]
    assert routing.intake(order(2)) == (None, [ToBatch("UK", order(2))])
