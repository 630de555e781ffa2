"""The live view's figures, computed in one pass for speed, agree with each rule asked alone."""

from __future__ import annotations

from datetime import date

import pytest
from stock_factories import (
    LON_A,
    LON_DOCK,
    MAN_A,
    T0,
    days,
    ordered,
    po_placed,
    received,
    run,
    transfer_shipped,
)

from state.atp import atp_report, channel_atp, network_atp, site_atp
from state.catalog import Catalog
from state.events import Event
from state.views import view_of

CLOCK = "RETRO-CLOCK"
MILK = "FRESH-MILK"
HOSE = "GARDEN-HOSE"

STOCKS: dict[str, list[Event]] = {
    "safety stock, a buffer and a dock": [
        received(HOSE, 10),
        received(HOSE, 4, at=MAN_A),
        received(HOSE, 5, at=LON_DOCK),
        ordered("ORD-1", (HOSE, 3)),
    ],
    "one lot expiring, one fresh": [
        received(MILK, 6, lot="OLD", expiry=days(3)),
        received(MILK, 6, lot="NEW", expiry=days(30), at=MAN_A),
    ],
    "a site short of its safety stock": [received(HOSE, 1), received(HOSE, 7, at=MAN_A)],
}


@pytest.mark.parametrize("events", STOCKS.values(), ids=STOCKS.keys())
@pytest.mark.parametrize("as_of", [days(0), days(3)], ids=["today", "expiry day"])
def test_the_atp_report_agrees_with_each_figure_asked_for_alone(
    catalog: Catalog, events: list[Event], as_of: date
) -> None:
    stock, _ = run(catalog, events)

    report = atp_report(stock, catalog, as_of)

    assert report.sites == {s: site_atp(stock, catalog, s, report.as_of) for s in catalog.sites}
    assert report.network == network_atp(stock, catalog, report.as_of)
    assert report.channels == {
        code: channel_atp(stock, catalog, code, report.as_of) for code in catalog.channels
    }


def test_a_view_carries_the_units_in_transit_and_on_order_that_the_stock_totals(
    catalog: Catalog,
) -> None:
    events = [received(CLOCK, 10), transfer_shipped("T-1", CLOCK, 3), po_placed("PO-1", CLOCK, 24)]
    stock, _ = run(catalog, events)

    view = view_of(stock, catalog, T0, "ev-last")

    totals = stock.totals()
    assert (view.in_transit, view.on_order) == (totals.in_transit, totals.on_order) == (3, 24)
    assert [(p.location, p.quantities.available) for p in view.positions] == [(LON_A, 7)]
