"""OrderRouted: the decision from a plan and the per-SKU commits, and its assembly in the flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dataflows.routing import Assembly, DecisionAssembler, PlanRecord
from state.ledger import LedgerEntry
from state.outputs import Duplicate, LineAllocated, Rejected
from state.rejections import RejectionCode
from state.routing import LineToRoute, NetworkPicture, OrderToRoute, plan
from state.routing_outcome import order_routed
from state.routing_policy import Lane, RoutingPolicy
from state.stock import Reserved

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
CLOCK, KETTLE = "RETRO-CLOCK", "TEAL-KETTLE"
POLICY = RoutingPolicy(
    lanes={("LON", "UK"): Lane(4.0, 0.2), ("MAN", "UK"): Lane(5.0, 0.2)},
    default_zone="UK",
    unit_weight_kg=1.0,
)
ORDER = OrderToRoute(
    "ORD-1", "order-1", "United Kingdom", "web", T0, (LineToRoute(CLOCK, 3), LineToRoute(KETTLE, 2))
)
PLAN = plan(ORDER, NetworkPicture(atp={CLOCK: {"LON": 5}, KETTLE: {"LON": 5}}), POLICY)


def allocated(sku: str, ordered: int, *at: tuple[str, int], backordered: int = 0) -> LineAllocated:
    reservations = tuple(Reserved(f"{site}/A/01/01/1/PICK", "", n) for site, n in at)
    got = sum(n for _, n in at)
    return LineAllocated(
        "order-1",
        sku,
        "ORD-1",
        sku,
        ordered,
        got,
        backordered,
        ordered - got - backordered,
        reservations,
    )


def test_a_decision_reports_where_each_line_was_committed_and_what_it_cost() -> None:
    decision = order_routed(
        PLAN, ORDER, [allocated(CLOCK, 3, ("LON", 3)), allocated(KETTLE, 2, ("LON", 2))], POLICY
    )

    assert decision is not None
    assert decision.sites == ("LON",)
    assert (decision.ordered, decision.allocated) == (5, 5)
    assert decision.cost.shipping == 4.0 + 0.2 * 5
    assert decision.cost.total == decision.planned_cost.total
    assert not any(line.fell_back for line in decision.lines)


def test_a_line_committed_elsewhere_than_planned_is_marked_as_a_fallback_and_split() -> None:
    decision = order_routed(
        PLAN,
        ORDER,
        [allocated(CLOCK, 3, ("LON", 1), ("MAN", 2)), allocated(KETTLE, 2, ("LON", 2))],
        POLICY,
    )

    assert decision is not None
    clock = next(line for line in decision.lines if line.sku == CLOCK)
    assert clock.fell_back
    assert decision.split
    assert decision.cost.split == POLICY.split_penalty


def test_a_sku_refused_whole_counts_its_line_as_rejected() -> None:
    refused = Rejected("order-1", KETTLE, RejectionCode.UNKNOWN_CHANNEL, "no such channel")

    decision = order_routed(PLAN, ORDER, [allocated(CLOCK, 3, ("LON", 3)), refused], POLICY)

    assert decision is not None
    kettle = next(line for line in decision.lines if line.sku == KETTLE)
    assert (kettle.ordered, kettle.rejected, kettle.refusal) == (2, 2, "unknown_channel")
    assert decision.allocated + decision.backordered + decision.rejected == decision.ordered


def test_a_redelivered_order_whose_every_sku_is_a_duplicate_decides_nothing() -> None:
    answers = [Duplicate("order-1", CLOCK), Duplicate("order-1", KETTLE)]

    assert order_routed(PLAN, ORDER, answers, POLICY) is None


def entry(output: LineAllocated | Rejected | Duplicate) -> LedgerEntry:
    return LedgerEntry(output.event_id, output.sku, 0, "OrderPlaced", T0, "test", output)


def assembler() -> DecisionAssembler:
    now = [T0]
    return DecisionAssembler(POLICY, Assembly(), clock=lambda: now[0])


def test_the_assembler_waits_for_every_sku_then_decides_once() -> None:
    logic = assembler()
    record = PlanRecord(ORDER, PLAN, {CLOCK: 1, KETTLE: 1})

    first, _ = logic.on_item(entry(allocated(CLOCK, 3, ("LON", 3))))
    second, _ = logic.on_item(record)
    third, _ = logic.on_item(entry(allocated(KETTLE, 2, ("LON", 2))))
    late, _ = logic.on_item(entry(Duplicate("order-1", KETTLE)))

    assert list(first) == list(second) == list(late) == []
    [decision] = list(third)
    assert decision.order_id == "ORD-1"
    assert logic.notify_at() == T0 + timedelta(minutes=10)  # then the tombstone is dropped
    assert logic.on_notify()[1] is logic.DISCARD


def test_the_assembler_keeps_the_first_plan_and_ignores_a_second() -> None:
    logic = assembler()
    other = PlanRecord(ORDER, plan(ORDER, NetworkPicture(atp={}), POLICY), {CLOCK: 1, KETTLE: 1})

    logic.on_item(PlanRecord(ORDER, PLAN, {CLOCK: 1, KETTLE: 1}))
    logic.on_item(other)
    logic.on_item(entry(allocated(CLOCK, 3, ("LON", 3))))
    [decision], _ = logic.on_item(entry(allocated(KETTLE, 2, ("LON", 2))))

    assert decision.planned_sites == ("LON",)


def test_an_order_id_placed_twice_gets_no_second_decision() -> None:
    logic = assembler()
    duplicate = Rejected("order-1", CLOCK, RejectionCode.DUPLICATE_ORDER, "already holds it")

    logic.on_item(PlanRecord(ORDER, PLAN, {CLOCK: 1}))
    emitted, _ = logic.on_item(entry(duplicate))

    assert list(emitted) == []
