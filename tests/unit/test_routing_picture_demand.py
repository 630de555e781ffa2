"""The routing picture's daily demand at a site: the units its plans ship from there over the
last `demand_days` days, divided by that many days; older plans drop out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dataflows.routing import PictureBoard
from state.catalog import Catalog
from state.routing import CostBreakdown, PlannedLine, RoutingPlan, Source
from tests.unit.test_routing_picture_seed import order_for

CATALOG = Catalog.build(locations=["LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"])
FIRST_DAY = datetime(2011, 3, 1, 10, tzinfo=UTC)


def shipped(sku: str, *sources: tuple[str, int]) -> RoutingPlan:
    quantity = sum(n for _, n in sources)
    line = PlannedLine(sku, quantity, sources[0][0], tuple(Source(s, n) for s, n in sources))
    return RoutingPlan("o", "e-o", "UK", "cheapest", (line,), CostBreakdown())


def demand(board: PictureBoard, sku: str) -> dict[tuple[str, str], float]:
    return dict(board.picture(order_for(sku)).daily_demand)


def test_a_sites_daily_demand_is_its_planned_units_over_the_window() -> None:
    board = PictureBoard(CATALOG, demand_days=4)
    board.record(shipped("RETRO-CLOCK", ("LON", 6), ("MAN", 2)), FIRST_DAY)
    board.record(shipped("RETRO-CLOCK", ("LON", 2)), FIRST_DAY + timedelta(hours=3))
    board.record(shipped("RETRO-CLOCK", ("LON", 4)), FIRST_DAY + timedelta(days=2))

    assert demand(board, "RETRO-CLOCK") == {
        ("RETRO-CLOCK", "LON"): (6 + 2 + 4) / 4,
        ("RETRO-CLOCK", "MAN"): 2 / 4,
    }


def test_plans_older_than_the_window_drop_out_of_the_demand() -> None:
    board = PictureBoard(CATALOG, demand_days=4)
    board.record(shipped("RETRO-CLOCK", ("LON", 6)), FIRST_DAY)
    board.record(shipped("RETRO-CLOCK", ("LON", 3)), FIRST_DAY + timedelta(days=1))
    board.record(shipped("RETRO-CLOCK", ("LON", 1)), FIRST_DAY + timedelta(days=4))

    # Day 4 ends the window that began on day 0: the first day's 6 units are forgotten.
    assert demand(board, "RETRO-CLOCK") == {("RETRO-CLOCK", "LON"): (3 + 1) / 4}


def test_a_sku_never_planned_has_no_demand() -> None:
    board = PictureBoard(CATALOG)
    board.record(shipped("RETRO-CLOCK", ("LON", 6)), FIRST_DAY)

    assert demand(board, "TEA-MUG") == {}
