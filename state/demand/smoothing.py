"""Simple exponential smoothing with a seasonal profile (a day-of-week profile for daily demand).

The profile s has one index per position in the cycle (7 for days of the week; 1 is plain SES).

Multiplicative (the default), guarded against zeros by smoothing ratios of sums, never dividing
by a single period's index:

    D ← α·y + (1 − α)·D          smoothed demand (units per period)
    E ← α·s_t + (1 − α)·E        smoothed exposure (the profile indices those periods had)
    level = D / E                demand per unit of profile (units per period)
    forecast(h) = level · s_{t+h−1},   variance(h) = σ²ᵤ · s_{t+h−1} · (1 + (h − 1)·α²)

A day whose index is 0 (this shop never sells on Saturdays) forecasts 0 and, selling nothing,
teaches the level nothing: y = 0 adds α·0 to D and α·0 to E. A series that opens with a week of
zeros has D = E·0 and a level of 0, not a division by zero. The variance per unit of profile is a
ratio of sums too: σ²ᵤ = EWMA(e²) / EWMA(s_t), so it scales with the day's index (count-like
demand has a variance that grows with its mean); (1 + (h − 1)α²) is the local-level model's growth
of the h-step variance.

The profile learns with rate γ from y / level (capped at `max_ratio`, so one huge order does not
rewrite the week), then is renormalised to mean 1. With γ = 0 it is fixed: a shared profile
learnt from many series (`with_profile`) is how the pooled model plugs in.

Additive: L ← L + α·(y − s_t − L), s_t ← s_t + γ·(y − L − s_t), profile renormalised to mean 0,
forecast(h) = max(0, L + s_{t+h−1}), variance = the one-step error variance × (1 + (h − 1)α²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from state.demand.forecast import ErrorVariance, Forecast, check_rate

DAYS_OF_WEEK = 7
_new_tuple = tuple.__new__
_set = object.__setattr__  # how a frozen dataclass's own __init__ sets its fields


@dataclass(frozen=True, slots=True)
class SmoothingParams:
    """α (level), γ (profile, 0: fixed), the cycle length, and the error smoothing β."""

    alpha: float = 0.05
    gamma: float = 0.1
    period: int = DAYS_OF_WEEK
    additive: bool = False
    max_ratio: float = float(DAYS_OF_WEEK)  # cap on y / level when the profile learns
    beta: float = 0.05
    clip: float | None = None  # errors above clip·σ are learnt as clip·σ (robust variance)
    clip_level: bool = False  # and the level learns the clipped value too

    def __post_init__(self) -> None:
        check_rate("alpha", self.alpha)
        check_rate("beta", self.beta)
        if not 0.0 <= self.gamma <= 1.0:
            msg = f"gamma must be in [0, 1], got {self.gamma}"
            raise ValueError(msg)
        if self.period < 1:
            msg = f"period must be at least 1, got {self.period}"
            raise ValueError(msg)


def flat_profile(period: int, additive: bool = False) -> tuple[float, ...]:
    return (0.0 if additive else 1.0,) * period


@dataclass(frozen=True, slots=True)
class SeasonalSmoothing:
    """SES with a seasonal profile; `phase` is the profile position of the next period."""

    params: SmoothingParams = field(default_factory=SmoothingParams)
    profile: tuple[float, ...] = ()
    phase: int = 0
    demand: float = 0.0  # D (multiplicative) or the level L (additive)
    exposure: float = 0.0  # E (multiplicative); 0 until the first period (additive)
    errors: ErrorVariance = field(default_factory=ErrorVariance)
    error_exposure: float = 0.0  # EWMA of s_t alongside `errors` (multiplicative)

    def __post_init__(self) -> None:
        if not self.profile:
            object.__setattr__(
                self, "profile", flat_profile(self.params.period, self.params.additive)
            )
        if len(self.profile) != self.params.period:
            msg = f"a profile has {self.params.period} indices, got {len(self.profile)}"
            raise ValueError(msg)

    @classmethod
    def starting(
        cls, params: SmoothingParams, profile: tuple[float, ...] = (), phase: int = 0
    ) -> SeasonalSmoothing:
        """A fresh model whose next period is at `phase` (e.g. its first day's weekday)."""
        return cls(params, profile, phase % params.period, errors=ErrorVariance(params.beta))

    @property
    def level(self) -> float:
        if self.params.additive:
            return self.demand
        return self.demand / self.exposure if self.exposure > 0 else 0.0

    def index(self, h: int = 1) -> float:
        return self.profile[(self.phase + h - 1) % self.params.period]

    def forecast(self, h: int = 1) -> Forecast:
        p = self.params
        growth = 1.0 + (h - 1) * p.alpha * p.alpha
        index = self.index(h)
        if p.additive:
            return Forecast(max(0.0, self.demand + index), self.errors.value * growth)
        unit_variance = self.errors.total / self.error_exposure if self.error_exposure > 0 else 0.0
        return Forecast(self.level * index, unit_variance * index * growth)

    def path(self, n: int) -> tuple[Forecast, ...]:
        """forecast(h) for h = 1..n, one by one, reading the level and the variance once."""
        p = self.params
        if p.additive:
            return tuple(self.forecast(h) for h in range(1, n + 1))
        level = self.level
        unit_variance = self.errors.total / self.error_exposure if self.error_exposure > 0 else 0.0
        profile, period, phase, alpha = self.profile, p.period, self.phase, p.alpha
        # Built with tuple.__new__, half the cost of Forecast(...): this runs for every SKU-site
        # every closed day (its horizon is published).
        return tuple(
            _new_tuple(
                Forecast,
                (
                    level * profile[(phase + h) % period],
                    unit_variance * profile[(phase + h) % period] * (1.0 + h * alpha * alpha),
                ),
            )
            for h in range(n)  # h = forecast's h − 1, so the growth is 1 + h·α²
        )

    def horizon(self, n: int) -> Forecast:
        """Σ forecast(h) for h = 1..n: means and variances summed (independent errors)."""
        p = self.params
        if p.additive:
            mean = variance = 0.0
            for h in range(1, n + 1):
                step = self.forecast(h)
                mean += step.mean
                variance += step.variance
            return Forecast(mean, variance)
        indices = weighted = 0.0  # Σ s_h and Σ s_h·(h − 1)
        profile, period, phase = self.profile, p.period, self.phase
        for h in range(n):
            index = profile[(phase + h) % period]
            indices += index
            weighted += index * h
        unit_variance = self.errors.total / self.error_exposure if self.error_exposure > 0 else 0.0
        growth = indices + p.alpha * p.alpha * weighted
        return Forecast(self.level * indices, unit_variance * growth)

    def update(self, y: float) -> SeasonalSmoothing:
        if self.params.additive:
            return self._update_additive(y)
        p = self.params
        index = self.profile[self.phase % p.period]  # self.index(), self.level: spelt out, hot
        level = self.demand / self.exposure if self.exposure > 0 else 0.0
        errors, error_exposure = self.errors, self.error_exposure
        learnt = y
        if self.exposure > 0:
            error = y - level * index
            if p.clip is not None and errors.total > 0 and error_exposure > 0:
                # Clipped only once an error has been seen: a series that opens with quiet days
                # has a variance of 0, and a clip at 0·σ would learn its first demand as no error.
                limit = p.clip * math.sqrt(errors.total / error_exposure * index)
                error = min(error, limit)
                if p.clip_level:
                    learnt = level * index + error
            errors = errors.update(error)
            error_exposure = p.beta * index + (1 - p.beta) * error_exposure
        profile = self.profile
        if p.gamma > 0 and level > 0:
            profile = _learn_index(profile, self.phase, min(y / level, p.max_ratio), p.gamma)
        # Made without __init__: its check of the profile holds for a learnt profile already,
        # and this runs for every SKU-site every closed day.
        learnt_model = object.__new__(SeasonalSmoothing)
        _set(learnt_model, "params", p)
        _set(learnt_model, "profile", profile)
        _set(learnt_model, "phase", (self.phase + 1) % p.period)
        _set(learnt_model, "demand", p.alpha * learnt + (1 - p.alpha) * self.demand)
        _set(learnt_model, "exposure", p.alpha * index + (1 - p.alpha) * self.exposure)
        _set(learnt_model, "errors", errors)
        _set(learnt_model, "error_exposure", error_exposure)
        return learnt_model

    def _update_additive(self, y: float) -> SeasonalSmoothing:
        p = self.params
        index = self.index()
        if self.exposure <= 0:  # the first period sets the level
            return SeasonalSmoothing(
                p, self.profile, (self.phase + 1) % p.period, y - index, 1.0, self.errors
            )
        errors = self.errors.update(y - max(0.0, self.demand + index))
        level = self.demand + p.alpha * (y - index - self.demand)
        profile = self.profile
        if p.gamma > 0:
            profile = _renormalised(_with_index(profile, self.phase, y - level, p.gamma), 0.0)
        return SeasonalSmoothing(p, profile, (self.phase + 1) % p.period, level, 1.0, errors)

    def with_profile(self, profile: tuple[float, ...]) -> SeasonalSmoothing:
        """The same model reading another profile (a pooled one learnt across series)."""
        return SeasonalSmoothing(
            self.params,
            profile,
            self.phase,
            self.demand,
            self.exposure,
            self.errors,
            self.error_exposure,
        )


def _learn_index(
    profile: tuple[float, ...], phase: int, observed: float, gamma: float
) -> tuple[float, ...]:
    """Multiplicative: s_phase ← max(0, γ·observed + (1 − γ)·s_phase), then all scaled to mean 1
    (one pass: only one index changed, so the new total is the old one plus its change)."""
    old = profile[phase]
    new = max(0.0, gamma * observed + (1 - gamma) * old)
    total = sum(profile) - old + new
    n = len(profile)
    if total <= 0:
        return (1.0,) * n
    scale = n / total
    learnt = [s * scale for s in profile]
    learnt[phase] = new * scale
    return tuple(learnt)


def _with_index(
    profile: tuple[float, ...], phase: int, observed: float, gamma: float
) -> tuple[float, ...]:
    updated = gamma * observed + (1 - gamma) * profile[phase]
    return (*profile[:phase], updated, *profile[phase + 1 :])


def _renormalised(profile: tuple[float, ...], mean: float) -> tuple[float, ...]:
    """Multiplicative (mean 1): indices ≥ 0 scaled to mean 1. Additive (mean 0): shifted."""
    n = len(profile)
    if mean == 0.0:
        shift = sum(profile) / n
        return tuple(s - shift for s in profile)
    clipped = tuple(max(0.0, s) for s in profile)
    total = sum(clipped)
    return tuple(s * n / total for s in clipped) if total > 0 else (1.0,) * n
