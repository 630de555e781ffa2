"""`skuflow run` seeds its routing picture from the views PostgreSQL holds (a restarted process
plans on the network as it was)."""

from __future__ import annotations

import uuid

from connectors.postgres.ledger import PostgresLedger
from connectors.services.base import ServiceInfo
from dataflows.operations import seed_picture
from dataflows.routing import PictureBoard
from state.catalog import Catalog
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
