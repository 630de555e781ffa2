"""A forecaster behind the site's trading calendar says 0 for a closed day and learns nothing
from its zero, while its weekly profile stays in step with the calendar."""

from __future__ import annotations

from datetime import date

import pytest

from state.demand.baselines import MovingAverage
from state.demand.calendar import TradingDays, closed_indices, passed
from state.demand.evaluation import Method, Series, evaluate
from state.demand.selector import daily_forecaster
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams

WEEK = (10.0, 12.0, 14.0, 16.0, 18.0, 0.0, 8.0)  # a shop that never sells on its sixth day
LEARN_WEEK = SmoothingParams(alpha=0.1, gamma=0.2)


def learnt(model: TradingDays, days: list[float]) -> TradingDays:
    for y in days:
        model = model.update(y)
    return model


def test_closed_dates_become_calendar_indices_from_the_first_day() -> None:
    closed = closed_indices(date(2010, 12, 1), [date(2010, 11, 30), date(2010, 12, 25)])

    assert closed == frozenset({24})


def test_a_closed_day_is_forecast_as_no_demand() -> None:
    model = learnt(TradingDays(MovingAverage(7), frozenset({30})), [5.0] * 30)

    assert model.forecast(1).mean == 0.0
    assert model.forecast(2).mean == pytest.approx(5.0)


def test_a_constant_is_learnt_and_kept_through_a_closed_week() -> None:
    closed = frozenset(range(60, 67))
    days = [0.0 if day in closed else 6.0 for day in range(90)]

    model = learnt(TradingDays(SeasonalSmoothing.starting(SmoothingParams()), closed), days)

    assert model.forecast(1).mean == pytest.approx(6.0, rel=0.01)


def test_without_the_calendar_the_closed_week_drags_the_level_down() -> None:
    closed = frozenset(range(60, 67))
    days = [0.0 if day in closed else 6.0 for day in range(70)]
    blind = SeasonalSmoothing.starting(SmoothingParams(alpha=0.1))
    for y in days:
        blind = blind.update(y)

    seeing = learnt(
        TradingDays(SeasonalSmoothing.starting(SmoothingParams(alpha=0.1)), closed), days
    )

    assert blind.forecast(1).mean < 4.0
    assert seeing.forecast(1).mean == pytest.approx(6.0, rel=0.01)


def test_a_weekly_pattern_stays_in_step_across_closed_days() -> None:
    closed = frozenset({100, 101, 108})
    days = [0.0 if day in closed else WEEK[day % 7] for day in range(140)]
    model = learnt(TradingDays(SeasonalSmoothing.starting(LEARN_WEEK), closed), days)

    week = []
    for day in range(140, 147):
        week.append(model.forecast(1).mean)
        model = model.update(WEEK[day % 7])

    assert week[5] < 1.0  # the day it never sells
    assert all(got == pytest.approx(want, abs=1.0) for got, want in zip(week, WEEK, strict=True))


def test_demand_on_a_closed_day_is_learnt_because_the_sale_was_real() -> None:
    model = learnt(TradingDays(MovingAverage(2), frozenset({3})), [4.0, 4.0, 4.0, 10.0])

    assert model.forecast(1).mean == pytest.approx(7.0)


def test_the_selector_moves_on_a_closed_day_without_learning() -> None:
    forecaster = daily_forecaster(phase=2)
    for y in WEEK * 6:
        forecaster = forecaster.update(y)

    moved = passed(forecaster)

    before, after = forecaster.candidates["smoothing"], moved.candidates["smoothing"]
    assert isinstance(before, SeasonalSmoothing)
    assert isinstance(after, SeasonalSmoothing)
    assert moved.seen == forecaster.seen
    assert after.phase == (before.phase + 1) % 7
    assert after.level == before.level


def test_the_evaluation_scores_the_calendars_zero_on_a_closed_day() -> None:
    closed = frozenset({20, 27})
    values = tuple(0.0 if day in closed else 5.0 + day % 2 for day in range(60))
    panel = [Series("RETRO-CLOCK", 0, values)]
    params = SmoothingParams(alpha=0.1, gamma=0.0)

    def make(series: Series) -> TradingDays:
        return TradingDays(SeasonalSmoothing.starting(params), closed, series.start)

    seeing = evaluate(panel, Method("calendar", make, LEARN_WEEK, closed), warmup=14)
    blind = evaluate(
        panel, Method("blind", lambda s: SeasonalSmoothing.starting(params), LEARN_WEEK), 14
    )

    assert seeing.mae < 0.8 * blind.mae  # the closed days cost the blind forecaster its level


def test_a_wrapped_forecaster_reads_the_pooled_profile_as_the_bare_one_does() -> None:
    panel = [
        Series(f"RETRO-CLOCK-{n}", 0, tuple(WEEK[d % 7] * (n + 1) for d in range(70)))
        for n in range(3)
    ]
    params = SmoothingParams(alpha=0.1, gamma=0.0)

    def bare(series: Series) -> SeasonalSmoothing:
        return SeasonalSmoothing.starting(params)

    def wrapped(series: Series) -> TradingDays:
        return TradingDays(SeasonalSmoothing.starting(params), frozenset())

    alone = evaluate(panel, Method("bare", bare, LEARN_WEEK), warmup=14)
    inside = evaluate(panel, Method("wrapped", wrapped, LEARN_WEEK), warmup=14)

    assert inside.mae == pytest.approx(alone.mae)
    assert alone.mae < evaluate(panel, Method("flat", bare), warmup=14).mae
