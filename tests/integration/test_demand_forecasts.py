"""Daily demand forecasts from the flow into the real PostgreSQL table, once each, read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest
from bytewax.testing import run_main

from connectors.inprocess import events_source
from connectors.postgres.forecasts import (
    DemandForecastSink,
    DemandForecastWriter,
    forecast_days,
    forecast_sites,
)
from connectors.postgres.migrate import migrate
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishmentTap
from state.demand.forecast import Forecast
from state.demand.published import DemandForecast
from tests.integration.test_reorder_proposals import CATALOG, CONFIG, T0, running_down


def test_each_closed_day_reaches_postgresql_once_even_when_replayed(
    postgres_dsn: str, pg_schema: psycopg.Connection, unique: str
) -> None:
    migrate(postgres_dsn, unique)

    for _ in range(2):  # the second run is a replay: the same days, nothing new
        tap = ReplenishmentTap(
            CATALOG, CONFIG, forecast_sinks=[DemandForecastSink(postgres_dsn, unique)]
        )
        flow = build_inventory_flow(
            events_source(running_down(20)), InventorySinks(taps=[tap]), CATALOG
        )
        run_main(flow)

    (count,) = pg_schema.execute("SELECT count(*) FROM demand_forecast").fetchone() or (0,)
    assert count == 19  # the 20th day is still open
    assert forecast_sites(pg_schema, "RETRO-CLOCK") == ["LON"]
    newest = forecast_days(pg_schema, "RETRO-CLOCK", "LON", days=5)
    assert [row["day"] for row in newest] == [
        (T0 + timedelta(days=n)).date() for n in range(14, 19)
    ]
    latest = newest[-1]
    assert (latest["actual"], latest["days_learnt"], latest["method"]) == (5.0, 19, "smoothing")
    assert latest["next_mean"] == pytest.approx(5.0)
    assert len(latest["horizon_mean"]) == len(latest["horizon_std"]) == 14
    assert all(len(row["horizon_mean"]) == 14 for row in newest)  # one day closed at a time
    assert forecast_sites(pg_schema, "NO-SUCH-SKU") == []


def test_a_reader_refuses_a_history_longer_than_a_year(pg_schema: psycopg.Connection) -> None:
    with pytest.raises(ValueError, match="1 to 366 days"):
        forecast_days(pg_schema, "RETRO-CLOCK", "LON", days=367)


def first_days(*sites: str, horizon: int = 0) -> list[DemandForecast]:
    return [
        DemandForecast(
            sku="RETRO-CLOCK",
            site=site,
            day=T0.date(),
            actual=3.0,
            forecast=None,
            next_day=Forecast(0.1, 0.02),
            method="smoothing",
            pattern="lumpy",
            days_learnt=1,
            horizon=tuple(Forecast(0.1 * h, 0.02 * h) for h in range(1, horizon + 1)),
        )
        for site in sites
    ]


def test_a_batch_of_first_days_is_written_without_a_forecast_before_them(
    postgres_dsn: str, pg_schema: psycopg.Connection, unique: str
) -> None:
    migrate(postgres_dsn, unique)
    writer = DemandForecastWriter(postgres_dsn, unique)
    try:
        writer.write(first_days("LON", "MAN", horizon=3))
    finally:
        writer.close()

    [row] = forecast_days(pg_schema, "RETRO-CLOCK", "MAN")
    assert (row["forecast_mean"], row["forecast_std"], row["actual"]) == (None, None, 3.0)
    assert row["horizon_mean"] == [0.1, 0.2, 0.1 * 3]  # exactly the floats written
    assert row["horizon_std"] == [Forecast(0, 0.02 * h).std for h in (1, 2, 3)]


def test_a_batch_keeps_the_horizon_of_each_sku_sites_newest_day_only(
    postgres_dsn: str, pg_schema: psycopg.Connection, unique: str
) -> None:
    migrate(postgres_dsn, unique)
    days = [
        replace(f, day=f.day + timedelta(days=n))
        for n in range(3)
        for f in first_days("LON", horizon=14)
    ]
    writer = DemandForecastWriter(postgres_dsn, unique)
    try:
        writer.write(list(reversed(days)))  # the order within a batch does not matter
    finally:
        writer.close()

    rows = forecast_days(pg_schema, "RETRO-CLOCK", "LON")
    assert [len(row["horizon_mean"]) for row in rows] == [0, 0, 14]
