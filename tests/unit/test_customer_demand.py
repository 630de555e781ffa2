"""The customer-timing forecaster (`state.demand.customers`) on series whose answer is known."""

from __future__ import annotations

import random

from state.demand.customers import CustomerDemand, CustomerParams
from state.demand.forecast import Forecaster
from state.demand.smoothing import SmoothingParams

WEEKLY_BUYER = "C-ACME-WHOLESALE"


def _weekly(orders: int, units: float = 12.0) -> CustomerDemand:
    """A SKU one customer has bought every 7 days, `orders` times; the next day is day 1 after
    the last order."""
    model = CustomerDemand.starting()
    for day in range(7 * (orders - 1) + 1):
        model = model.learn({WEEKLY_BUYER: units} if day % 7 == 0 else {})
    return model


def test_a_customer_ordering_every_seven_days_is_expected_on_the_seventh() -> None:
    model = _weekly(orders=12)
    by_age = {}
    for age in range(1, 8):
        by_age[age] = model.forecast(1).mean
        if age < 7:
            model = model.learn({})
    assert by_age[7] == max(by_age.values())
    assert by_age[7] > 5 * by_age[3]
    assert 6.0 < by_age[7] < 14.0  # about the 12 units they order


def test_a_customer_who_never_returns_fades_away() -> None:
    model = _weekly(orders=6)
    due = model
    for _ in range(6):
        due = due.learn({})
    at_due = due.repeat_demand()
    for _ in range(120):
        due = due.learn({})
    assert at_due > 1.0
    assert due.repeat_demand() < 0.01 * at_due
    assert WEEKLY_BUYER not in due.buyers  # dropped once they are almost surely gone


def test_a_lapsed_customer_who_comes_back_is_learnt_as_a_newcomer() -> None:
    model = _weekly(orders=3)
    for _ in range(365):
        model = model.learn({})
    assert WEEKLY_BUYER not in model.buyers
    back = model.learn({WEEKLY_BUYER: 5.0})
    assert back.buyers[WEEKLY_BUYER].orders == 1


def test_the_forecast_is_unbiased_on_a_stationary_renewal_process() -> None:
    draw = random.Random(7)
    customers = [f"C-{n}" for n in range(30)]
    means = {c: draw.uniform(5, 40) for c in customers}
    next_order = {c: draw.randint(0, 30) for c in customers}
    model = CustomerDemand.starting()
    forecast_total = demand_total = 0.0
    for day in range(1500):
        orders: dict[str | None, float] = {}
        for c in customers:
            if next_order[c] == day:
                orders[c] = float(draw.randint(1, 24))
                next_order[c] = day + max(1, round(draw.gammavariate(4.0, means[c] / 4.0)))
        if draw.random() < 0.3:
            orders[None] = float(draw.randint(1, 6))  # a guest
        if day >= 300:
            forecast_total += model.forecast(1).mean
            demand_total += sum(orders.values())
        model = model.learn(orders)
    assert abs(forecast_total / demand_total - 1) < 0.05


def test_unattributed_demand_is_learnt_as_a_level() -> None:
    level = SmoothingParams(alpha=0.2, gamma=0.0)
    model: Forecaster = CustomerDemand.starting(CustomerParams(level=level))
    for _ in range(200):
        model = model.update(10.0)
    assert abs(model.forecast(1).mean - 10.0) < 0.1


def test_a_closed_day_forecasts_nothing_and_teaches_nothing() -> None:
    model = CustomerDemand.starting(closed=frozenset({5}))
    for day in range(5):
        model = model.learn({WEEKLY_BUYER: 3.0} if day == 0 else {None: 2.0})
    assert model.forecast(1).mean == 0.0
    after = model.learn({})
    assert after.inner.demand == model.inner.demand
    assert after.forecast(1).mean > 0.0


def test_the_model_is_frozen_and_learning_returns_a_new_one() -> None:
    model = _weekly(orders=2)
    before = dict(model.buyers)
    model.learn({WEEKLY_BUYER: 1.0, "C-OTHER": 2.0})
    assert dict(model.buyers) == before
