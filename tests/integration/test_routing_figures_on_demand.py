"""The stored figures of an order's SKUs, read from the real PostgreSQL while the bulk seed has
not reached them: the same rows the bulk query gives for those SKUs, through the tables'
primary keys, and the production wiring that fetches them at the first plan."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import psycopg
import pytest

from connectors.kafka.topics import Topics
from connectors.postgres.ledger import PostgresLedger
from connectors.postgres.migrate import migrate
from connectors.postgres.views import (
    ROUTING_FIGURES_OF_SKUS,
    StoredRoutingFigures,
    stored_routing_figures,
    stored_routing_figures_of,
)
from connectors.services.base import ServiceInfo
from dataflows.operations import seed_picture_from_first_plan
from dataflows.production import Wiring
from dataflows.routing import PictureBoard
from state.buckets import Quantities
from state.catalog import Catalog
from state.views import PositionView
from tests.unit.test_routing_picture_seed import order_for, view


def stored_network(dsn: str, schema: str) -> None:
    """Four SKUs in the ledger database, one with positions and lots at two sites."""
    migrate(dsn, schema)
    two_sites = view("84029E", {"LON": 0, "MAN": 7}, allocated_at_lon=2)
    two_sites = replace(
        two_sites,
        positions=(
            *two_sites.positions,
            PositionView("LON/B/02/01/1/BULK", "L7", Quantities(available=4, allocated=3)),
            PositionView("MAN/A/01/01/1/PICK", "", Quantities(available=7, allocated=1)),
        ),
    )
    stored = [
        view("85123A", {"LON": 12, "MAN": 3}, allocated_at_lon=5),
        view("22423", {"MAN": 4}),
        view("RETRO-CLOCK", {"LON": 1}),
        two_sites,
    ]
    with PostgresLedger(dsn, schema=schema) as ledger:
        ledger.write(stored)


def test_the_figures_of_some_skus_are_the_bulk_querys_rows_for_those_skus(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection
) -> None:
    stored_network(postgres_dsn, unique)
    asked = {"85123A", "84029E", "NOT-STORED"}

    some = stored_routing_figures_of(pg_schema, asked)

    every = list(stored_routing_figures(pg_schema))
    assert some == [row for row in every if row[0] in asked]
    assert [sku for sku, _, _ in some] == ["84029E", "85123A"]
    assert some[0] == ("84029E", {"LON": 0, "MAN": 7}, {"LON": 5, "MAN": 1})


def test_the_figures_of_some_skus_are_read_through_the_tables_primary_keys(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection
) -> None:
    """With sequential scans priced out, every table is reached by its primary key (which leads
    with `sku`); a condition the index cannot serve would still scan the table."""
    stored_network(postgres_dsn, unique)
    pg_schema.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(
            line
            for (line,) in pg_schema.execute(
                "EXPLAIN " + ROUTING_FIGURES_OF_SKUS, {"skus": ["85123A", "22423"]}
            )
        )
    finally:
        pg_schema.execute("RESET enable_seqscan")

    assert "Seq Scan" not in plan
    for index in ("sku_atp_pkey", "current_stock_pkey", "sku_supply_pkey"):
        assert index in plan


def _figures_query() -> str:
    from connectors.postgres import views

    return views._FIGURES_OF_SKUS


def test_a_closed_reader_refuses_to_fetch_saying_why(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection
) -> None:
    stored_network(postgres_dsn, unique)
    reader = StoredRoutingFigures(postgres_dsn, unique)
    fetched = reader(["22423"])
    reader.close()

    assert fetched == [("22423", {"MAN": 4}, {"LON": 0})]
    with pytest.raises(RuntimeError, match="closed"):
        reader(["22423"])


def test_a_restarted_router_plans_its_first_order_on_stored_figures_then_seeds_the_rest(
    services: dict[str, ServiceInfo], unique: str, pg_schema: psycopg.Connection
) -> None:
    stored_network(services["postgres"].url, unique)
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=Topics(unique),
        redis_url=services["redis"].url,
        redis_prefix=unique,
        postgres_dsn=services["postgres"].url,
        postgres_schema=unique,
    )
    catalog = Catalog.build(locations=["LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"])
    board = PictureBoard(catalog)
    seed_picture_from_first_plan(wiring, board)

    first = board.picture(order_for("85123A"))
    _wait_for_the_bulk_seed()
    later = board.picture(order_for("85123A", "22423", "RETRO-CLOCK", "84029E"))

    assert first.atp == {"85123A": {"LON": 12, "MAN": 3}}
    assert later.atp["22423"] == {"MAN": 4}
    assert later.backlog == {"LON": 10, "MAN": 1}  # 5 + 2 + 3 at LON: 85123A counted once


def _wait_for_the_bulk_seed(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(t.name == "seed-routing-picture" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the bulk seed did not finish"
        time.sleep(0.02)
