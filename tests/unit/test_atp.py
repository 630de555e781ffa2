"""ATP per site, for the network, per channel, and for kits."""

from __future__ import annotations

import pytest
from stock_factories import (
    LON_A,
    LON_DOCK,
    MAN_A,
    TODAY,
    days,
    ordered,
    received,
    run,
    status_changed,
)

from state.atp import (
    atp_report,
    channel_atp,
    kit_atp,
    network_atp,
    sellable_available,
    site_atp,
)
from state.catalog import Catalog, Channel, Sku
from state.stock import SkuStock

CLOCK = "RETRO-CLOCK"
MILK = "FRESH-MILK"
HOSE = "GARDEN-HOSE"


def test_site_atp_is_sellable_available_less_safety_stock(catalog: Catalog) -> None:
    stock, _ = run(catalog, [received(HOSE, 10)])

    assert site_atp(stock, catalog, "LON", TODAY) == 8


def test_site_atp_never_goes_below_zero(catalog: Catalog) -> None:
    stock, _ = run(catalog, [received(HOSE, 1)])

    assert site_atp(stock, catalog, "LON", TODAY) == 0


def test_network_atp_sums_sites_and_a_site_short_of_safety_stock_borrows_nothing(
    catalog: Catalog,
) -> None:
    stock, _ = run(catalog, [received(HOSE, 1), received(HOSE, 4, at=MAN_A)])

    assert network_atp(stock, catalog, TODAY) == 0 + 4


def test_allocated_held_and_docked_units_are_not_available_to_promise(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10),
        received(CLOCK, 5, at=LON_DOCK),
        ordered("ORD-1", (CLOCK, 2)),
        status_changed(CLOCK, 3, "hold"),
    ]
    stock, _ = run(catalog, events)

    assert sellable_available(stock, catalog, "LON", TODAY) == 5


def test_expired_lots_are_not_available_to_promise(catalog: Catalog) -> None:
    events = [
        received(MILK, 6, lot="OLD", expiry=days(3)),
        received(MILK, 6, lot="NEW", expiry=days(30)),
    ]
    stock, _ = run(catalog, events)

    assert network_atp(stock, catalog, days(2)) == 12
    assert network_atp(stock, catalog, days(3)) == 6


def test_a_lot_inside_the_minimum_shelf_life_is_not_promised() -> None:
    catalog = Catalog.build(
        skus=[Sku("YOGURT", tracks_lot=True, tracks_expiry=True, min_shelf_life_days=5)],
        locations=[LON_A],
    )
    stock, _ = run(catalog, [received("YOGURT", 4, lot="L1", expiry=days(10))])

    assert network_atp(stock, catalog, days(4)) == 4
    assert network_atp(stock, catalog, days(5)) == 0


def test_channel_atp_holds_back_the_buffers_of_higher_priority_channels(
    catalog: Catalog,
) -> None:
    stock, _ = run(catalog, [received(HOSE, 12, at=MAN_A)])

    assert channel_atp(stock, catalog, "wholesale", TODAY) == 12
    assert channel_atp(stock, catalog, "web", TODAY) == 7
    assert channel_atp(stock, catalog, "marketplace", TODAY) == 7


def test_channels_of_equal_priority_do_not_protect_each_other() -> None:
    catalog = Catalog.build(
        skus=[Sku("KITE")],
        locations=[LON_A],
        channels=[Channel("shop", priority=1, buffer=4), Channel("web", priority=1, buffer=4)],
    )
    stock, _ = run(catalog, [received("KITE", 6)])

    assert channel_atp(stock, catalog, "web", TODAY) == 6


def test_channel_atp_is_never_negative(catalog: Catalog) -> None:
    stock, _ = run(catalog, [received(HOSE, 3, at=MAN_A)])

    assert channel_atp(stock, catalog, "web", TODAY) == 0


def test_kit_atp_is_limited_by_its_scarcest_component(catalog: Catalog) -> None:
    kit = catalog.sku("TEA-SET")

    assert kit_atp(kit, {"TEA-MUG": 9, "TEA-POT": 7}) == 4
    assert kit_atp(kit, {"TEA-MUG": 9}) == 0


def test_kit_atp_of_a_sku_that_is_not_a_kit_is_an_error(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="not a kit"):
        kit_atp(catalog.sku(CLOCK), {})


def test_an_atp_report_gives_every_figure(catalog: Catalog) -> None:
    stock, _ = run(catalog, [received(HOSE, 10), received(HOSE, 6, at=MAN_A)])

    report = atp_report(stock, catalog, TODAY)

    assert report.sites == {"LON": 8, "MAN": 6}
    assert report.network == 14
    assert report.channels == {"marketplace": 9, "web": 9, "wholesale": 14}


def test_an_empty_stock_promises_nothing(catalog: Catalog) -> None:
    assert network_atp(SkuStock.empty(CLOCK), catalog, TODAY) == 0
