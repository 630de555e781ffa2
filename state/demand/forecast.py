"""What every forecaster answers, and the one contract they share.

    Forecaster.update(y) -> Forecaster        # learn one period's demand (units); test-then-train
    Forecaster.forecast(h) -> Forecast        # the h-th period ahead: (mean, variance)

`Forecast(mean, variance)` is one period's demand, in units per period (a day or a month) and
units² per period. `quantile(q)` reads it as a normal distribution floored at zero (the classic
reorder-point reading). `count_quantile(q)` reads it as a count: negative binomial with that mean
and variance when the variance exceeds the mean (r = μ²/(σ² − μ), p = μ/σ²), else Poisson; for
intermittent demand its median is often 0, which is the point forecast MAE-based scores reward.
Over a horizon of `n` periods, `over(forecaster, n)` sums the means and the variances: errors of
different periods are treated as independent, which understates the variance of a level that is
itself wrong; the policy's lead-time term (`state.demand.policy`) adds the lead time's own
variability.

Each forecaster tracks its own one-step error variance, `ErrorVariance`: an exponentially weighted
mean of squared one-step errors e = y − forecast(1).mean, bias-corrected so the first errors are
not shrunk towards zero:

    S ← β·e² + (1 − β)·S,   W ← β + (1 − β)·W,   σ² = S / W

Forecasters are frozen values (`update` returns a new one), but for the river wrapper
(`state.demand.holt_winters`), which mutates its river model in place and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple, Protocol, Self

_STANDARD = NormalDist()
_NORMAL_ABOVE = 1000.0  # units per period


class Forecast(NamedTuple):
    """One period's demand: mean (units per period) and variance (units² per period)."""

    mean: float
    variance: float

    @property
    def std(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    def quantile(self, q: float) -> float:
        """The q-quantile (0 < q < 1) of a normal with this mean and variance, floored at 0."""
        if not 0.0 < q < 1.0:
            msg = f"a quantile is strictly between 0 and 1, got {q}"
            raise ValueError(msg)
        return max(0.0, self.mean + _STANDARD.inv_cdf(q) * self.std)

    def count_quantile(self, q: float, limit: int = 100_000) -> int:
        """The q-quantile of a negative binomial (or Poisson) count; see the module doc."""
        if not 0.0 < q < 1.0:
            msg = f"a quantile is strictly between 0 and 1, got {q}"
            raise ValueError(msg)
        mean = self.mean
        if mean <= 0:
            return 0
        if mean > _NORMAL_ABOVE:  # the count is practically normal, and the recursion slow
            return round(self.quantile(q))
        negative_binomial = self.variance > mean * (1 + 1e-9)
        if negative_binomial:  # pmf(k+1) = pmf(k)·(k + r)/(k + 1)·(1 − p)
            r, p = mean * mean / (self.variance - mean), mean / self.variance
            pmf = math.exp(r * math.log(p))
        else:  # Poisson: pmf(k+1) = pmf(k)·μ/(k + 1)
            r, p = 0.0, 0.0
            pmf = math.exp(-mean)
        cdf, k = pmf, 0
        while cdf < q and k < limit:
            pmf *= (k + r) / (k + 1) * (1 - p) if negative_binomial else mean / (k + 1)
            k += 1
            cdf += pmf
        return k


class Forecaster(Protocol):
    """A per-series online model: learn one period at a time, forecast from what it learnt."""

    def update(self, y: float) -> Self: ...

    def forecast(self, h: int = 1) -> Forecast: ...


def over(forecaster: Forecaster, periods: int) -> Forecast:
    """Demand summed over the next `periods` periods: Σ means, Σ variances (independent errors)."""
    mean = variance = 0.0
    for h in range(1, periods + 1):
        step = forecaster.forecast(h)
        mean += step.mean
        variance += step.variance
    return Forecast(mean, variance)


@dataclass(frozen=True, slots=True)
class ErrorVariance:
    """Bias-corrected EWMA of squared one-step errors (units² per period); see the module doc."""

    beta: float = 0.05
    total: float = 0.0
    weight: float = 0.0

    def update(self, error: float) -> ErrorVariance:
        keep = 1.0 - self.beta
        return ErrorVariance(
            self.beta, self.beta * error * error + keep * self.total, self.beta + keep * self.weight
        )

    @property
    def value(self) -> float:
        return self.total / self.weight if self.weight > 0 else 0.0


def check_rate(name: str, value: float) -> None:
    """Smoothing constants live in (0, 1]: raise ValueError naming the bad one."""
    if not 0.0 < value <= 1.0:
        msg = f"{name} must be in (0, 1], got {value}"
        raise ValueError(msg)
