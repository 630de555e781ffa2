"""`skuflow run` seeds its routing picture from the views PostgreSQL holds (a restarted process
plans on the network as it was)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from connectors.postgres.ledger import PostgresLedger
from connectors.postgres.views import stored_routing_figures, stored_views
from connectors.services.base import ServiceInfo
from dataflows.operations import connect, seed_picture
from dataflows.routing import PictureBoard
from state.buckets import Quantities
from state.catalog import Catalog
from state.views import PositionView
from tests.integration.test_kafka_pipeline import new_wiring
from tests.unit.test_routing_picture_seed import order_for, view


def test_the_picture_is_seeded_from_the_views_the_ledger_database_holds(
    services: dict[str, ServiceInfo],
) -> None:
    wiring = new_wiring(services, "seed" + uuid.uuid4().hex[:8])
    ledger = PostgresLedger(wiring.postgres_dsn, schema=wiring.postgres_schema)
    try:
        ledger.write([view("85123A", {"LON": 12, "MAN": 3}, allocated_at_lon=5)])
    finally:
        ledger.close()
    board = PictureBoard(Catalog.build(locations=["LON/A/01/01/1/PICK"]))

    seed_picture(wiring, board).join(timeout=60)

    picture = board.picture(order_for("85123A"))
    assert picture.atp["85123A"] == {"LON": 12, "MAN": 3}
    assert picture.backlog == {"LON": 5}


def test_the_stored_figures_seed_the_picture_the_whole_stored_views_would(
    services: dict[str, ServiceInfo],
) -> None:
    """The seeding reads only each SKU's site ATP and allocated units; the picture is the same
    as one seeded from the whole views, several positions and lots at a site included."""
    wiring = new_wiring(services, "seed" + uuid.uuid4().hex[:8])
    two_positions = view("84029E", {"LON": 0, "MAN": 7}, allocated_at_lon=2)
    two_positions = replace(
        two_positions,
        positions=(
            *two_positions.positions,
            PositionView("LON/B/02/01/1/BULK", "L7", Quantities(available=4, allocated=3)),
            PositionView("MAN/A/01/01/1/PICK", "", Quantities(available=7)),
        ),
    )
    stored = [view("85123A", {"LON": 12, "MAN": 3}, allocated_at_lon=5), view("22423", {"MAN": 4})]
    ledger = PostgresLedger(wiring.postgres_dsn, schema=wiring.postgres_schema)
    try:
        ledger.write([*stored, two_positions])
    finally:
        ledger.close()
    catalog = Catalog.build(locations=["LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"])
    from_views, from_figures = PictureBoard(catalog), PictureBoard(catalog)

    with connect(wiring) as conn:
        taken_from_views = from_views.seed(stored_views(conn))
        taken_from_figures = from_figures.seed_figures(stored_routing_figures(conn))

    order = order_for("85123A", "22423", "84029E")
    assert taken_from_figures == taken_from_views == 3
    assert from_figures.picture(order) == from_views.picture(order)
    assert from_figures.picture(order).backlog == {"LON": 10, "MAN": 0}
