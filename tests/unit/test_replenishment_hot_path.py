"""The replenishment step's per-event shortcuts: what they share and skip changes no outcome."""

from __future__ import annotations

import pickle
from pathlib import Path

from stock_factories import LON_A, make_catalog, ordered, received
from test_reorder_proposals import MUG, Mug, purchase_order

from dataflows.replenishment import snapshot_of
from state.apply import apply
from state.catalog import Catalog
from state.demand.classify import DemandPattern
from state.demand.holt_winters import RiverHoltWinters
from state.demand.selector import AdaptiveForecaster
from state.events import OrderLine
from state.replenishment import SkuReplenishment, replenish

SNAPSHOTS = Path(__file__).parent / "snapshots"


def mug_after_twenty_days(catalog: Catalog) -> Mug:
    """The scenario `snapshots/replenishment_before_hot_path.pickle` was pickled from."""
    mug = Mug(catalog)
    mug.send(received(MUG, 100, at=LON_A), purchase_order("PO-1", 10, 1))
    for day in range(20):
        mug.order(day)
    return mug


def test_a_snapshot_of_frozen_forecasters_is_the_state_itself(catalog: Catalog) -> None:
    state = mug_after_twenty_days(catalog).state
    assert state is not None
    assert state.sites["LON"].forecaster is not None

    assert snapshot_of(state) is state


def test_a_snapshot_copies_a_forecaster_that_learns_in_place(catalog: Catalog) -> None:
    state = mug_after_twenty_days(catalog).state
    assert state is not None
    river = AdaptiveForecaster({"hw": RiverHoltWinters()}, dict.fromkeys(DemandPattern, "hw"))
    site = state.sites["LON"]
    with_river = SkuReplenishment(
        {"LON": type(site)(site.demand, river, site.days_learnt, site.trigger)},
        state.lead_times,
        state.backorder_sites,
        state.watermark,
    )

    snapshot = snapshot_of(with_river)

    copied = snapshot.sites["LON"].forecaster
    assert copied is not None
    assert copied.candidates["hw"] is not river.candidates["hw"]
    assert snapshot.sites["LON"].demand is site.demand  # frozen values are shared


def test_an_event_that_changes_no_demand_position_or_day_returns_the_state_itself(
    catalog: Catalog,
) -> None:
    mug = mug_after_twenty_days(catalog)
    state, stock = mug.state, mug.stock
    assert state is not None
    assert stock is not None
    # The last order again (redelivered): `apply` turns it away, so it is no demand.
    again = ordered("O-LON-19", OrderLine(sku=MUG, quantity=5, site="LON"), minutes=19 * 1440)
    stock, outputs = apply(stock, again, catalog, sku=MUG)

    learnt, emitted = replenish(state, again, outputs, stock, catalog, mug.config)

    assert (learnt, emitted) == (state, ())
    assert learnt is state


def test_a_state_pickled_before_the_shortcuts_resumes_as_if_never_stopped() -> None:
    catalog = make_catalog()
    mug = mug_after_twenty_days(catalog)

    restored = pickle.loads((SNAPSHOTS / "replenishment_before_hot_path.pickle").read_bytes())

    assert restored == mug.state
    twin = Mug(catalog)
    twin.stock, twin.state = mug.stock, restored
    assert [p for day in range(20, 40) for p in twin.order(day)] == [
        p for day in range(20, 40) for p in mug.order(day)
    ]
