"""The reservation timer: a hold per order while allocated units wait for a pick, none after;
the orders share 64 keyed buckets, each with one timer (its earliest due hold)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dataflows.reservations import (
    RESERVATION_BUCKETS,
    Hold,
    Holds,
    ReservationTimer,
    reservation_bucket,
)
from state.ledger import LedgerEntry
from state.outputs import LineAllocated, OrderProgressed
from state.routing import LineToRoute, NetworkPicture, OrderToRoute, plan
from state.routing_outcome import OrderRouted, order_routed
from state.routing_policy import Lane, RoutingPolicy
from state.stock import Reserved

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
CLOCK = "RETRO-CLOCK"
HOLD = timedelta(hours=4)
POLICY = RoutingPolicy(lanes={("LON", "UK"): Lane(4.0, 0.2)}, default_zone="UK")
ORDER = OrderToRoute("SO-7", "sim-order-7", "United Kingdom", "web", T0, (LineToRoute(CLOCK, 2),))


def decision(order_id: str = "SO-7") -> OrderRouted:
    allocated = LineAllocated(
        "sim-order-7", CLOCK, "SO-7", CLOCK, 2, 2, 0, 0, (Reserved("LON/A/01/01/1/PICK", "", 2),)
    )
    routed = order_routed(
        plan(ORDER, NetworkPicture(atp={CLOCK: {"LON": 5}}), POLICY), ORDER, [allocated], POLICY
    )
    assert routed is not None
    return routed if order_id == "SO-7" else replace(routed, order_id=order_id)


def progress(event_id: str, picked: int, shipped: int, order_id: str = "SO-7") -> LedgerEntry:
    output = OrderProgressed(event_id, CLOCK, order_id, picked, 0, shipped)
    return LedgerEntry(event_id, CLOCK, 0, "Picked", T0, "test", output)


def timer(clock: list[datetime] | None = None) -> ReservationTimer:
    """What Bytewax builds for a bucket with no state (the first item, or one after a discard);
    `clock[0]` is the wall clock, moved by the test."""
    now = clock if clock is not None else [T0]
    return ReservationTimer(HOLD, Holds(), clock=lambda: now[0])


def test_a_pick_confirms_the_reservation_and_ends_the_timer() -> None:
    logic = timer()

    _, kept = logic.on_item(decision())
    due = logic.notify_at()
    _, ended = logic.on_item(progress("sim-pick-SO-7-RETRO-CLOCK", picked=2, shipped=0))

    assert (kept, due) == (logic.RETAIN, T0 + HOLD)
    assert ended is logic.DISCARD


def test_the_shipment_after_the_pick_leaves_no_timer_behind() -> None:
    # The pick ended the order's timer; its shipment reaches a fresh one, which has nothing to
    # wait for: keeping it would keep one idle key per order shipped, for good.
    _, kept = timer().on_item(progress("sim-ship-SO-7-RETRO-CLOCK", picked=2, shipped=2))

    assert kept is ReservationTimer.DISCARD


def test_the_holds_of_a_thousand_open_orders_occupy_at_most_64_keys() -> None:
    orders = [f"SO-{n}" for n in range(1000)]

    buckets = {reservation_bucket(order_id) for order_id in orders}

    assert len(buckets) <= RESERVATION_BUCKETS == 64


def test_a_bucket_holds_each_of_its_orders_and_its_timer_is_the_earliest_due() -> None:
    clock = [T0]
    logic = timer(clock)
    for n in range(1000):
        clock[0] = T0 + timedelta(seconds=n)
        logic.on_item(decision(f"SO-{n}"))

    assert len(logic.state.open) == 1000
    assert logic.notify_at() == T0 + HOLD


def test_the_timer_expires_every_hold_due_and_keeps_the_others() -> None:
    clock = [T0]
    logic = timer(clock)
    logic.on_item(decision("SO-1"))
    clock[0] = T0 + timedelta(minutes=5)
    logic.on_item(decision("SO-2"))
    clock[0] = T0 + timedelta(minutes=10)
    logic.on_item(decision("SO-3"))

    clock[0] = T0 + HOLD + timedelta(minutes=5)
    expired, kept = logic.on_notify()

    assert [e.event_id for e in expired] == ["expire:SO-1:RETRO-CLOCK", "expire:SO-2:RETRO-CLOCK"]
    assert {e.occurred_at for e in expired} == {T0 + HOLD}  # decided_at + hold, in event time
    assert (kept, logic.notify_at()) == (logic.RETAIN, T0 + timedelta(minutes=10) + HOLD)


def test_a_pick_ends_its_own_orders_hold_and_not_its_neighbours() -> None:
    clock = [T0]
    logic = timer(clock)
    logic.on_item(decision("SO-1"))
    clock[0] = T0 + timedelta(minutes=5)
    logic.on_item(decision("SO-2"))

    _, kept = logic.on_item(progress("sim-pick-SO-1", picked=2, shipped=0, order_id="SO-1"))

    assert (kept, sorted(logic.state.open)) == (logic.RETAIN, ["SO-2"])
    assert logic.notify_at() == T0 + timedelta(minutes=5) + HOLD  # SO-1's due is gone


def test_the_last_pick_in_a_bucket_discards_it_and_an_emptied_timer_expires_nothing() -> None:
    clock = [T0]
    logic = timer(clock)
    logic.on_item(decision("SO-1"))
    logic.on_item(decision("SO-2"))
    logic.on_item(progress("sim-pick-SO-1", picked=2, shipped=0, order_id="SO-1"))

    _, kept = logic.on_item(progress("sim-pick-SO-2", picked=2, shipped=0, order_id="SO-2"))
    clock[0] = T0 + HOLD
    expired, _ = logic.on_notify()

    assert (kept, list(expired), logic.notify_at()) == (logic.DISCARD, [], None)


def test_a_second_decision_for_an_open_order_keeps_its_first_due() -> None:
    clock = [T0]
    logic = timer(clock)
    logic.on_item(decision("SO-1"))
    clock[0] = T0 + timedelta(hours=1)

    logic.on_item(decision("SO-1"))

    assert logic.notify_at() == T0 + HOLD


def test_a_snapshot_does_not_change_as_the_bucket_goes_on() -> None:
    logic = timer()
    logic.on_item(decision("SO-1"))
    snapshot = logic.snapshot()

    logic.on_item(decision("SO-2"))
    logic.on_item(progress("sim-pick-SO-1", picked=2, shipped=0, order_id="SO-1"))

    assert sorted(snapshot.open) == ["SO-1"]
    assert snapshot.open["SO-1"].skus == (CLOCK,)


def test_a_resumed_bucket_fires_at_its_earliest_hold() -> None:
    clock = [T0]
    logic = timer(clock)
    logic.on_item(decision("SO-1"))
    clock[0] = T0 + timedelta(minutes=1)
    logic.on_item(decision("SO-2"))

    resumed = ReservationTimer(HOLD, logic.snapshot(), clock=lambda: T0 + HOLD)
    expired, _ = resumed.on_notify()

    assert [e.order_id for e in expired] == ["SO-1"]
    assert resumed.notify_at() == T0 + timedelta(minutes=1) + HOLD


def test_ended_orders_leave_no_trace_in_the_timer_after_many_picks() -> None:
    logic = timer()
    for n in range(10_000):
        logic.on_item(decision(f"SO-{n}"))
        logic.on_item(progress(f"sim-pick-SO-{n}", picked=2, shipped=0, order_id=f"SO-{n}"))

    assert logic.state.open == {}
    assert len(logic._due) <= 64  # the heap of due times is rebuilt, never grows with the run


def test_an_order_of_many_lines_is_held_until_its_last_sku_is_picked_in_any_order() -> None:
    skus = tuple(f"SKU-{n:03d}" for n in range(300))
    logic = timer()
    logic.state.open["SO-7"] = Hold(skus, T0 + HOLD, T0 + HOLD)
    picks = [skus[(n * 7) % 300] for n in range(300)]  # 7 and 300 coprime: each SKU once

    kept = []
    for n, sku in enumerate(picks):
        output = OrderProgressed(f"pick-{n}", sku, "SO-7", 1, 0, 0)
        _, still = logic.on_item(LedgerEntry(f"pick-{n}", sku, 0, "Picked", T0, "test", output))
        kept.append(still)
        if n == 149:
            assert logic.state.open["SO-7"].skus == tuple(sorted(set(skus) - set(picks[:150])))

    assert kept[:-1] == [logic.RETAIN] * 299
    assert kept[-1] is logic.DISCARD
    assert "SO-7" not in logic.state.open


def test_a_pick_of_a_sku_the_hold_does_not_name_changes_nothing() -> None:
    logic = timer()
    logic.on_item(decision())
    held = logic.state.open["SO-7"]

    output = OrderProgressed("pick-other", "OTHER-SKU", "SO-7", 1, 0, 0)
    _, kept = logic.on_item(LedgerEntry("pick-other", "OTHER-SKU", 0, "Picked", T0, "t", output))

    assert kept is logic.RETAIN
    assert logic.state.open["SO-7"] is held
