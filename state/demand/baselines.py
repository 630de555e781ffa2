"""The baselines skuflow is measured against: moving average and (seasonal) naive.

    MovingAverage(w):  ŷ = mean of the last w values (of all values while fewer than w)
    SeasonalNaive(m):  ŷ(h) = y_{t−m+((h−1) mod m)+1}: the value one season ago (m = 1: naive)

Both forecast 0 before their first value. The variance is the tracked one-step error variance
(`ErrorVariance`), flat over the horizon. A 28-day moving average is what many ERPs use as the
demand rate behind a reorder point; it is hard to beat per SKU on daily retail demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from state.demand.forecast import ErrorVariance, Forecast


@dataclass(frozen=True, slots=True)
class MovingAverage:
    window: int = 28
    last: tuple[float, ...] = ()
    errors: ErrorVariance = field(default_factory=ErrorVariance)

    def forecast(self, h: int = 1) -> Forecast:
        mean = sum(self.last) / len(self.last) if self.last else 0.0
        return Forecast(mean, self.errors.value)

    def update(self, y: float) -> MovingAverage:
        errors = self.errors.update(y - self.forecast().mean) if self.last else self.errors
        return MovingAverage(self.window, (*self.last, y)[-self.window :], errors)


@dataclass(frozen=True, slots=True)
class SeasonalNaive:
    season: int = 7
    last: tuple[float, ...] = ()
    errors: ErrorVariance = field(default_factory=ErrorVariance)

    def forecast(self, h: int = 1) -> Forecast:
        if not self.last:
            return Forecast(0.0, self.errors.value)
        if len(self.last) < self.season:  # less than a season seen: the latest value
            return Forecast(self.last[-1], self.errors.value)
        return Forecast(self.last[(h - 1) % self.season], self.errors.value)

    def update(self, y: float) -> SeasonalNaive:
        errors = self.errors.update(y - self.forecast().mean) if self.last else self.errors
        return SeasonalNaive(self.season, (*self.last, y)[-self.season :], errors)
