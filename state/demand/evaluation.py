"""Forecast accuracy, test-then-train: each period is forecast before it is learnt.

A panel is a set of series on one calendar (days or months); series i starts at period `start`
(its first demand, for a SKU) and runs to the calendar's end. For every period t of every series:
forecast one period ahead, score it if t is at least `warmup` periods into the series, then learn
y_t. Per series, over the scored periods (n of them), with e_t = y_t − ŷ_t:

    MAE   = Σ|e_t| / n                                   (units per period)
    MASE  = MAE / (Σ_{t≥1} |y_t − y_{t−1}| / (N − 1))    (scaled by the naive method's MAE)
    RMSSE = √( (Σ e_t² / n) / (Σ_{t≥1} (y_t − y_{t−1})² / (N − 1)) )
    bias  = Σ(ŷ_t − y_t) / Σ y_t over all scored series  (negative: forecasts too low)

The scales are the in-sample one-step naive errors over the series' whole history (N periods),
as M5 does over its training span; a series whose naive error is 0 (constant) is left out. A
panel's score is the mean over series (M5 weights series by revenue; here every series counts
alike). MASE and MAE reward forecasting the median, which for intermittent demand is often 0, so
read RMSSE (which rewards the mean) and the bias beside them.

Pooled models: `Method.pooled` learns one seasonal profile from the panel's total demand (the sum
over series, learnt after each period like everything else), and hands it to every series'
`SeasonalSmoothing` before it forecasts: one online model across SKUs. `Method.closed` names the
calendar days the site was closed (`state.demand.calendar`): the shared profile does not learn
their zeros.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, is_dataclass, replace
from itertools import pairwise
from typing import Any

from state.demand.calendar import passed
from state.demand.forecast import Forecaster
from state.demand.selector import AdaptiveForecaster
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    start: int  # calendar index of its first period
    values: tuple[float, ...]  # from `start` to the calendar's end
    phase: int = 0  # cycle position of its first period (its weekday, for daily series)


@dataclass(frozen=True, slots=True)
class Method:
    """A named way to build a series' forecaster; `pooled` adds the panel's shared profile."""

    name: str
    make: Callable[[Series], Forecaster]
    pooled: SmoothingParams | None = None
    closed: frozenset[int] = frozenset()  # calendar days the pooled profile does not learn


@dataclass(frozen=True, slots=True)
class Score:
    key: str
    scored: int
    mae: float
    mase: float
    rmsse: float
    forecast_total: float
    demand_total: float


@dataclass(frozen=True, slots=True)
class Summary:
    """A method's scores over a panel: means over series, and the total bias."""

    method: str
    series: int
    mase: float
    rmsse: float
    mae: float
    bias: float
    median_mase: float
    scores: tuple[Score, ...] = field(repr=False, default=())


def naive_scales(values: Sequence[float]) -> tuple[float, float]:
    """(mean |Δy|, mean Δy²) of the one-step naive method over the series; (0, 0) if too short."""
    if len(values) < 2:
        return 0.0, 0.0
    steps = [b - a for a, b in pairwise(values)]
    return sum(abs(s) for s in steps) / len(steps), sum(s * s for s in steps) / len(steps)


def evaluate(
    panel: Sequence[Series], method: Method, warmup: int, calendar_phase: int = 0
) -> Summary:
    """Test-then-train over the panel's calendar; see the module doc. `calendar_phase` is the
    cycle position of the calendar's first period (the weekday of its first day)."""
    end = max((s.start + len(s.values) for s in panel), default=0)
    models: list[Forecaster | None] = [None] * len(panel)
    errors = [[0.0, 0.0, 0.0, 0] for _ in panel]  # Σ|e|, Σe², Σŷ, n
    totals = [0.0] * len(panel)
    pool = _pool(method.pooled, calendar_phase)
    for t in range(end):
        for i, series in enumerate(panel):
            k = t - series.start
            if k < 0 or k >= len(series.values):
                continue
            found = models[i]
            model = found if found is not None else method.make(series)
            if pool is not None:
                model = _with_profile(model, pool.profile)
            y = series.values[k]
            if k >= warmup:
                predicted = model.forecast(1).mean
                acc = errors[i]
                acc[0] += abs(y - predicted)
                acc[1] += (y - predicted) ** 2
                acc[2] += predicted
                acc[3] += 1
                totals[i] += y
            models[i] = model.update(y)
        if pool is not None:
            total = sum(_value_at(s, t) for s in panel)
            pool = passed(pool) if t in method.closed and total <= 0 else pool.update(total)
    return _summary(method.name, panel, errors, totals)


def _pool(params: SmoothingParams | None, phase: int) -> SeasonalSmoothing | None:
    return None if params is None else SeasonalSmoothing.starting(params, phase=phase)


def _value_at(series: Series, t: int) -> float:
    k = t - series.start
    return series.values[k] if 0 <= k < len(series.values) else 0.0


def _with_profile(model: Any, profile: tuple[float, ...]) -> Forecaster:
    """The model reading the pooled profile: smoothing directly, the selector's candidates, and
    any frozen wrapper's `inner` forecaster (a calendar, a shrink, a median reading)."""
    if isinstance(model, SeasonalSmoothing):
        return model.with_profile(profile)
    if isinstance(model, AdaptiveForecaster):
        candidates = {
            name: m.with_profile(profile) if isinstance(m, SeasonalSmoothing) else m
            for name, m in model.candidates.items()
        }
        return AdaptiveForecaster(candidates, model.rules, model.stats, model.warmup, model.seen)
    inner = getattr(model, "inner", None)
    if inner is not None and is_dataclass(model) and not isinstance(model, type):
        model = replace(model, inner=_with_profile(inner, profile))
    forecaster: Forecaster = model
    return forecaster


def _summary(
    name: str, panel: Sequence[Series], errors: list[list[float]], totals: list[float]
) -> Summary:
    scores: list[Score] = []
    for series, (abs_sum, sq_sum, forecast_sum, n), total in zip(
        panel, errors, totals, strict=True
    ):
        scale, square_scale = naive_scales(series.values)
        if n <= 0 or scale <= 0 or square_scale <= 0:
            continue
        mae = abs_sum / n
        scores.append(
            Score(
                series.key,
                int(n),
                mae,
                mae / scale,
                math.sqrt(sq_sum / n / square_scale),
                forecast_sum,
                total,
            )
        )
    if not scores:
        return Summary(name, 0, math.nan, math.nan, math.nan, math.nan, math.nan)
    demand = sum(s.demand_total for s in scores)
    forecast = sum(s.forecast_total for s in scores)
    mases = sorted(s.mase for s in scores)
    return Summary(
        method=name,
        series=len(scores),
        mase=sum(mases) / len(mases),
        rmsse=sum(s.rmsse for s in scores) / len(scores),
        mae=sum(s.mae for s in scores) / len(scores),
        bias=(forecast - demand) / demand if demand > 0 else math.nan,
        median_mase=mases[len(mases) // 2],
        scores=tuple(scores),
    )
