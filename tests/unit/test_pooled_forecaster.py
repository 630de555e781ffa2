"""The pooled online model learns from many series at once, one day at a time, without peeking."""

from __future__ import annotations

import pytest

from state.demand.pooled import (
    PooledDemandModel,
    PooledForecast,
    PooledParams,
    PooledSeries,
    SeriesHistory,
)

WEEK = (10.0, 12.0, 14.0, 16.0, 18.0, 0.0, 8.0)  # a shop that never sells on its sixth day


def panel(model: PooledDemandModel, count: int, point: str = "mean") -> list[PooledSeries]:
    return [PooledSeries.starting(model, day=0, weekday=0, point=point) for _ in range(count)]


def learnt_days(series: list[PooledSeries], days: list[float]) -> list[PooledSeries]:
    """Every series learns the same days, day by day across the panel (test-then-train)."""
    for y in days:
        series = [one.update(y) for one in series]
    return series


def test_a_constant_demand_is_forecast_as_that_constant() -> None:
    model = PooledDemandModel()
    series = learnt_days(panel(model, 10), [5.0] * 120)

    made = series[0].predict()

    assert made.mean == pytest.approx(5.0, rel=0.1)
    assert made.median == pytest.approx(5.0, rel=0.1)
    assert made.upper >= made.median
    assert series[0].forecast(1).mean == made.mean


def test_a_weekly_pattern_is_learnt_day_by_day() -> None:
    model = PooledDemandModel()
    series = learnt_days(panel(model, 10, point="median"), list(WEEK) * 30)

    week = []
    for y in WEEK:
        week.append(series[0].forecast(1).mean)
        series = [one.update(y) for one in series]

    assert week[5] < 2.0  # the closed day
    assert all(abs(got - want) < 3.0 for got, want in zip(week, WEEK, strict=True) if want > 0)


SPARSE = (0, 0, 9, 0, 0, 3, 0, 0, 0, 0, 12, 0, 0, 0, 5, 0, 0, 0, 0, 0, 2, 0, 0, 7, 0, 0, 0, 0)


def test_an_intermittent_series_gets_a_mostly_zero_median_beside_a_positive_mean() -> None:
    model = PooledDemandModel()
    pattern = [float(y) for y in SPARSE] * 2
    series = learnt_days(panel(model, 10), [float(y) for y in SPARSE] * 8)

    forecasts: list[PooledForecast] = []
    for y in pattern:
        forecasts.append(series[0].predict())
        series = [one.update(y) for one in series]

    zero_days = [f for f, y in zip(forecasts, pattern, strict=True) if y == 0]
    assert sum(1 for f in zero_days if f.median < 1.0) > len(zero_days) / 2
    median_error = sum(abs(f.median - y) for f, y in zip(forecasts, pattern, strict=True))
    mean_error = sum(abs(f.mean - y) for f, y in zip(forecasts, pattern, strict=True))
    assert median_error <= mean_error  # the median is the point that minimises |error|
    assert sum(f.mean for f in forecasts) == pytest.approx(sum(pattern), rel=0.5)
    assert all(f.upper >= f.median >= 0 for f in forecasts)
    assert series[0].forecast(1).variance > 0  # the uncertainty comes with the forecast


def test_a_series_is_forecast_before_its_day_is_learnt_by_anyone() -> None:
    model = PooledDemandModel()
    early, late = learnt_days(panel(model, 2), [4.0] * 30)

    before = late.predict()
    early.update(400.0)  # the same calendar day, learnt by another series first
    assert late.predict() == before
    late = late.update(4.0)

    assert late.predict() != before  # the next day reads what both learnt


def test_the_model_is_deterministic() -> None:
    def run() -> list[float]:
        series = learnt_days(panel(PooledDemandModel(), 3), list(WEEK) * 6)
        return [*series[0].predict(), series[0].forecast(1).variance]

    assert run() == run()


def test_a_series_without_demand_yet_forecasts_zero_and_teaches_nothing() -> None:
    model = PooledDemandModel()
    series = learnt_days(panel(model, 1), [0.0, 0.0, 0.0])
    series = learnt_days(series, [0.0])  # the next day flushes the queued zero-scale days

    assert series[0].predict() == PooledForecast(0.0, 0.0, 0.0)
    assert model.learnt == 0
    assert SeriesHistory().features() == {"weekday_0": 1.0}


def test_features_of_a_short_history_fill_in_neutral_values() -> None:
    history = SeriesHistory(phase=3).update(6.0).update(0.0)

    x = history.features()

    assert x["weekday_5"] == 1.0
    assert x["lag_1"] == 0.0
    assert x["lag_2"] == 2.0  # 6 units against a mean of 3 a day
    assert x["lag_3"] == 1.0  # not seen yet: neutral
    assert x["same_weekday"] == 1.0
    assert x["cv2"] == 1.0  # one demand: its sizes are unknown
    assert x["zero_share"] == 0.5


@pytest.mark.parametrize("h", [0, 2])
def test_only_the_next_day_is_forecast(h: int) -> None:
    series = PooledSeries.starting(PooledDemandModel(), 0, 0)

    with pytest.raises(ValueError, match="one day ahead"):
        series.forecast(h)


def test_a_point_is_the_mean_or_the_median() -> None:
    with pytest.raises(ValueError, match="'mean' or 'median'"):
        PooledSeries(PooledDemandModel(), point="mode")


@pytest.mark.parametrize("params", [{"quantile_lr": 0.0}, {"mean_lr": -1.0}])
def test_step_sizes_must_be_positive(params: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        PooledParams(**params)
