"""The replenishment simulation on hand-made series: what each policy holds, fills and orders."""

from __future__ import annotations

import pytest

from state.demand.simulation import MinMax, Outcome, SimSeries, Skuflow, simulate
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams

STEADY = SmoothingParams(alpha=0.1, gamma=0.0)


def steady(key: str, per_day: float, days: int = 200) -> SimSeries:
    return SimSeries(key, key.partition("@")[0], 0, (per_day,) * days, 0, 2.0, (7,) * 128)


def run(panel: list[SimSeries], *policies: MinMax | Skuflow) -> dict[str, Outcome]:
    outcomes = simulate(
        panel, policies, lambda s: SeasonalSmoothing.starting(STEADY, (), s.phase), warmup=14
    )
    return {o.policy: o for o in outcomes}


def test_a_steady_series_is_always_served_from_a_min_max_shelf() -> None:
    # min = 10 × (7 + 7) = 140, max = 140 + 10 × 14 = 280: an order of 140 lands 7 days after
    # the position reaches 140, when 70 are left; the shelf never empties, and the day ends
    # with 200, 190, ..., 70 on it: 135 on average (more at first: it opens at the max, 280)
    outcome = simulate(
        [steady("RETRO-CLOCK@LDN", 10.0)],
        [MinMax("min/max")],
        lambda s: SeasonalSmoothing.starting(STEADY, (), s.phase),
        warmup=14,
    )[0]

    assert outcome.fill_rate == 1.0
    assert outcome.demand == 10.0 * (200 - 14)
    assert outcome.stock_days / outcome.days == pytest.approx(135, abs=15)


def test_every_policy_meets_the_same_demand() -> None:
    panel = [steady("RETRO-CLOCK@LDN", 10.0), steady("BLUE-VASE@LDN", 3.0)]

    outcomes = run(
        panel, MinMax("min/max"), Skuflow("skuflow", 0.95), Skuflow("eoq", 0.95, rule="eoq")
    )

    assert len({o.demand for o in outcomes.values()}) == 1


def test_eoq_reorders_a_fast_mover_more_often_than_a_slow_one() -> None:
    # EOQ ∝ √d: 100/day orders √100 = 10 times as much as 1/day, so 10 times as often;
    # order-up-to brings 14 days of demand whatever the rate, so both reorder alike
    eoq = Skuflow("eoq", 0.95, rule="eoq", order_cost=0.35, allocate_by_cycle=True)
    order_up_to = Skuflow("order-up-to", 0.95)
    fast = run([steady("PAPER-CHAIN@LDN", 100.0)], eoq, order_up_to)
    slow = run([steady("TEA-COSY@LDN", 1.0)], eoq, order_up_to)

    assert fast["eoq"].orders > 3 * slow["eoq"].orders
    assert fast["order-up-to"].orders == pytest.approx(
        slow["order-up-to"].orders,
        abs=2,
    )


def test_a_lognormal_lead_time_demand_holds_less_for_a_lumpy_series_at_the_median() -> None:
    # 2 a day and 100 every 10th day: lead times mostly see 2s, so the median lead-time demand
    # is far below the mean (which spreads the big days over every day); the lognormal ROP at
    # 0.5 sits at that median, the normal's at the mean
    lumpy = tuple(100.0 if day % 10 == 9 else 2.0 for day in range(200))
    panel = [SimSeries("GIFT-BOX@LDN", "GIFT-BOX", 0, lumpy, 0, 2.0, (7,) * 128)]

    outcomes = run(
        panel,
        Skuflow("normal", 0.5, rule="eoq", order_cost=0.35),
        Skuflow("lognormal", 0.5, rule="eoq", order_cost=0.35, lead_time_demand="lognormal"),
    )

    assert outcomes["lognormal"].stock_days < outcomes["normal"].stock_days
    assert outcomes["lognormal"].fill_rate <= outcomes["normal"].fill_rate
