"""What the API answers about demand forecasts (`GET /v1/forecasts/{sku}`).

Built from `demand_forecast` rows (migration 0006), one per closed day of a SKU at a site. Demand
is in base units per day; spreads are standard deviations in units per day; bands read each
forecast as a normal distribution clipped at 0 (`state.demand.published.band`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from state.demand.forecast import Forecast
from state.demand.published import band


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class DemandDayPublic(_Public):
    """A closed day: what customers asked for, and what had been forecast for it beforehand."""

    day: date
    actual: float = Field(description="Units ordered that day (allocated or not).")
    forecast: float | None = Field(
        description="The one-step forecast made before the day was learnt (null on the first day)."
    )
    forecast_std: float | None = Field(description="Its standard deviation (units per day).")


class BandPublic(_Public):
    lower: float = Field(description="Lower bound, units per day (never below 0).")
    upper: float = Field(description="Upper bound, units per day.")


class ForecastPointPublic(_Public):
    """A forecast day ahead: the mean, its spread and the central 80% and 95% bands."""

    day: date
    mean: float = Field(description="Expected units that day.")
    std: float = Field(description="Standard deviation, units per day.")
    band_80: BandPublic = Field(description="The 10% to 90% quantiles.")
    band_95: BandPublic = Field(description="The 2.5% to 97.5% quantiles.")

    @classmethod
    def of(cls, day: date, mean: float, std: float) -> ForecastPointPublic:
        forecast = Forecast(mean, std * std)
        low80, high80 = band(forecast, 0.8)
        low95, high95 = band(forecast, 0.95)
        return cls(
            day=day,
            mean=mean,
            std=std,
            band_80=BandPublic(lower=low80, upper=high80),
            band_95=BandPublic(lower=low95, upper=high95),
        )


class ForecastPublic(_Public):
    sku: str
    site: str
    sites: list[str] = Field(description="Every site this SKU has forecasts at.")
    method: str = Field(description="The forecasting method the demand pattern chose.")
    demand_pattern: str = Field(description="smooth, erratic, intermittent or lumpy (ADI/CV²).")
    days_learnt: int = Field(description="Days of demand the site's forecaster has learnt.")
    as_of: date = Field(description="The newest day learnt.")
    history: list[DemandDayPublic] = Field(description="Closed days, oldest first.")
    next_day: ForecastPointPublic = Field(description="The forecast for the day after `as_of`.")
    horizon: list[ForecastPointPublic] = Field(
        description="The days after `as_of`, one by one (the weekday profile shapes them)."
    )

    @classmethod
    def of(cls, rows: list[dict[str, Any]], sites: list[str]) -> ForecastPublic:
        """From `demand_forecast` rows of one SKU-site, oldest first (at least one)."""
        latest = rows[-1]
        as_of: date = latest["day"]
        horizon = [
            ForecastPointPublic.of(as_of + timedelta(days=h), mean, std)
            for h, (mean, std) in enumerate(
                zip(latest["horizon_mean"], latest["horizon_std"], strict=True), 1
            )
        ]
        return cls(
            sku=latest["sku"],
            site=latest["site"],
            sites=sites,
            method=latest["method"],
            demand_pattern=latest["pattern"],
            days_learnt=latest["days_learnt"],
            as_of=as_of,
            history=[
                DemandDayPublic(
                    day=row["day"],
                    actual=row["actual"],
                    forecast=row["forecast_mean"],
                    forecast_std=row["forecast_std"],
                )
                for row in rows
            ],
            next_day=ForecastPointPublic.of(
                as_of + timedelta(days=1), latest["next_mean"], latest["next_std"]
            ),
            horizon=horizon,
        )
