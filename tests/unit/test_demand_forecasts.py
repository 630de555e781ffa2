"""`DemandForecast`: each closed day of a SKU-site published, test-then-train, with what's next."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest
from stock_factories import LON_A, MAN_A, T0, ordered, received

from state.apply import apply
from state.catalog import Catalog
from state.demand.classify import DemandPattern
from state.demand.forecast import Forecast
from state.demand.proposals import ReorderProposed
from state.demand.published import HORIZON_DAYS, DemandForecast, band, learn_days
from state.demand.selector import TSB, daily_forecaster
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams
from state.events import Event, OrderLine
from state.replenishment import (
    ReplenishmentConfig,
    ReplenishmentOutput,
    SkuReplenishment,
    replenish,
)
from state.stock import SkuStock

POT = "TEA-POT"
MONDAY = date(2025, 3, 3)
CONFIG = ReplenishmentConfig(lead_time_days=5.0, lead_time_std_days=1.0, min_days=14)


def days_from(start: date, *units: float) -> list[tuple[date, float]]:
    return [(start + timedelta(days=n), u) for n, u in enumerate(units)]


def test_each_day_carries_the_forecast_made_before_it_was_learnt() -> None:
    forecaster = daily_forecaster(MONDAY.weekday(), SmoothingParams(alpha=0.5, gamma=0.0))

    learnt, published = learn_days(
        forecaster, days_from(MONDAY, 4, 6, 5), sku=POT, site="LON", learnt=0
    )

    assert [(p.day, p.actual, p.days_learnt) for p in published] == [
        (MONDAY, 4, 1),
        (MONDAY + timedelta(days=1), 6, 2),
        (MONDAY + timedelta(days=2), 5, 3),
    ]
    assert published[0].forecast is None  # nothing learnt, nothing forecast
    for before, after in itertools.pairwise(published):
        assert after.forecast == before.next_day  # D + 1's forecast is D's next day
    assert published[-1].next_day == learnt.forecast(1)
    assert published[1].forecast.mean == pytest.approx(4.0)  # the first day set the level
    assert {(p.sku, p.site, p.method) for p in published} == {(POT, "LON", "smoothing")}


def test_only_the_newest_day_closed_at_once_carries_the_horizon() -> None:
    forecaster = daily_forecaster(MONDAY.weekday())

    _, published = learn_days(
        forecaster, days_from(MONDAY, *[3] * 7), sku=POT, site="LON", learnt=10
    )

    assert [len(p.horizon) for p in published] == [0] * 6 + [HORIZON_DAYS]
    assert published[0].forecast == forecaster.forecast(1)  # a model that had learnt forecasts
    newest = published[-1]
    assert newest.days_learnt == 17
    assert newest.horizon[0] == newest.next_day
    assert newest.horizon_days() == tuple(
        MONDAY + timedelta(days=6 + h) for h in range(1, HORIZON_DAYS + 1)
    )
    assert published[0].horizon_days() == ()


def test_the_horizon_follows_the_weekday_profile() -> None:
    """A shop closed on Saturdays: every Saturday ahead is forecast at 0, the others not."""
    closed_saturdays = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0)
    params = SmoothingParams(alpha=0.2, gamma=0.0)
    forecaster = daily_forecaster(MONDAY.weekday(), params, closed_saturdays)
    week = [6.0, 6.0, 6.0, 6.0, 6.0, 0.0, 6.0]

    _, published = learn_days(
        forecaster,
        days_from(MONDAY, *week, *week),
        sku=POT,
        site="LON",
        learnt=0,
        horizon_days=9,
    )

    newest = published[-1]  # a Sunday
    by_day = dict(zip(newest.horizon_days(), newest.horizon, strict=True))
    saturdays = [day for day in by_day if day.weekday() == 5]
    assert saturdays == [newest.day + timedelta(days=6)]
    assert by_day[saturdays[0]].mean == 0.0
    assert all(f.mean == pytest.approx(6.0) for day, f in by_day.items() if day.weekday() != 5)


@pytest.mark.parametrize(
    "params",
    [SmoothingParams(alpha=0.3, gamma=0.1), SmoothingParams(alpha=0.3, gamma=0.1, additive=True)],
    ids=["multiplicative", "additive"],
)
def test_a_smoothing_path_is_its_forecasts_one_by_one(params: SmoothingParams) -> None:
    model = SeasonalSmoothing.starting(params, phase=2)
    for y in (4, 0, 7, 3, 9, 1, 0, 5, 6, 2):
        model = model.update(y)

    assert model.path(10) == tuple(model.forecast(h) for h in range(1, 11))


def test_a_path_follows_the_method_the_pattern_chose() -> None:
    """Rules that choose TSB: it answers, the same rate every day."""
    forecaster = daily_forecaster(0, rules=dict.fromkeys(DemandPattern, TSB))
    for y in [0, 0, 0, 40, 0, 0, 0, 0, 3, 0] * 3:
        forecaster = forecaster.update(y)

    assert forecaster.method == "tsb"
    assert forecaster.path(3) == (forecaster.forecast(1),) * 3


def test_a_band_reads_the_forecast_as_a_normal_clipped_at_zero() -> None:
    low80, high80 = band(Forecast(10.0, 4.0), 0.8)
    low95, high95 = band(Forecast(10.0, 4.0), 0.95)

    assert (low80, high80) == pytest.approx((10 - 1.2816 * 2, 10 + 1.2816 * 2), abs=1e-3)
    assert low95 < low80 < high80 < high95
    assert band(Forecast(1.0, 9.0), 0.95)[0] == 0.0  # never a negative demand


@pytest.mark.parametrize("level", [0.0, 1.0, 80.0])
def test_a_band_level_outside_zero_and_one_is_refused(level: float) -> None:
    with pytest.raises(ValueError, match=r"0\.8 for 80%"):
        band(Forecast(1.0, 1.0), level)


class TeaPot:
    """One SKU through `apply` and `replenish`, keeping everything `replenish` emits."""

    def __init__(self, catalog: Catalog, config: ReplenishmentConfig = CONFIG) -> None:
        self.catalog, self.config = catalog, config
        self.stock: SkuStock | None = None
        self.state: SkuReplenishment | None = None
        self.emitted: list[ReplenishmentOutput] = []

    def send(self, event: Event) -> None:
        self.stock, outputs = apply(self.stock, event, self.catalog, sku=POT)
        self.state, emitted = replenish(
            self.state, event, outputs, self.stock, self.catalog, self.config
        )
        self.emitted.extend(emitted)

    def order(self, day: int, quantity: int, site: str) -> None:
        line = OrderLine(sku=POT, quantity=quantity, site=site)
        self.send(ordered(f"O-{site}-{day}", line, minutes=day * 24 * 60))

    @property
    def forecasts(self) -> list[DemandForecast]:
        return [e for e in self.emitted if isinstance(e, DemandForecast)]


def test_replenish_publishes_every_closed_day_of_every_site_before_its_proposals(
    catalog: Catalog,
) -> None:
    pot = TeaPot(catalog)
    pot.send(received(POT, 200, at=LON_A))
    pot.send(received(POT, 50, at=MAN_A))
    for day in range(40):
        pot.order(day, 5, "LON")
        if day % 2 == 0:
            pot.order(day, 2, "MAN")

    by_site = {site: [f for f in pot.forecasts if f.site == site] for site in ("LON", "MAN")}
    start = T0.date()
    assert [f.day for f in by_site["LON"]] == [start + timedelta(days=n) for n in range(39)]
    assert [f.actual for f in by_site["MAN"]][:4] == [2.0, 0.0, 2.0, 0.0]  # zero days included
    assert by_site["LON"][-1].next_day.mean == pytest.approx(5.0)
    assert len(by_site["LON"][-1].horizon) == HORIZON_DAYS
    first_proposal = next(i for i, e in enumerate(pot.emitted) if isinstance(e, ReorderProposed))
    assert isinstance(pot.emitted[first_proposal - 1], DemandForecast)


def test_with_forecasts_off_replenish_learns_the_same_and_publishes_none(catalog: Catalog) -> None:
    publishing, quiet = TeaPot(catalog), TeaPot(catalog, replace(CONFIG, forecasts=False))
    for pot in (publishing, quiet):
        pot.send(received(POT, 200, at=LON_A))
        for day in range(20):
            pot.order(day, 5, "LON")

    assert quiet.forecasts == []
    assert len(publishing.forecasts) == 19
    assert quiet.state is not None
    assert publishing.state is not None
    assert quiet.state.sites["LON"].forecaster == publishing.state.sites["LON"].forecaster
