"""The reservation timer: one per order while allocated units wait for a pick, none after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dataflows.reservations import Hold, ReservationTimer
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


def decision() -> OrderRouted:
    allocated = LineAllocated(
        "sim-order-7", CLOCK, "SO-7", CLOCK, 2, 2, 0, 0, (Reserved("LON/A/01/01/1/PICK", "", 2),)
    )
    routed = order_routed(
        plan(ORDER, NetworkPicture(atp={CLOCK: {"LON": 5}}), POLICY), ORDER, [allocated], POLICY
    )
    assert routed is not None
    return routed


def progress(event_id: str, picked: int, shipped: int) -> LedgerEntry:
    output = OrderProgressed(event_id, CLOCK, "SO-7", picked, 0, shipped)
    return LedgerEntry(event_id, CLOCK, 0, "Picked", T0, "test", output)


def timer() -> ReservationTimer:
    """What Bytewax builds for an order with no state (the first item, or one after a discard)."""
    return ReservationTimer(HOLD, Hold(), clock=lambda: T0)


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
