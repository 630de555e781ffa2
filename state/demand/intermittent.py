"""Intermittent-demand methods: Croston, SBA (Syntetos-Boylan) and TSB (Teunter-Syntetos-Babai).

y is one period's demand (units, ≥ 0); α smooths demand sizes, β smooths the interval or the
probability. Before the first non-zero demand every method forecasts 0.

    Croston   on a demand (y > 0):  z ← α·y + (1 − α)·z,   p ← α·q + (1 − α)·p,   q ← 1
              on a zero:            q ← q + 1                 (z, p unchanged)
              forecast = z / p      (units per period; the first demand sets z = y, p = q)
    SBA       forecast = (1 − α/2)·z / p   (removes Croston's upward bias; Syntetos & Boylan 2005)
    TSB       every period:         π ← β·[y > 0] + (1 − β)·π
              on a demand:          z ← α·y + (1 − α)·z
              forecast = π·z        (the first demand sets z = y and π = 1/q, q the periods it took,
                           as Croston's first interval: a part that sold once in its first
                           year does not start at π = 1)

Croston and SBA never decay without new demand: a SKU that sold once keeps its forecast forever.
TSB updates the probability every period, so a dead SKU's forecast decays geometrically (×(1 − β)
per period). The variance is each method's tracked one-step error variance (`ErrorVariance`), the
same for every horizon (these methods forecast a flat rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from state.demand.forecast import ErrorVariance, Forecast, check_rate


@dataclass(frozen=True, slots=True)
class Croston:
    """Croston's method; `debiased=True` is SBA. Fields after `debiased` are the learnt state."""

    alpha: float = 0.1
    debiased: bool = False
    size: float = 0.0  # z: smoothed non-zero demand size (units)
    interval: float = 0.0  # p: smoothed periods between demands (0 until the first demand)
    since: int = 0  # q: periods since the last demand, counting the current one
    errors: ErrorVariance = field(default_factory=ErrorVariance)

    def __post_init__(self) -> None:
        check_rate("alpha", self.alpha)

    @property
    def rate(self) -> float:
        if self.interval <= 0:
            return 0.0
        factor = 1.0 - self.alpha / 2 if self.debiased else 1.0
        return factor * self.size / self.interval

    def forecast(self, h: int = 1) -> Forecast:
        return Forecast(self.rate, self.errors.value)

    def update(self, y: float) -> Croston:
        errors = self.errors.update(y - self.rate) if self.interval > 0 else self.errors
        since = self.since + 1
        a = self.alpha
        if y <= 0:
            return Croston(a, self.debiased, self.size, self.interval, since, errors)
        if self.interval <= 0:  # the first demand
            return Croston(a, self.debiased, y, float(since), 0, errors)
        size = a * y + (1 - a) * self.size
        interval = a * since + (1 - a) * self.interval
        return Croston(a, self.debiased, size, interval, 0, errors)


def sba(alpha: float = 0.1) -> Croston:
    """Syntetos-Boylan approximation: Croston × (1 − α/2)."""
    return Croston(alpha=alpha, debiased=True)


@dataclass(frozen=True, slots=True)
class Tsb:
    """Teunter-Syntetos-Babai: a demand probability updated every period, so forecasts decay."""

    alpha: float = 0.1
    beta: float = 0.1
    size: float = 0.0  # z (units)
    probability: float = 0.0  # π, per period
    started: bool = False
    errors: ErrorVariance = field(default_factory=ErrorVariance)
    waited: int = 0  # periods seen up to the first demand

    def __post_init__(self) -> None:
        check_rate("alpha", self.alpha)
        check_rate("beta", self.beta)

    def forecast(self, h: int = 1) -> Forecast:
        return Forecast(self.probability * self.size, self.errors.value)

    def update(self, y: float) -> Tsb:
        if not self.started:
            waited = self.waited + 1
            if y <= 0:
                return Tsb(self.alpha, self.beta, waited=waited)
            return Tsb(self.alpha, self.beta, y, 1.0 / waited, True, self.errors)
        errors = self.errors.update(y - self.probability * self.size)
        b = self.beta
        probability = b * (1.0 if y > 0 else 0.0) + (1 - b) * self.probability
        size = self.alpha * y + (1 - self.alpha) * self.size if y > 0 else self.size
        return Tsb(self.alpha, b, size, probability, True, errors, self.waited)
