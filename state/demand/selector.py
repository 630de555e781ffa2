"""Choosing the method per series by its demand pattern (ADI / CV², `state.demand.classify`).

    AdaptiveForecaster.update(y): every candidate learns y; the pattern statistics learn y.
    AdaptiveForecaster.forecast(h): the candidate that `rules[pattern]` names answers.
    AdaptiveForecaster.path(n): its forecasts for the next n periods, one by one.

All candidates learn every period (each costs about a microsecond), so when a series changes
pattern the newly chosen method is already warm: there is no cold start at a switch. A series is
not reclassified before `warmup` periods (until then `rules[LUMPY]` answers, the cautious choice).

The rule tables are measured, not assumed (see bench-results/forecast.md, per pattern):
- `DAILY_RULES`: on Online Retail's daily SKU demand, smoothing with a weekly profile beats
  Croston, SBA and TSB in every pattern class, lumpy included (the weekly cycle, no sales on
  Saturdays, is worth more than modelling intervals), so every class maps to it.
- `MONTHLY_RULES`: on the car parts' monthly demand, plain SES beats Croston, SBA and TSB on
  both MASE and RMSSE in the intermittent and the lumpy classes alike (they are biased upwards
  on parts whose demand fades), so every class maps to SES too.
- `TEXTBOOK_RULES` (Syntetos-Boylan: SBA for intermittent, TSB for lumpy) is kept to be measured
  against; the mechanism switches method whenever a table says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from state.demand.classify import DemandPattern, PatternStats
from state.demand.forecast import Forecast, Forecaster, over
from state.demand.intermittent import Croston, Tsb, sba
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams

SMOOTHING = "smoothing"
CROSTON = "croston"
SBA = "sba"
TSB = "tsb"

# Plain dicts (never mutated): a forecaster holding one must survive Bytewax's deep copies.
DAILY_RULES: Mapping[DemandPattern, str] = dict.fromkeys(DemandPattern, SMOOTHING)
MONTHLY_RULES: Mapping[DemandPattern, str] = dict.fromkeys(DemandPattern, SMOOTHING)
TEXTBOOK_RULES: Mapping[DemandPattern, str] = {
    DemandPattern.SMOOTH: SMOOTHING,
    DemandPattern.ERRATIC: SMOOTHING,
    DemandPattern.INTERMITTENT: SBA,
    DemandPattern.LUMPY: TSB,
}


@dataclass(frozen=True, slots=True)
class AdaptiveForecaster:
    """Candidates by name, all learning; the pattern's rule picks the one that forecasts."""

    candidates: Mapping[str, Forecaster]
    rules: Mapping[DemandPattern, str] = field(default_factory=lambda: DAILY_RULES)
    stats: PatternStats = field(default_factory=PatternStats)
    warmup: int = 28
    seen: int = 0

    def __post_init__(self) -> None:
        missing = set(self.rules.values()) - set(self.candidates)
        if missing:
            msg = f"the rules name methods that are not candidates: {sorted(missing)}"
            raise ValueError(msg)

    @property
    def pattern(self) -> DemandPattern:
        return self.stats.pattern if self.seen >= self.warmup else DemandPattern.LUMPY

    @property
    def method(self) -> str:
        return self.rules[self.pattern]

    def forecast(self, h: int = 1) -> Forecast:
        return self.candidates[self.method].forecast(h)

    def path(self, n: int, method: str | None = None) -> tuple[Forecast, ...]:
        """forecast(h) for h = 1..n of the chosen method (`method`, when the caller has just
        read it: reading it classifies the series again), each day on its own."""
        chosen = self.candidates[method or self.method]
        if isinstance(chosen, SeasonalSmoothing):
            return chosen.path(n)
        return tuple(chosen.forecast(h) for h in range(1, n + 1))

    def horizon(self, n: int) -> Forecast:
        """Σ forecast(h) for h = 1..n of the chosen method (its own `horizon` when it has one)."""
        chosen = self.candidates[self.method]
        if isinstance(chosen, SeasonalSmoothing):
            return chosen.horizon(n)
        return over(chosen, n)

    def update(self, y: float) -> AdaptiveForecaster:
        # Made without __init__: the rules and the candidates' names are those already checked,
        # and this runs for every SKU-site every closed day.
        learnt = object.__new__(AdaptiveForecaster)
        _set(
            learnt, "candidates", {name: model.update(y) for name, model in self.candidates.items()}
        )
        _set(learnt, "rules", self.rules)
        _set(learnt, "stats", self.stats.update(y))
        _set(learnt, "warmup", self.warmup)
        _set(learnt, "seen", self.seen + 1)
        return learnt


_set = object.__setattr__  # how a frozen dataclass's own __init__ sets its fields


def daily_forecaster(
    phase: int = 0,
    params: SmoothingParams | None = None,
    profile: tuple[float, ...] = (),
    rules: Mapping[DemandPattern, str] = DAILY_RULES,
) -> AdaptiveForecaster:
    """Daily demand: weekly-profile smoothing and TSB, the ones `rules` name (only smoothing
    for `DAILY_RULES`: a candidate no pattern chooses would cost an update a day for nothing);
    `phase` = the weekday of the first day."""
    available: dict[str, Forecaster] = {
        SMOOTHING: SeasonalSmoothing.starting(params or SmoothingParams(), profile, phase),
        TSB: Tsb(),
    }
    chosen = {name: available[name] for name in dict.fromkeys(rules.values())}
    return AdaptiveForecaster(chosen, rules, PatternStats(91.0))


def monthly_forecaster(
    alpha: float = 0.1, rules: Mapping[DemandPattern, str] = MONTHLY_RULES
) -> AdaptiveForecaster:
    """Monthly demand without a season: SES, Croston, SBA and TSB, the ones `rules` name."""
    ses = SeasonalSmoothing.starting(SmoothingParams(alpha=alpha, gamma=0.0, period=1))
    available: dict[str, Forecaster] = {
        SMOOTHING: ses,
        CROSTON: Croston(alpha),
        SBA: sba(alpha),
        TSB: Tsb(alpha, alpha),
    }
    chosen = {name: available[name] for name in dict.fromkeys(rules.values())}
    return AdaptiveForecaster(chosen, rules, PatternStats(24.0), warmup=12)
