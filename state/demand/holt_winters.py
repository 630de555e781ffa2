"""river's Holt-Winters, wrapped so it starts sanely and never divides by zero.

Checked on known series (tests/unit/test_forecasters.py), river 0.26's `HoltWinters` itself:
- raises ZeroDivisionError when its first `seasonality` values are all zero (its multiplicative
  season is y / level), which every intermittent SKU hits;
- initialises the trend as the mean change over the first season (strongly negative for a series
  that opens with a sale) and the additive season as y / level instead of y − level, so on a clean
  weekly pattern it forecasts negative demand for weeks;
- refuses beta = 0 with a season (the season update reads a trend that is then None).

The wrapper buffers values until the last `seasonality` of them hold some demand, then sets
river's components itself and lets river learn from there:

    level = mean of that season,  trend = 0,
    season_i = y_i − level (additive)  or  max(y_i / level, FLOOR) (multiplicative)

beta = 0 is passed to river as 1e-12 (a trend that stays 0). In the multiplicative form every new
seasonal index is floored at FLOOR and the level at a small positive value, so river's divisions
(y / season, y / (level + trend)) stay finite. Forecasts are floored at 0. Before it starts, it
forecasts the mean of what it has seen. The variance is the tracked one-step error variance.

Updating river's recursions for period t (additive; the multiplicative form divides instead):

    l_t = α·(y_t − s_{t−m}) + (1 − α)·(l_{t−1} + b_{t−1})
    b_t = β·(l_t − l_{t−1}) + (1 − β)·b_{t−1}
    s_t = γ·(y_t − l_{t−1} − b_{t−1}) + (1 − γ)·s_{t−m}
    forecast(h) = l_t + h·b_t + s_{t−m+h}

This one is mutable: `update` changes the river model in place and returns the same object; use
`copy()` to keep an earlier state (Bytewax deep-copies it at snapshots). Measured on this data,
it loses to `SeasonalSmoothing` on daily SKU demand (see bench-results/forecast.md).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from river import time_series

from state.demand.forecast import ErrorVariance, Forecast, check_rate

FLOOR = 0.1
_TINY_BETA = 1e-12
_MIN_LEVEL = 1e-9


@dataclass(slots=True)
class RiverHoltWinters:
    """Holt-Winters (river) that starts once a season holds demand; see the module doc."""

    alpha: float = 0.1
    beta: float = 0.0
    gamma: float = 0.1
    seasonality: int = 7
    multiplicative: bool = False
    errors: ErrorVariance = field(default_factory=ErrorVariance)
    pending: list[float] = field(default_factory=list)
    model: Any = None  # river's HoltWinters once started

    def __post_init__(self) -> None:
        check_rate("alpha", self.alpha)
        check_rate("gamma", self.gamma)
        if not 0.0 <= self.beta <= 1.0:
            msg = f"beta must be in [0, 1], got {self.beta}"
            raise ValueError(msg)
        if self.seasonality < 2:
            msg = f"seasonality must be at least 2, got {self.seasonality}"
            raise ValueError(msg)

    @property
    def started(self) -> bool:
        return self.model is not None

    def forecast(self, h: int = 1) -> Forecast:
        if self.model is None:
            mean = sum(self.pending) / len(self.pending) if self.pending else 0.0
            return Forecast(mean, self.errors.value)
        value = float(self.model.forecast(h)[h - 1])
        return Forecast(max(0.0, value), self.errors.value)

    def update(self, y: float) -> RiverHoltWinters:
        if self.pending or self.model is not None:
            self.errors = self.errors.update(y - self.forecast(1).mean)
        if self.model is None:
            self.pending.append(y)
            season = self.pending[-self.seasonality :]
            if len(season) == self.seasonality and sum(season) > 0:
                self.model = self._started(season)
                self.pending = []
            return self
        self.model.learn_one(y)
        if self.multiplicative:
            _floor_last(self.model.season, FLOOR)
            _floor_last(self.model.level, _MIN_LEVEL)
        return self

    def copy(self) -> RiverHoltWinters:
        return copy.deepcopy(self)

    def _started(self, season: list[float]) -> Any:
        factory: Any = time_series.HoltWinters  # river is untyped
        model = factory(
            alpha=self.alpha,
            beta=self.beta or _TINY_BETA,
            gamma=self.gamma,
            seasonality=self.seasonality,
            multiplicative=self.multiplicative,
        )
        level = sum(season) / len(season)
        model.level.append(level)
        model.trend.append(0.0)
        if self.multiplicative:
            model.season.extend(max(y / level, FLOOR) for y in season)
        else:
            model.season.extend(y - level for y in season)
        model._initialized = True  # river's own flag: skip its first-season initialisation
        return model


def _floor_last(component: Any, floor: float) -> None:
    if component and component[-1] < floor:
        component[-1] = floor
