"""Policy math against hand-computed cases: position, safety stock, reorder point, quantities."""

from __future__ import annotations

import math

import pytest

from state.demand.policy import (
    InventoryPosition,
    PolicySettings,
    ReorderPlan,
    abc_classes,
    eoq,
    expected_shortage,
    fill_rate_factor,
    lognormal_quantile,
    plan,
    reorder_point,
    round_to_pack,
    safety_stock,
    service_level_for,
    service_level_for_cycle,
    xyz_class,
    z_for,
)
from state.demand.proposals import ReorderTrigger


def test_inventory_position_counts_supply_and_subtracts_commitments() -> None:
    position = InventoryPosition(on_hand=40, on_order=25, in_transit=5, allocated=12, backordered=3)

    assert position.value == 40 + 25 + 5 - 12 - 3


def test_safety_stock_combines_demand_and_lead_time_variability() -> None:
    # d = 10/day, σd = 3/day, L = 4 days, σL = 1 day, 95%: z = 1.6449
    # SS = 1.6449 × √(4 × 9 + 100 × 1) = 1.6449 × √136 = 19.18
    z = z_for(0.95)

    assert z == pytest.approx(1.6449, abs=1e-4)
    assert safety_stock(z, 10, 3, 4, 1) == pytest.approx(1.6449 * math.sqrt(136), rel=1e-4)
    assert reorder_point(10, 4, 19.18) == pytest.approx(59.18)


def test_safety_stock_with_a_certain_lead_time_is_z_sigma_root_l() -> None:
    assert safety_stock(2.0, 50, 5, 9, 0) == pytest.approx(2.0 * 5 * 3)


def test_a_fill_rate_target_sets_z_from_the_normal_loss_function() -> None:
    # Q = 100 units a cycle, σ_L = 20 units, 98% fill: G(k) = 0.02 × 100 / 20 = 0.1;
    # G(0.9) = φ(0.9) − 0.9·(1 − Φ(0.9)) = 0.2661 − 0.1657 = 0.1004, so k is just above 0.9
    k = fill_rate_factor(0.98, 100, 20)

    assert expected_shortage(k) == pytest.approx(0.1, abs=1e-6)
    assert k == pytest.approx(0.9023, abs=1e-3)
    assert expected_shortage(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))


@pytest.mark.parametrize(
    ("quantity", "pack", "moq", "ordered"),
    [
        (23, 6, 12, 24),  # four packs of six
        (5, 6, 12, 12),  # the MOQ, in whole packs
        (5, 6, 10, 12),  # an MOQ of 10 is two packs of six
        (0.2, 1, 1, 1),  # anything positive orders at least one unit
        (0, 6, 12, 0),  # nothing to order
        (24.000000001, 6, 1, 24),  # float noise does not add a pack
    ],
)
def test_orders_are_rounded_up_to_packs_and_at_least_the_moq(
    quantity: float, pack: int, moq: int, ordered: int
) -> None:
    assert round_to_pack(quantity, pack, moq) == ordered


def test_eoq_balances_ordering_and_holding_costs() -> None:
    # A = 1000 units/year, K = 50 per order, h = 25%/year, c = 4: √(2 × 1000 × 50 / 1) = 316.2
    assert eoq(1000, 50, 0.25, 4) == pytest.approx(math.sqrt(100_000))
    assert eoq(0, 50, 0.25, 4) == 0


def test_an_order_up_to_plan_orders_the_gap_to_s_in_packs() -> None:
    settings = PolicySettings(service_level=0.95, review_days=7, pack_size=10, moq=20)
    position = InventoryPosition(on_hand=30, on_order=10, allocated=5)  # IP = 35

    decided = plan(10, 3, 4, 1, position, settings)

    ss = 1.6449 * math.sqrt(136)
    assert decided.safety_stock == pytest.approx(ss, rel=1e-4)
    assert decided.reorder_point == pytest.approx(40 + ss, rel=1e-4)
    assert decided.order_up_to == pytest.approx(40 + ss + 70, rel=1e-4)
    assert decided.due
    assert decided.quantity == 100  # S − IP = 129.2 − 35 = 94.2 → ten packs of ten


def test_a_position_above_the_reorder_point_orders_nothing() -> None:
    decided = plan(10, 3, 4, 1, InventoryPosition(on_hand=80), PolicySettings())

    assert not decided.due
    assert decided.quantity == 0


def test_an_eoq_plan_orders_the_economic_quantity() -> None:
    settings = PolicySettings(rule="eoq", order_cost=50, holding_rate=0.25, unit_cost=4)
    decided = plan(1000 / 365, 1, 5, 0, InventoryPosition(on_hand=0), settings)

    assert decided.quantity == 317  # ⌈316.2⌉


@pytest.mark.parametrize(
    ("cycle_days", "level"),
    [
        (14, 0.95),  # the reference cycle keeps its level
        (7, 0.975),  # P(short) = 0.05 × 7 / 14 = 0.025
        (28, 0.90),  # 0.05 × 28 / 14 = 0.10
        (140, 0.5),  # 0.05 × 10 = 0.5: no safety stock
        (400, 0.5),  # the floor: never a negative safety stock
        (0.01, 0.9999),  # the cap: z stays finite
    ],
)
def test_a_shorter_cycle_gets_a_higher_service_level(cycle_days: float, level: float) -> None:
    assert service_level_for_cycle(0.95, cycle_days, 14) == pytest.approx(level)


def test_a_cycle_must_be_a_positive_number_of_days() -> None:
    with pytest.raises(ValueError, match="positive"):
        service_level_for_cycle(0.95, 0, 14)


def test_an_eoq_plan_spreads_the_service_level_by_its_cycle() -> None:
    # d = 36.5/day: A = 13,322.5 a year; K = 0.2, h = 0.25, c = 1: EOQ = √(2·13,322.5·0.2/0.25)
    # = √21,316 = 146 units, a cycle of 146 / 36.5 = 4 days. 0.93 at 14 days becomes
    # 1 − 0.07 × 4/14 = 0.98: z = 2.0537, SS = 2.0537 × 5 × √9 = 30.81, ROP = 328.5 + 30.81
    settings = PolicySettings(
        service_level=0.93,
        rule="eoq",
        order_cost=0.2,
        holding_rate=0.25,
        unit_cost=1.0,
        allocate_by_cycle=True,
    )

    decided = plan(36.5, 5.0, 9.0, 0.0, InventoryPosition(on_hand=300), settings)

    assert decided.service_level == pytest.approx(0.98)
    assert decided.z == pytest.approx(2.0537, abs=1e-4)
    assert decided.safety_stock == pytest.approx(30.81, abs=0.01)
    assert decided.reorder_point == pytest.approx(359.31, abs=0.01)
    assert decided.quantity == 146  # the EOQ: more than the 59.3 units below the ROP


def test_a_slow_mover_on_eoq_carries_no_safety_stock_when_spread_by_cycle() -> None:
    # d = 0.5/day, K = 50, h = 0.25, c = 1: EOQ = √(2·182.5·50/0.25) = 270 units, a 540-day
    # cycle: 1 − 0.05 × 540/14 < 0.5, so the level is the floor 0.5 and SS = 0
    settings = PolicySettings(service_level=0.95, rule="eoq", allocate_by_cycle=True)

    decided = plan(0.5, 1.0, 7.0, 2.0, InventoryPosition(), settings)

    assert decided.service_level == 0.5
    assert decided.safety_stock == 0.0
    assert decided.quantity == 271  # ⌈√73,000⌉ = ⌈270.2⌉


def test_order_up_to_keeps_its_service_level_when_spread_by_cycle() -> None:
    # every order-up-to item's cycle is the review period: the reference itself
    spread = PolicySettings(service_level=0.95, allocate_by_cycle=True)
    plain = PolicySettings(service_level=0.95)

    assert plan(10, 3, 4, 1, InventoryPosition(), spread) == plan(
        10, 3, 4, 1, InventoryPosition(), plain
    )


def test_abc_puts_the_sku_that_crosses_eighty_percent_in_a() -> None:
    values = {"CLOCK": 700.0, "KETTLE": 150.0, "MUG": 80.0, "SPOON": 40.0, "PIN": 30.0}

    classes = abc_classes(values)

    # shares before each: CLOCK 0%, KETTLE 70%, MUG 85%, SPOON 93%, PIN 97%
    assert classes == {"CLOCK": "A", "KETTLE": "A", "MUG": "B", "SPOON": "B", "PIN": "C"}


def test_xyz_reads_the_coefficient_of_variation() -> None:
    assert [xyz_class(10, 2), xyz_class(10, 7), xyz_class(10, 15), xyz_class(0, 0)] == [
        "X",
        "Y",
        "Z",
        "Z",
    ]


def test_abc_xyz_sets_the_service_level() -> None:
    assert service_level_for("AX") == 0.98
    assert service_level_for("CZ") == 0.90
    with pytest.raises(ValueError, match="no service level"):
        service_level_for("DX")


def plan_at(position: int, quantity: int, rop: float = 60.0) -> ReorderPlan:
    """A reorder plan at reorder point `rop` (units) for a position, proposing `quantity`."""
    return ReorderPlan(
        demand=10,
        demand_std=3,
        lead_time=4,
        lead_time_std=1,
        service_level=0.95,
        z=1.64,
        safety_stock=20,
        reorder_point=rop,
        order_up_to=rop + 70,
        position=position,
        quantity=quantity if position <= rop else 0,
    )


def test_a_proposal_is_raised_once_when_the_position_crosses_the_reorder_point() -> None:
    trigger = ReorderTrigger()

    trigger, first = trigger.consider(plan_at(80, 0))
    assert not first  # above the reorder point
    trigger, second = trigger.consider(plan_at(58, 72))
    assert second  # crossed
    trigger, third = trigger.consider(plan_at(52, 78))
    assert not third  # still below: no second proposal
    assert trigger.raised == 1


def test_a_proposal_is_raised_again_after_the_position_recovers_and_crosses_again() -> None:
    trigger, _ = ReorderTrigger().consider(plan_at(58, 72))

    trigger, _ = trigger.consider(plan_at(130, 0))  # the purchase order arrived
    trigger, again = trigger.consider(plan_at(59, 71))

    assert again
    assert trigger.raised == 2


def test_a_proposal_is_raised_again_when_a_whole_order_more_was_consumed() -> None:
    trigger, _ = ReorderTrigger().consider(plan_at(58, 72))  # proposed 72 at IP 58

    trigger, early = trigger.consider(plan_at(-10, 140))  # fell 68 further: not yet 72
    trigger, worse = trigger.consider(plan_at(-15, 145))  # fell 73: the situation changed

    assert not early
    assert worse
    assert trigger.raised == 2


def test_nothing_is_proposed_when_there_is_nothing_to_order() -> None:
    trigger, proposed = ReorderTrigger().consider(plan_at(40, 0))

    assert not proposed
    assert trigger.armed


def test_a_lognormal_lead_time_demand_has_its_median_below_the_mean() -> None:
    # μ = 70, σ = 35 (CV 0.5): s² = ln 1.25 = 0.22314, s = 0.47238, m = ln 70 − s²/2 = 4.13693;
    # median = e^m = 70 / √1.25 = 62.61; 95%: exp(4.13693 + 1.64485 × 0.47238) = e^4.91393 = 136.17
    assert lognormal_quantile(70, 35, 0.5) == pytest.approx(62.61, abs=0.01)
    assert lognormal_quantile(70, 35, 0.95) == pytest.approx(136.17, abs=0.01)
    assert lognormal_quantile(70, 0, 0.95) == 70
    assert lognormal_quantile(0, 5, 0.95) == 0


def test_a_lognormal_plan_sets_the_reorder_point_at_the_quantile_and_may_go_below_the_mean() -> (
    None
):
    # d = 10/day, σd = 17.5/day, L = 4 days, σL = 0: μ = 40, σ_L = √(4 × 17.5²) = 35, CV 0.875,
    # 1 + CV² = 1.765625. At 0.5 the ROP is the median 40 / √1.765625 = 30.10, so SS = −9.90;
    # order-up-to: S = 30.10 + 10 × 14 = 170.10, and from a position of 25 it orders 146.
    # At 0.99: exp(ln 30.103 + 2.32635 × √(ln 1.765625)) = exp(3.40463 + 1.75403) = 173.93,
    # above the normal's 40 + 2.32635 × 35 = 121.42 (the lognormal's long right tail).
    lognormal = PolicySettings(service_level=0.5, lead_time_demand="lognormal")
    median = plan(10, 17.5, 4, 0, InventoryPosition(on_hand=25), lognormal)

    assert median.reorder_point == pytest.approx(30.10, abs=0.01)
    assert median.safety_stock == pytest.approx(-9.90, abs=0.01)
    assert median.quantity == 146
    high = PolicySettings(service_level=0.99, lead_time_demand="lognormal")
    normal = PolicySettings(service_level=0.99)
    assert plan(10, 17.5, 4, 0, InventoryPosition(), high).reorder_point == pytest.approx(
        173.93, abs=0.01
    )
    assert plan(10, 17.5, 4, 0, InventoryPosition(), normal).reorder_point == pytest.approx(
        121.42, abs=0.01
    )


def test_a_lognormal_lead_time_demand_refuses_a_fill_rate_measure_saying_why() -> None:
    settings = PolicySettings(measure="fill_rate", lead_time_demand="lognormal")

    with pytest.raises(ValueError, match="cycle service level only"):
        plan(10, 3, 4, 1, InventoryPosition(), settings)
