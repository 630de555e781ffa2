"""Online Retail demand split by customer, and the customer-timing row of the forecast bench,
on a slice of the real data (SKUFLOW_DATA_DIR; without it these tests fail, saying where)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from api.forecast_bench import (
    BASELINE,
    SHOP_CLOSED,
    _daily_series,
    customer_method,
    daily_methods,
)
from connectors.replay.demand_history import RetailDemand, online_retail_demand
from connectors.replay.online_retail import data_file
from connectors.settings import Settings
from state.demand.calendar import closed_indices
from state.demand.evaluation import evaluate


@pytest.fixture(scope="module")
def demand() -> RetailDemand:
    folder = Settings().data_dir
    try:
        data_file(folder)
    except FileNotFoundError as exc:
        pytest.fail(f"the benchmarks' data is missing: {exc}", pytrace=False)
    return online_retail_demand(Path(folder), limit_rows=20_000)


def test_each_skus_days_split_by_customer_add_up_to_its_demand(demand: RetailDemand) -> None:
    by_sku = demand.by_sku()
    split = demand.customer_orders()

    assert set(split) == set(by_sku)
    for sku, days in by_sku.items():
        for day, units in days.items():
            assert sum(split[sku][day].values()) == pytest.approx(units)
    customers = {c for days in split.values() for day in days.values() for c in day}
    assert None in customers  # guests: a blank CustomerID
    assert all(c is None or c.isdigit() for c in customers)


def test_the_customer_timing_row_scores_the_baselines_series(demand: RetailDemand) -> None:
    panel = _daily_series(demand.by_sku(), demand, 8)[:40]
    closed = closed_indices(demand.first_day, SHOP_CLOSED)
    baseline = next(m for m in daily_methods(closed) if m.name == BASELINE)
    phase = demand.first_day.weekday()

    timing = evaluate(panel, customer_method(demand.customer_orders(), closed), 7, phase)
    moving = evaluate(panel, baseline, 7, phase)

    assert timing.series == moving.series > 0
    assert math.isfinite(timing.mase)
    assert abs(timing.bias) < 1.0
