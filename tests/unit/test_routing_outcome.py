"""OrderRouted: the decision from a plan and the per-SKU commits, and its assembly in the flow."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dataflows.routing import (
    ASSEMBLY_BUCKETS,
    Assemblies,
    DecisionAssembler,
    PlanRecord,
    keyed_for_assembly,
)
from state.ledger import LedgerEntry
from state.outputs import Duplicate, LineAllocated, Rejected
from state.rejections import RejectionCode
from state.routing import LineToRoute, NetworkPicture, OrderToRoute, plan
from state.routing_outcome import OrderRouted, order_routed
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


class Clock:
    """The assembler's wall clock, moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def assembler(clock: Clock | None = None) -> DecisionAssembler:
    return DecisionAssembler(POLICY, Assemblies(), clock=clock or Clock())


def test_the_assembler_waits_for_every_sku_then_decides_once() -> None:
    clock = Clock()
    logic = assembler(clock)
    record = PlanRecord(ORDER, PLAN, {CLOCK: 1, KETTLE: 1})

    first, _ = logic.on_item(entry(allocated(CLOCK, 3, ("LON", 3))))
    second, _ = logic.on_item(record)
    third, _ = logic.on_item(entry(allocated(KETTLE, 2, ("LON", 2))))
    late, _ = logic.on_item(entry(Duplicate("order-1", KETTLE)))
    again, _ = logic.on_item(record)

    assert list(first) == list(second) == list(late) == list(again) == []
    [decision] = list(third)
    assert decision.order_id == "ORD-1"
    assert logic.notify_at() == T0 + logic.forget_after  # then the tombstone is dropped
    clock.now = T0 + logic.forget_after
    assert logic.on_notify()[1] is logic.DISCARD


def decide(logic: DecisionAssembler, n: int) -> list[OrderRouted]:
    """Order n (a one-line order for the clock), planned and answered."""
    event_id = f"order-{n}"
    logic.on_item(PlanRecord(ORDER, replace(PLAN, event_id=event_id), {CLOCK: 1}))
    answer = replace(allocated(CLOCK, 3, ("LON", 3)), event_id=event_id)
    emitted, _ = logic.on_item(entry(answer))
    return list(emitted)


def test_orders_share_a_few_assembly_keys_however_many_there_are() -> None:
    keys = {
        keyed_for_assembly(PlanRecord(ORDER, replace(PLAN, event_id=f"order-{n}"), {CLOCK: 1}))[0]
        for n in range(10_000)
    }

    assert len(keys) == ASSEMBLY_BUCKETS


def test_a_bucket_holds_the_tombstones_of_the_last_minute_only() -> None:
    clock = Clock()
    logic = assembler(clock)
    held = []
    for n in range(3_000):  # ten orders a second for five minutes
        clock.now = T0 + timedelta(seconds=n / 10)
        assert len(decide(logic, n)) == 1
        held.append(len(logic.state.decided))

    assert max(held) == 10 * logic.forget_after.total_seconds()  # flat after the first minute
    assert held[-1] == held[len(held) // 2]
    assert not logic.state.open
    clock.now += logic.forget_after
    assert logic.on_notify()[1] is logic.DISCARD


def test_a_bucket_keeps_at_most_keep_decided_tombstones() -> None:
    logic = replace(assembler(), keep_decided=100)

    decisions = [d for n in range(500) for d in decide(logic, n)]

    assert len(decisions) == 500
    assert list(logic.state.decided) == [f"order-{n}" for n in range(400, 500)]


def test_a_wait_with_no_plan_is_given_up_and_forgotten() -> None:
    clock = Clock()
    logic = assembler(clock)

    logic.on_item(entry(Duplicate("order-1", KETTLE)))  # a stray answer: no plan will come

    assert logic.notify_at() == T0 + logic.give_up_after
    clock.now = T0 + logic.give_up_after
    assert logic.on_notify() == ((), logic.DISCARD)
    assert logic.snapshot() == Assemblies()


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
