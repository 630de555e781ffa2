"""The least stock for a fill rate when days cannot be foreseen, against hand-computed cases."""

from __future__ import annotations

import pytest

from state.demand.fill_bound import Segment, least_stock_days, segments


def test_each_demand_size_is_a_corner_of_the_stock_and_served_curve() -> None:
    # days 0, 2, 2, 6. S = 2: stock (2−0) + 0 + 0 = 2, served 0 + 2 + 2 + 2 = 6;
    # S = 6: stock 6 + 4 + 4 + 0 = 14, served 0 + 2 + 2 + 6 = 10
    assert segments([0, 2, 2, 6]) == [Segment(2, 6), Segment(12, 4)]


def test_the_least_stock_reads_between_the_corners() -> None:
    # 10 units; 60% = 6 units is the first corner (2 stock-days); 80% = 8 units is half-way up
    # the second piece: 2 + 12 × 2/4 = 8 stock-days
    assert least_stock_days([[0, 2, 2, 6]], 0.6) == pytest.approx(2)
    assert least_stock_days([[0, 2, 2, 6]], 0.8) == pytest.approx(8)


def test_stock_goes_first_where_it_serves_the_most_units() -> None:
    # a series asking 5 every day is served in full for no stock left at night (slope ∞); then
    # the lumpy one's first piece (6 units for 2): 60% of 15 = 9 = 5 + 4 → 2 × 4/6 = 1.33
    assert least_stock_days([[0, 2, 2, 6], [5]], 0.6) == pytest.approx(4 / 3)


def test_no_stock_serves_more_than_every_unit() -> None:
    assert least_stock_days([[0, 2, 2, 6]], 1.0) == pytest.approx(14)
    assert least_stock_days([[0, 2, 2, 6]], 1.01) is None
