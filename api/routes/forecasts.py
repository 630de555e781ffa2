"""Demand forecasts per SKU and site, for buyers and analysts.

- `GET /v1/forecasts/{sku}?site=LON&days=56`: the last `days` closed days (actual demand and the
  forecast made for each before it was learnt), the forecast for the next day with its 80% and
  95% bands, the horizon after it, and the method the demand pattern chose. Without `site`, the
  SKU's only site is used; a SKU forecast at several sites answers 422 naming them.

The dataflow writes one `demand_forecast` row per SKU-site per closed day (migration 0006); a SKU
not in the catalog, or without a closed day yet at the site, is 404 with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import Principal, Role
from api.deps import DepsDep, require
from api.errors import READ, described, not_found, unprocessable
from api.forecast_schemas import ForecastPublic
from api.schemas import Sku
from connectors.postgres.forecasts import MAX_DAYS

router = APIRouter(prefix="/v1", tags=["forecasts"])
ForecastReaderDep = Annotated[Principal, Depends(require(Role.BUYER, Role.ANALYST))]


@router.get(
    "/forecasts/{sku}",
    summary="Daily demand of a SKU at a site: history, one-step forecasts, the next days",
    responses=described(*READ, 404),
)
def read_forecast(
    sku: Sku,
    deps: DepsDep,
    _: ForecastReaderDep,
    site: Annotated[
        str | None,
        Query(min_length=1, max_length=128, description="The site; optional if it has one."),
    ] = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="Days of history.")] = 56,
) -> ForecastPublic:
    if sku not in deps.catalog.skus:
        not_found(f"SKU {sku!r} is not in the catalog")
    sites = deps.ledger.forecast_sites(sku)
    if site is None:
        if len(sites) > 1:
            unprocessable(
                ("query", "site"),
                f"SKU {sku!r} is forecast at {', '.join(sites)}: choose one with ?site=",
            )
        site = sites[0] if sites else None
    rows = [] if site is None else deps.ledger.forecast_days(sku, site, days)
    if not rows:
        where = "" if site is None else f" at site {site!r}"
        known = f" (it has forecasts at {', '.join(sites)})" if sites else ""
        not_found(
            f"no forecast yet for SKU {sku!r}{where}{known}: one is made when a day of its "
            "demand at a site closes (in event time, a few hours after the day ends)"
        )
    return ForecastPublic.of(rows, sites)
