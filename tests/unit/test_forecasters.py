"""Forecasters on known series converge to the right answer; river's pitfalls stay wrapped."""

from __future__ import annotations

import copy
import math

import pytest
from river import time_series

from state.demand.baselines import MovingAverage, SeasonalNaive
from state.demand.classify import DemandPattern, PatternStats, classify
from state.demand.forecast import Forecast, Forecaster, over
from state.demand.holt_winters import RiverHoltWinters
from state.demand.intermittent import Croston, Tsb, sba
from state.demand.selector import (
    SBA,
    SMOOTHING,
    TEXTBOOK_RULES,
    TSB,
    daily_forecaster,
    monthly_forecaster,
)
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams

WEEK = (10.0, 12.0, 14.0, 16.0, 18.0, 0.0, 8.0)  # a shop that never sells on its sixth day


def learnt(model: Forecaster, series: list[float] | tuple[float, ...]) -> Forecaster:
    for y in series:
        model = model.update(y)
    return model


def next_week(model: Forecaster) -> list[float]:
    return [model.forecast(h).mean for h in range(1, 8)]


@pytest.mark.parametrize(
    "model",
    [
        SeasonalSmoothing.starting(SmoothingParams(alpha=0.2)),
        SeasonalSmoothing.starting(SmoothingParams(alpha=0.2, additive=True)),
        Croston(0.2),
        Tsb(0.2, 0.2),
        RiverHoltWinters(alpha=0.2, gamma=0.2),
        MovingAverage(28),
        SeasonalNaive(7),
    ],
    ids=lambda m: type(m).__name__,
)
def test_every_forecaster_learns_a_constant_demand(model: Forecaster) -> None:
    model = learnt(model, [5.0] * 60)

    assert model.forecast(1).mean == pytest.approx(5.0, abs=1e-6)
    assert model.forecast(5).mean == pytest.approx(5.0, abs=1e-6)
    assert model.forecast(1).variance == pytest.approx(0.0, abs=1e-6)


def test_sba_forecasts_a_constant_demand_shrunk_by_half_alpha() -> None:
    model = learnt(sba(0.2), [5.0] * 60)

    assert model.forecast(1).mean == pytest.approx(5.0 * (1 - 0.2 / 2))


@pytest.mark.parametrize("additive", [False, True], ids=["multiplicative", "additive"])
def test_smoothing_learns_a_weekly_pattern_with_a_closed_day(additive: bool) -> None:
    params = SmoothingParams(0.1, 0.2, additive=additive)

    model = learnt(SeasonalSmoothing.starting(params), WEEK * 30)

    assert next_week(model) == pytest.approx(WEEK, abs=0.3)


def test_smoothing_survives_a_series_that_opens_with_a_week_of_zeros() -> None:
    model = learnt(SeasonalSmoothing.starting(SmoothingParams(0.1, 0.2)), [0.0] * 7)
    assert model.forecast(1) == Forecast(0.0, 0.0)

    model = learnt(model, WEEK * 30)
    assert next_week(model) == pytest.approx(WEEK, abs=0.3)


def test_a_shared_profile_turns_a_flat_level_into_the_week() -> None:
    shared = learnt(SeasonalSmoothing.starting(SmoothingParams(0.1, 0.2)), WEEK * 30)
    assert isinstance(shared, SeasonalSmoothing)
    pooled = SeasonalSmoothing.starting(SmoothingParams(0.1, gamma=0.0)).with_profile(
        shared.profile
    )

    for y in WEEK * 10:
        pooled = pooled.update(y)

    assert next_week(pooled) == pytest.approx(WEEK, abs=0.3)


def test_the_horizon_sums_the_forecasts_of_each_day() -> None:
    model = learnt(SeasonalSmoothing.starting(SmoothingParams(0.1, 0.2)), [*WEEK, 3.0] * 9)
    assert isinstance(model, SeasonalSmoothing)

    summed = model.horizon(10)
    stepped = over(model, 10)

    assert summed.mean == pytest.approx(stepped.mean)
    assert summed.variance == pytest.approx(stepped.variance)


def test_a_variance_tracks_the_noise_of_a_series() -> None:
    noisy = [10.0 + (3.0 if n % 2 else -3.0) for n in range(400)]  # ±3 around 10

    model = learnt(SeasonalSmoothing.starting(SmoothingParams(0.05, 0.0, period=1)), noisy)

    assert model.forecast(1).mean == pytest.approx(10.0, abs=0.5)
    assert math.sqrt(model.forecast(1).variance) == pytest.approx(3.0, rel=0.1)
    assert model.forecast(1).quantile(0.5) == pytest.approx(model.forecast(1).mean)


def test_a_robust_variance_clips_a_spike_at_three_sigma() -> None:
    noisy = [10.0 + (3.0 if n % 2 else -3.0) for n in range(400)]  # σ = 3 around 10
    robust = SmoothingParams(0.05, 0.0, period=1, beta=0.01, clip=3.0)
    calm = learnt(SeasonalSmoothing.starting(robust), noisy)

    spiked = calm.update(1000.0)

    clipped = 3.0 * math.sqrt(calm.forecast(1).variance)  # the error learnt: 3σ, not 990
    expected = 0.99 * calm.errors.total + 0.01 * clipped**2
    assert spiked.errors.total == pytest.approx(expected, rel=0.05)


def test_a_robust_variance_learns_the_first_demand_after_a_quiet_start() -> None:
    robust = SmoothingParams(0.02, 0.0, period=1, beta=0.01, clip=3.0)
    quiet = learnt(SeasonalSmoothing.starting(robust), [0.0] * 200)
    busy = learnt(SeasonalSmoothing.starting(robust), [5.0] * 200)
    assert quiet.forecast(1).variance == 0.0  # nothing seen: no spread yet

    first = learnt(quiet, [0.0, 20.0])
    assert first.errors.total == pytest.approx(0.01 * 20.0**2)  # learnt whole, not clipped to 0
    spiked = learnt(busy, [0.0, 20.0])  # its first error (−5) is seen: 20 is clipped at 3σ
    assert spiked.errors.total < first.errors.total


def test_holt_winters_follows_a_trend() -> None:
    ramp = [float(t) for t in range(200)]  # the trend starts at 0: the wrapper does not guess it

    model = learnt(RiverHoltWinters(alpha=0.3, beta=0.1, gamma=0.1), ramp)

    assert [model.forecast(h).mean for h in (1, 2, 3)] == pytest.approx([200, 201, 202], abs=0.5)


def test_holt_winters_learns_a_weekly_pattern_after_a_week_of_zeros() -> None:
    model = learnt(RiverHoltWinters(alpha=0.2, gamma=0.2), [0.0] * 7 + list(WEEK * 20))

    assert next_week(model) == pytest.approx(WEEK, abs=1.0)


def test_river_alone_divides_by_zero_on_a_week_of_zeros_and_the_wrapper_does_not() -> None:
    river = time_series.HoltWinters(alpha=0.3, beta=0.1, gamma=0.1, seasonality=7)
    for _ in range(6):
        river.learn_one(0.0)
    with pytest.raises(ZeroDivisionError):  # the 7th value completes the season: y / mean(0)
        river.learn_one(0.0)

    wrapped = learnt(RiverHoltWinters(alpha=0.3, beta=0.1, gamma=0.1), [0.0] * 7 + [5.0] * 80)
    assert wrapped.forecast(1).mean == pytest.approx(5.0, abs=0.5)


def test_river_alone_forecasts_negative_demand_on_a_clean_weekly_pattern() -> None:
    river = time_series.HoltWinters(alpha=0.3, beta=0.1, gamma=0.1, seasonality=7)
    forecasts = []
    for y in [20.0] + [5.0] * 13 + list(WEEK * 2):
        if river._initialized:
            forecasts.append(river.forecast(1)[0])
        river.learn_one(y)

    assert min(forecasts) < 0  # the pitfall the wrapper's own initialisation avoids
    assert all(y >= 0 for y in next_week(learnt(RiverHoltWinters(), [20.0] + [5.0] * 27)))


def test_the_holt_winters_wrapper_is_mutable_and_copies_on_request() -> None:
    model = learnt(RiverHoltWinters(), list(WEEK * 3))
    assert isinstance(model, RiverHoltWinters)
    kept = model.copy()

    model.update(100.0)

    assert kept.forecast(1) != model.forecast(1)
    assert copy.deepcopy(kept).forecast(1) == kept.forecast(1)


def test_croston_learns_size_and_interval_of_intermittent_demand() -> None:
    model = learnt(Croston(0.2), [0.0, 0.0, 6.0] * 40)

    assert isinstance(model, Croston)
    assert model.size == pytest.approx(6.0)
    assert model.interval == pytest.approx(3.0)
    assert model.forecast(1).mean == pytest.approx(2.0)


def test_tsb_decays_when_demand_stops_and_croston_does_not() -> None:
    history = [0.0, 0.0, 6.0] * 40
    croston, tsb = learnt(Croston(0.2), history), learnt(Tsb(0.2, 0.2), history)
    assert tsb.forecast(1).mean == pytest.approx(2.0, rel=0.35)

    croston, tsb = learnt(croston, [0.0] * 30), learnt(tsb, [0.0] * 30)

    assert croston.forecast(1).mean == pytest.approx(2.0)
    assert tsb.forecast(1).mean < 0.01


def test_a_count_median_of_intermittent_demand_is_zero() -> None:
    sparse = Forecast(mean=0.5, variance=5.0)

    assert sparse.count_quantile(0.5) == 0
    assert sparse.count_quantile(0.95) >= 2
    assert Forecast(3.0, 3.0).count_quantile(0.5) == 3  # Poisson(3)


@pytest.mark.parametrize(
    ("series", "pattern"),
    [
        ([10.0, 11.0, 9.0, 10.0] * 30, DemandPattern.SMOOTH),
        ([1.0, 30.0, 2.0, 25.0] * 30, DemandPattern.ERRATIC),
        ([0.0, 0.0, 5.0, 0.0, 6.0, 0.0] * 20, DemandPattern.INTERMITTENT),
        ([0.0, 0.0, 1.0, 0.0, 40.0, 0.0] * 20, DemandPattern.LUMPY),
    ],
    ids=lambda v: v.value if isinstance(v, DemandPattern) else "",
)
def test_adi_and_cv2_classify_a_series(series: list[float], pattern: DemandPattern) -> None:
    stats = PatternStats(memory=1000.0)
    for y in series:
        stats = stats.update(y)

    assert stats.pattern is pattern


def test_the_classification_cut_offs_are_syntetos_boylans() -> None:
    assert classify(1.31, 0.48) is DemandPattern.SMOOTH
    assert classify(1.32, 0.48) is DemandPattern.INTERMITTENT
    assert classify(1.31, 0.49) is DemandPattern.ERRATIC
    assert classify(1.32, 0.49) is DemandPattern.LUMPY


def test_the_selector_switches_method_when_the_pattern_changes() -> None:
    model = monthly_forecaster(rules=TEXTBOOK_RULES)
    model = learnt(model, [10.0, 11.0, 9.0, 10.0] * 6)
    assert (model.pattern, model.method) == (DemandPattern.SMOOTH, SMOOTHING)

    model = learnt(model, [0.0, 0.0, 5.0, 0.0, 6.0, 0.0] * 12)
    assert (model.pattern, model.method) == (DemandPattern.INTERMITTENT, SBA)

    model = learnt(model, [0.0, 0.0, 1.0, 0.0, 40.0, 0.0] * 12)
    assert (model.pattern, model.method) == (DemandPattern.LUMPY, TSB)
    assert model.forecast(1) == model.candidates[TSB].forecast(1)


def test_the_daily_selector_keeps_weekly_smoothing_for_every_pattern() -> None:
    model = learnt(daily_forecaster(), [0.0, 0.0, 1.0, 0.0, 40.0, 0.0, 0.0] * 12)

    assert model.pattern is DemandPattern.LUMPY
    assert model.method == SMOOTHING


def test_smoothing_refuses_a_rate_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="alpha"):
        SmoothingParams(alpha=0.0)
    with pytest.raises(ValueError, match="gamma"):
        SmoothingParams(gamma=1.5)


def test_the_measured_rules_keep_smoothing_for_every_pattern() -> None:
    model = learnt(monthly_forecaster(), [0.0, 0.0, 1.0, 0.0, 40.0, 0.0] * 12)

    assert model.pattern is DemandPattern.LUMPY
    assert model.method == SMOOTHING
    assert set(model.candidates) == {SMOOTHING}  # nothing learns that no rule would choose
