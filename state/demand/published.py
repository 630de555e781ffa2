"""`DemandForecast`: what a SKU-site's forecaster learnt and now expects, one value per closed day.

    learn_days(forecaster, closed, sku=..., site=..., learnt=..., horizon_days=...)
        -> (forecaster, tuple[DemandForecast, ...])

Test-then-train: for each closed day D, in order, the forecast made for D before D was learnt
(`forecast`, the one-step forecast of the model as it stood) is recorded beside D's actual demand,
then the model learns D, and the forecast for D + 1 (`next_day`) is read from the learnt model.
So `forecast` of D + 1 equals `next_day` of D: one `forecast(1)` a day, no extra work. A site's
first day has no `forecast`: nothing had been learnt to make one.

The horizon (D + 1 … D + n, each a `Forecast(mean, variance)` in units per day and units² per
day, shaped by the weekday profile when the chosen model has one) is read once per call, on the
newest day only: when one event closes several days at once (a SKU quiet for a week), the older
days' horizons would be superseded in the same step, so they carry none. Reading it costs
n `forecast(h)` calls per close, never per event.

`band(forecast, level)` reads a forecast as a normal distribution clipped at 0: the central
interval holding `level` of it (0.8: the 10% and 90% quantiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from state.demand.daily import ClosedDay
from state.demand.forecast import Forecast
from state.demand.selector import AdaptiveForecaster

HORIZON_DAYS = 14


@dataclass(frozen=True, slots=True)
class DemandForecast:
    """One closed day of a SKU at a site: its demand, what had been forecast, what comes next.

    Units per day (means) and units² per day (variances).
    """

    sku: str
    site: str
    day: date
    actual: float  # units customers asked for that day
    forecast: Forecast | None  # made for `day` before it was learnt; None on the first day
    next_day: Forecast  # for `day` + 1, once `day` was learnt
    method: str  # the method the demand pattern chose (`state.demand.selector`)
    pattern: str  # smooth, erratic, intermittent or lumpy
    days_learnt: int  # days this site's forecaster has learnt, `day` included
    horizon: tuple[Forecast, ...] = ()  # `day` + 1 … `day` + n; only on the newest day closed

    def horizon_days(self) -> tuple[date, ...]:
        return tuple(self.day + timedelta(days=h) for h in range(1, len(self.horizon) + 1))


def learn_days(
    forecaster: AdaptiveForecaster,
    closed: Sequence[ClosedDay],
    *,
    sku: str,
    site: str,
    learnt: int,
    horizon_days: int = HORIZON_DAYS,
) -> tuple[AdaptiveForecaster, tuple[DemandForecast, ...]]:
    """Learn `closed` days in order (test-then-train); one `DemandForecast` per day."""
    published: list[DemandForecast] = []
    made = forecaster.forecast(1) if learnt > 0 else None  # a new model has forecast nothing
    for n, (day, units) in enumerate(closed, 1):
        forecaster = forecaster.update(units)
        pattern = forecaster.pattern  # read once: each read classifies the series again
        method = forecaster.rules[pattern]
        newest = n == len(closed)
        horizon = forecaster.path(horizon_days, method) if newest else ()
        # The horizon's first day is forecast(1) itself: read it rather than work it out again.
        following = horizon[0] if horizon else forecaster.candidates[method].forecast(1)
        published.append(
            DemandForecast(
                sku, site, day, units, made, following, method, pattern.value, learnt + n, horizon
            )
        )
        made = following
    return forecaster, tuple(published)


def band(forecast: Forecast, level: float) -> tuple[float, float]:
    """The central `level` interval (0 < level < 1) of a normal forecast, clipped at 0."""
    if not 0.0 < level < 1.0:
        msg = f"a band's level is strictly between 0 and 1 (0.8 for 80%), got {level}"
        raise ValueError(msg)
    tail = (1.0 - level) / 2
    return forecast.quantile(tail), forecast.quantile(1.0 - tail)
