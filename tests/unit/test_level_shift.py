"""The level-shift detector: a step is caught within days, a flat noisy series mostly is not."""

from __future__ import annotations

import math
import random

import pytest

from state.demand.level_shift import LevelShift, ShiftParams
from state.demand.simulation import SimSeries, Skuflow, simulate
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams

SLOW = SmoothingParams(alpha=0.02, gamma=0.0, beta=0.01, clip=3.0)  # the replenishment's


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def detector() -> LevelShift:
    return LevelShift(SeasonalSmoothing.starting(SLOW), ShiftParams())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_step_from_2_to_10_a_day_is_caught_within_eleven_days(seed: int) -> None:
    rng = random.Random(seed)
    model, plain = detector(), SeasonalSmoothing.starting(SLOW)
    for day in range(60 + 11):
        y = poisson(rng, 2.0 if day < 60 else 10.0)
        model, plain = model.update(y), plain.update(y)

    assert model.shifts >= 1
    assert model.level >= 7.0
    assert plain.level < 5.0  # the slow smoother alone is still far behind


def test_a_noise_free_step_is_caught_at_once() -> None:
    # Without the clip: SLOW's clipped variance, 0 after a constant start, would clip every
    # later error to 0 and never grow (SeasonalSmoothing's robust variance needs some noise).
    plain_variance = SmoothingParams(alpha=0.02, gamma=0.0, beta=0.01)
    model = LevelShift(SeasonalSmoothing.starting(plain_variance), ShiftParams())
    for _ in range(30):
        model = model.update(2.0)
    assert model.shifts == 0  # no error, no variance: nothing to detect
    for _ in range(3):
        model = model.update(10.0)
    assert model.shifts == 1
    for _ in range(4):
        model = model.update(10.0)

    assert model.level > 7.5  # a plain α = 0.02 smoother: 2 + 8·(1 − 0.98⁷) ≈ 3.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_step_down_is_caught_too(seed: int) -> None:
    rng = random.Random(seed)
    model = detector()
    for day in range(60 + 14):
        model = model.update(poisson(rng, 10.0 if day < 60 else 2.0))

    assert model.level <= 4.0


@pytest.mark.parametrize("seed", range(5))
def test_a_flat_noisy_series_resets_rarely_and_keeps_its_mean(seed: int) -> None:
    # Poisson(5) for a year: a false alarm now and then (2 to 6 a year on these seeds; each
    # moves the level to the fast one), but the level averages the true mean.
    rng = random.Random(seed)
    model, levels = detector(), []
    for day in range(365):
        model = model.update(poisson(rng, 5.0))
        if day >= 60:
            levels.append(model.level)

    assert model.shifts <= 8
    assert sum(levels) / len(levels) == pytest.approx(5.0, rel=0.1)


def test_nothing_is_detected_while_it_settles() -> None:
    model = detector()
    for y in (1.0, 0.0, 2.0, 30.0, 0.0, 0.0, 1.0, 25.0, 0.0, 3.0, 0.0, 40.0, 1.0, 0.0):
        model = model.update(y)
    assert model.seen == 14
    assert model.shifts == 0


def test_forecasts_are_the_slow_models_and_a_profile_swap_keeps_the_fast_level() -> None:
    model = detector()
    for y in (4.0, 6.0, 5.0, 0.0, 7.0, 5.0, 3.0) * 4:
        model = model.update(y)
    weekday = (1.2, 1.2, 1.2, 1.2, 1.2, 0.0, 1.0)
    swapped = model.with_profile(weekday)

    assert model.forecast(3) == model.inner.forecast(3)
    assert model.horizon(7) == model.inner.horizon(7)
    assert model.path(7) == model.inner.path(7)
    assert swapped.profile == weekday
    assert (swapped.fast_level, swapped.seen) == (model.fast_level, model.seen)
    assert swapped.level == model.level


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="fast_alpha"):
        ShiftParams(fast_alpha=0.0)
    with pytest.raises(ValueError, match="positive"):
        ShiftParams(threshold=0.0)
    with pytest.raises(ValueError, match="multiplicative"):
        LevelShift(SeasonalSmoothing.starting(SmoothingParams(additive=True)))


def test_the_replenishment_simulation_runs_on_it() -> None:
    rng = random.Random(7)
    ramp = tuple(float(poisson(rng, 2.0 if day < 80 else 10.0)) for day in range(200))
    series = SimSeries("RAMP@LDN", "RAMP", 0, ramp, 0, 1.0, (7,) * 128)
    policy = Skuflow("skuflow", 0.95)

    with_detector = simulate([series], [policy], lambda s: detector(), warmup=28)[0]
    alone = simulate([series], [policy], lambda s: SeasonalSmoothing.starting(SLOW), warmup=28)[0]

    assert with_detector.demand == alone.demand
    assert with_detector.fill_rate > alone.fill_rate
