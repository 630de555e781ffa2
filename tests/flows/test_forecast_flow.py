"""Daily forecasts out of the replenishment tap: one per SKU-site per closed day, on any workers."""

from __future__ import annotations

import pytest
from bytewax.testing import TestingSink, cluster_main, run_main

from connectors.inprocess import events_source
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishmentTap
from state.demand.proposals import ReorderProposed
from state.demand.published import HORIZON_DAYS, DemandForecast
from tests.flows.test_replenishment_flow import CONFIG, T0, catalog, story


def run(days: int, workers: int = 1) -> tuple[list[DemandForecast], list[ReorderProposed]]:
    forecasts: list[DemandForecast] = []
    proposals: list[ReorderProposed] = []
    tap = ReplenishmentTap(catalog(), CONFIG, [TestingSink(proposals)], [TestingSink(forecasts)])
    flow = build_inventory_flow(events_source(story(days)), InventorySinks(taps=[tap]), catalog())
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return forecasts, proposals


def test_every_closed_day_of_every_sku_site_is_forecast_once_beside_the_proposals() -> None:
    forecasts, proposals = run(40)

    keys = [(f.sku, f.site, f.day) for f in forecasts]
    assert len(keys) == len(set(keys)) == 3 * 39  # the 40th day is still open
    assert {(f.sku, f.site) for f in forecasts} == {
        ("RETRO-CLOCK", "LON"),
        ("TEAL-KETTLE", "MAN"),
        ("PAPER-BIRDIE", "LON"),
    }
    clock = sorted((f for f in forecasts if f.sku == "RETRO-CLOCK"), key=lambda f: f.day)
    assert clock[0].day == T0.date()
    assert [f.actual for f in clock] == [5.0] * 39
    assert clock[-1].next_day.mean == pytest.approx(5.0)
    assert len(clock[-1].horizon) == HORIZON_DAYS
    assert [p.proposal_id for p in proposals if p.sku == "RETRO-CLOCK"] == ["rp:RETRO-CLOCK:LON:1"]


def test_a_two_worker_cluster_publishes_the_same_forecasts_as_one_worker() -> None:
    one, _ = run(20)
    two, _ = run(20, workers=2)

    def key(f: DemandForecast) -> tuple[str, str, object]:
        return (f.sku, f.site, f.day)

    assert sorted(one, key=key) == sorted(two, key=key)
