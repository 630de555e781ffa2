"""Reading the replenishment bench's trade-off curves: stock at a fill rate, fill at a stock."""

from __future__ import annotations

import pytest

from api.replenishment_bench import best_fill, fill_at_stock, stock_at_fill
from state.demand.simulation import Outcome


def point(policy: str, fill: float, units: float, orders: int = 100) -> Outcome:
    # one calendar day, demand 1000: fill rate = served / 1000, average stock = stock-days
    return Outcome(policy, 1000.0, fill * 1000.0, units, 2 * units, 1, orders, 1)


CURVE = [
    point("EOQ 0.5", 0.60, 80.0),
    point("EOQ 0.8", 0.70, 100.0),
    point("EOQ 0.99", 0.80, 150.0),
]


def test_the_fill_rate_at_a_stock_is_read_between_the_bracketing_points() -> None:
    assert fill_at_stock(CURVE, 125.0) == pytest.approx(0.75)
    assert fill_at_stock(CURVE, 80.0) == pytest.approx(0.60)
    assert fill_at_stock(CURVE, 70.0) is None  # even its leanest point holds more
    assert fill_at_stock(CURVE, 400.0) == pytest.approx(0.80)  # its top: at least that


def test_stock_at_fill_and_fill_at_stock_read_the_same_curve_both_ways() -> None:
    units, _value = stock_at_fill(CURVE, 0.75) or (None, None)
    assert units == pytest.approx(125.0)
    assert fill_at_stock(CURVE, 125.0) == pytest.approx(0.75)


def test_the_best_fill_comes_from_curves_placing_no_more_orders_than_the_baseline() -> None:
    baseline = point("min/max", 0.68, 120.0, orders=100)
    busy = [point("often 0.5", 0.70, 60.0, orders=300), point("often 0.9", 0.95, 90.0, orders=300)]
    named = {"EOQ": CURVE, "often": busy}
    assert best_fill(named, baseline) == ("EOQ", pytest.approx(0.74))
    assert best_fill({"often": busy}, baseline) == (None, None)
