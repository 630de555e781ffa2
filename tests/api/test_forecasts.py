"""Demand forecasts per SKU and site: history, the next day with its bands, the horizon."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from connectors.postgres.forecasts import DemandForecastWriter
from state.demand.forecast import Forecast
from state.demand.published import DemandForecast

Headers = Callable[[Role], dict[str, str]]
DAY0 = date(2011, 11, 1)


def learnt(sku: str, site: str, days: int, *, daily: float = 6.0) -> list[DemandForecast]:
    """`days` closed days of steady demand, the newest with a 14-day horizon."""
    return [
        DemandForecast(
            sku=sku,
            site=site,
            day=DAY0 + timedelta(days=n),
            actual=daily + (n % 2),
            forecast=Forecast(daily, 4.0) if n else None,  # none before the first day
            next_day=Forecast(daily, 4.0),
            method="smoothing",
            pattern="smooth",
            days_learnt=n + 1,
            horizon=tuple(Forecast(daily, 4.0 * h) for h in range(1, 15)) if n == days - 1 else (),
        )
        for n in range(days)
    ]


def written(postgres_dsn: str, schema: str, forecasts: list[DemandForecast]) -> None:
    """Write forecasts as the dataflow's sink does."""
    writer = DemandForecastWriter(postgres_dsn, schema)
    try:
        writer.write(forecasts)
    finally:
        writer.close()


def test_an_analyst_reads_a_skus_history_next_day_band_and_horizon(
    client: TestClient, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    written(postgres_dsn, unique, learnt("RETRO-CLOCK", "LON", 30))

    answer = client.get("/v1/forecasts/RETRO-CLOCK?site=LON&days=7", headers=as_role(Role.ANALYST))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["sku"], body["site"], body["sites"]) == ("RETRO-CLOCK", "LON", ["LON"])
    assert (body["method"], body["demand_pattern"], body["days_learnt"]) == (
        "smoothing",
        "smooth",
        30,
    )
    assert body["as_of"] == "2011-11-30"
    assert [d["day"] for d in body["history"]] == [f"2011-11-{d}" for d in range(24, 31)]
    assert body["history"][-1] == {
        "day": "2011-11-30",
        "actual": 7.0,
        "forecast": 6.0,
        "forecast_std": 2.0,
    }
    next_day = body["next_day"]
    assert (next_day["day"], next_day["mean"], next_day["std"]) == ("2011-12-01", 6.0, 2.0)
    assert next_day["band_80"]["lower"] == pytest.approx(6 - 1.2816 * 2, abs=1e-3)
    assert next_day["band_95"]["upper"] == pytest.approx(6 + 1.96 * 2, abs=1e-3)
    horizon = body["horizon"]
    assert [p["day"] for p in horizon][:2] == ["2011-12-01", "2011-12-02"]
    assert len(horizon) == 14
    assert horizon[-1]["band_95"]["lower"] == 0.0  # a wide band is clipped at no demand
    assert horizon[-1]["std"] == pytest.approx(2.0 * 14**0.5)


def test_buyers_may_read_forecasts_and_channels_may_not(
    client: TestClient, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    written(postgres_dsn, unique, learnt("TEAL-KETTLE", "MAN", 3))

    buyer = client.get("/v1/forecasts/TEAL-KETTLE?site=MAN", headers=as_role(Role.BUYER))
    channel = client.get("/v1/forecasts/TEAL-KETTLE?site=MAN", headers=as_role(Role.CHANNEL))

    assert buyer.status_code == 200
    assert channel.status_code == 403
    assert "buyer, analyst, admin" in channel.json()["detail"]


def test_an_unknown_sku_or_a_site_without_a_closed_day_is_404_with_the_reason(
    client: TestClient, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    written(postgres_dsn, unique, learnt("TEAL-KETTLE", "MAN", 3))
    headers = as_role(Role.ANALYST)

    unknown = client.get("/v1/forecasts/NO-SUCH-SKU?site=LON", headers=headers)
    not_yet = client.get("/v1/forecasts/PAPER-BIRDIE", headers=headers)
    elsewhere = client.get("/v1/forecasts/TEAL-KETTLE?site=LON", headers=headers)

    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "SKU 'NO-SUCH-SKU' is not in the catalog"
    assert not_yet.status_code == 404
    assert not_yet.json()["detail"].startswith("no forecast yet for SKU 'PAPER-BIRDIE':")
    assert elsewhere.status_code == 404
    assert "at site 'LON' (it has forecasts at MAN)" in elsewhere.json()["detail"]


def test_without_a_site_the_skus_only_site_answers_and_several_sites_are_named(
    client: TestClient, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    written(postgres_dsn, unique, learnt("TEAL-KETTLE", "MAN", 3))
    written(postgres_dsn, unique, learnt("RETRO-CLOCK", "LON", 3) + learnt("RETRO-CLOCK", "MAN", 2))
    headers = as_role(Role.ANALYST)

    only = client.get("/v1/forecasts/TEAL-KETTLE", headers=headers)
    several = client.get("/v1/forecasts/RETRO-CLOCK", headers=headers)

    assert only.status_code == 200
    assert only.json()["site"] == "MAN"
    assert several.status_code == 422
    assert "forecast at LON, MAN: choose one with ?site=" in several.json()["detail"][0]["msg"]


def test_a_day_written_twice_is_one_day(
    client: TestClient, as_role: Headers, postgres_dsn: str, unique: str
) -> None:
    days = learnt("RETRO-CLOCK", "LON", 5)
    written(postgres_dsn, unique, days)
    written(postgres_dsn, unique, days + days)  # a replayed batch, and a duplicate within one

    answer = client.get("/v1/forecasts/RETRO-CLOCK?site=LON", headers=as_role(Role.ANALYST))

    history = answer.json()["history"]
    assert [d["day"] for d in history] == [f"2011-11-0{d}" for d in range(1, 6)]
    assert (history[0]["forecast"], history[1]["forecast"]) == (None, 6.0)


def test_the_forecast_route_is_documented_with_its_response_model(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    operation = schema["paths"]["/v1/forecasts/{sku}"]["get"]
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert response == {"$ref": "#/components/schemas/ForecastPublic"}
    assert {p["name"] for p in operation["parameters"]} >= {"sku", "site", "days"}
    assert set(operation["responses"]) >= {"200", "401", "403", "404", "422", "503"}
    assert "band_80" in schema["components"]["schemas"]["ForecastPointPublic"]["properties"]
