"""A restarted process plans on the network as it was: the routing picture seeded from stored
views, without a stored view ever replacing a newer one the flow delivered."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dataflows.routing import PictureBoard
from state.atp import AtpReport
from state.buckets import Quantities
from state.catalog import Catalog
from state.routing import LineToRoute, OrderToRoute
from state.views import PositionView, SkuView

DAY = date(2011, 3, 1)


def view(sku: str, sites: dict[str, int], allocated_at_lon: int = 0) -> SkuView:
    positions = (PositionView("LON/A/01/01/1/PICK", "", Quantities(allocated=allocated_at_lon)),)
    return SkuView(
        sku=sku,
        as_of=DAY,
        updated_at=datetime(2011, 3, 1, 9, tzinfo=UTC),
        last_event_id="e",
        positions=positions,
        in_transit=0,
        on_order=0,
        atp=AtpReport(sku=sku, as_of=DAY, sites=sites, network=sum(sites.values()), channels={}),
    )


def order_for(*skus: str) -> OrderToRoute:
    return OrderToRoute(
        order_id="o1",
        event_id="e-o1",
        region="United Kingdom",
        channel="web",
        placed_at=datetime(2011, 3, 1, 10, tzinfo=UTC),
        lines=tuple(LineToRoute(sku=sku, quantity=1) for sku in skus),
    )


def test_a_seeded_board_pictures_the_stored_network() -> None:
    board = PictureBoard(Catalog.build(locations=["LON/A/01/01/1/PICK"]))
    taken = board.seed([view("85123A", {"LON": 12, "MAN": 3}, allocated_at_lon=5)])

    picture = board.picture(order_for("85123A"))
    assert taken == 1
    assert picture.atp["85123A"] == {"LON": 12, "MAN": 3}
    assert picture.backlog == {"LON": 5}


def test_a_view_the_flow_delivered_is_newer_than_any_stored_one_and_stays() -> None:
    board = PictureBoard(Catalog.build(locations=["LON/A/01/01/1/PICK"]))
    board.observe(view("85123A", {"LON": 2}, allocated_at_lon=1))  # the flow, after the restart

    taken = board.seed([view("85123A", {"LON": 12}, allocated_at_lon=5), view("22423", {"MAN": 4})])

    picture = board.picture(order_for("85123A", "22423"))
    assert taken == 1
    assert picture.atp == {"85123A": {"LON": 2}, "22423": {"MAN": 4}}
    assert picture.backlog == {"LON": 1}
