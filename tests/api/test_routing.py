"""Routing through the API: an order placed is routed by the flow, and its decision is read back."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from bytewax.testing import run_main
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ApiKeys, Role
from api.ledger_reader import LedgerReader
from connectors.inprocess import QueueSource
from connectors.memory_view import MemoryLiveView, MemoryLiveViewSink
from connectors.postgres.decisions import RoutingDecisionSink
from connectors.postgres.ledger import PostgresLedgerSink
from connectors.postgres.migrate import migrate
from connectors.routing_config import routing_policy_for
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.routing import Routing
from tests.api.conftest import CATALOG, MAN_PICK, Engine, wait_until
from tests.api.floor import order, stock


@pytest.fixture
def routed(postgres_dsn: str, unique: str) -> Iterator[Engine]:
    """The embedded engine of tests/api/conftest.py, with routing and its decision sink."""
    migrate(postgres_dsn, unique)
    source = QueueSource(batch_size=200)
    view = MemoryLiveView()
    sinks = InventorySinks(
        views=[MemoryLiveViewSink(view)],
        combined=[PostgresLedgerSink(postgres_dsn, unique)],
        decisions=[RoutingDecisionSink(postgres_dsn, unique)],
    )
    routing = Routing.for_catalog(CATALOG, routing_policy_for("test", CATALOG))
    flow = build_inventory_flow(source, sinks, CATALOG, flow_id=f"api-{unique}", routing=routing)
    thread = threading.Thread(target=run_main, args=(flow,), daemon=True)
    thread.start()
    keys, key_of = ApiKeys.generate()
    ledger = LedgerReader(postgres_dsn, unique, max_size=4)
    try:
        yield Engine(source, view, ledger, thread, keys, key_of)
    finally:
        source.close()
        thread.join(timeout=30)
        ledger.close()
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{unique}" CASCADE')


def test_an_order_reads_back_with_the_sites_that_ship_it_and_why(routed: Engine) -> None:
    channel = {"X-API-Key": routed.key_of[Role.CHANNEL]}
    analyst = {"X-API-Key": routed.key_of[Role.ANALYST]}
    with TestClient(create_app(routed.deps())) as client:
        stock(client, routed, "TEAL-KETTLE", 5)
        stock(client, routed, "TEAL-KETTLE", 5, MAN_PICK)
        stock(client, routed, "PAPER-BIRDIE", 5, MAN_PICK)
        placed = client.post(
            "/v1/orders",
            json=order("WEB-R1", ("TEAL-KETTLE", 1), ("PAPER-BIRDIE", 1)),
            headers=channel,
        )
        assert placed.status_code == 201, placed.text
        wait_until(lambda: routed.ledger.routing_decision("WEB-R1") is not None)

        found = client.get("/v1/orders/WEB-R1", headers=channel).json()
        page = client.get("/v1/routing/decisions", headers=analyst).json()
        refused = client.get(
            "/v1/routing/decisions", headers={"X-API-Key": routed.key_of[Role.DEVICE]}
        )

    routing = found["routing"]
    assert routing["sites"] == ["MAN"]  # consolidated where both lines are
    assert routing["split"] is False
    assert routing["allocated"] == routing["ordered"] == 2
    assert {a["label"] for a in routing["alternatives"]} >= {"split LON+MAN"}
    assert routing["cost"]["total"] == pytest.approx(
        sum(v for k, v in routing["cost"].items() if k != "total")
    )
    assert [item["order_id"] for item in page["items"]] == ["WEB-R1"]
    assert page["next_cursor"] is None
    assert refused.status_code == 403


def test_decisions_page_in_decision_time_with_a_cursor(routed: Engine) -> None:
    channel = {"X-API-Key": routed.key_of[Role.CHANNEL]}
    with TestClient(create_app(routed.deps())) as client:
        stock(client, routed, "TEAL-KETTLE", 10)
        for n in range(3):
            answer = client.post(
                "/v1/orders", json=order(f"WEB-P{n}", ("TEAL-KETTLE", 1)), headers=channel
            )
            assert answer.status_code == 201
        wait_until(lambda: routed.ledger.routing_decision("WEB-P2") is not None)
        first = client.get("/v1/routing/decisions?limit=2", headers=channel).json()
        rest = client.get(
            f"/v1/routing/decisions?limit=2&cursor={first['next_cursor']}", headers=channel
        ).json()
        bad = client.get("/v1/routing/decisions?cursor=nonsense", headers=channel)
        one = client.get("/v1/routing/decisions/WEB-P1", headers=channel)
        none = client.get("/v1/routing/decisions/NOPE", headers=channel)

    orders = [i["order_id"] for i in first["items"]] + [i["order_id"] for i in rest["items"]]
    assert orders == ["WEB-P0", "WEB-P1", "WEB-P2"]
    assert rest["next_cursor"] is None
    assert bad.status_code == 422
    assert one.json()["order_id"] == "WEB-P1"
    assert none.status_code == 404
