"""The API in its embedded mode, on a real PostgreSQL ledger, with the real dataflow behind it.

Each test gets its own engine: a ledger schema of its own (`unique`), a `MemoryLiveView`, and
the inventory flow running in a thread on a `QueueSource` that the API publishes to. Nothing is
mocked: an event POSTed here is decoded, keyed and folded by the flow, written to PostgreSQL and
the live view, and read back through the routes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import psycopg
import pytest
from bytewax.testing import run_main
from fastapi.testclient import TestClient

from api.app import ApiDeps, Limits, create_app
from api.auth import ApiKeys, Role
from api.ledger_reader import LedgerReader
from api.publisher import QueuePublisher
from connectors.inprocess import QueueSource
from connectors.memory_view import MemoryLiveView, MemoryLiveViewSink
from connectors.postgres.ledger import PostgresLedgerSink
from connectors.postgres.migrate import migrate
from connectors.services.base import ServiceInfo
from dataflows.inventory import InventorySinks, build_inventory_flow
from state.catalog import Catalog, Channel, KitComponent, Sku
from state.units import UnitsOfMeasure

LON_PICK = "LON/A/01/01/1/PICK"
LON_DOCK = "LON/RCV/00/00/0/DOCK"
MAN_PICK = "MAN/A/01/01/1/PICK"
CATALOG = Catalog.build(
    skus=[
        Sku("RETRO-CLOCK", units=UnitsOfMeasure("each", {"case": 6})),
        Sku("TEAL-KETTLE"),
        Sku("PAPER-BIRDIE"),
        Sku("FRESH-MILK", tracks_lot=True),
        Sku(
            "TEA-FOR-TWO",
            components=(KitComponent("TEAL-KETTLE", 1), KitComponent("PAPER-BIRDIE", 2)),
        ),
    ],
    locations=[LON_PICK, LON_DOCK, MAN_PICK],
    channels=[
        Channel("web", priority=1, buffer=2),
        Channel("marketplace", priority=2, shortfall="reject"),
    ],
    non_sellable_zones=["LON/RCV"],
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/api/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres_dsn(services: dict[str, ServiceInfo]) -> str:
    return services["postgres"].url


@dataclass
class Engine:
    """The embedded engine: a queue into the flow, the view it writes, the ledger it fills."""

    source: QueueSource
    view: MemoryLiveView
    ledger: LedgerReader
    thread: threading.Thread
    keys: ApiKeys
    key_of: dict[Role, str]
    catalog: Catalog = CATALOG
    limits: Limits = field(default_factory=lambda: Limits(order_wait_seconds=5.0))

    def deps(self, **changes: object) -> ApiDeps:
        deps = ApiDeps(
            view=self.view,
            ledger=self.ledger,
            publisher=QueuePublisher(self.source),
            catalog=self.catalog,
            auth=self.keys,
            limits=self.limits,
        )
        return replace(deps, **changes)  # type: ignore[arg-type]


@contextmanager
def running_engine(postgres_dsn: str, schema: str) -> Iterator[Engine]:
    """Start the flow on a fresh ledger schema; stop it and drop the schema afterwards."""
    migrate(postgres_dsn, schema)
    source = QueueSource(batch_size=200)
    view = MemoryLiveView()
    sinks = InventorySinks(
        views=[MemoryLiveViewSink(view)], combined=[PostgresLedgerSink(postgres_dsn, schema)]
    )
    flow = build_inventory_flow(source, sinks, CATALOG, flow_id=f"api-{schema}")
    thread = threading.Thread(target=run_main, args=(flow,), name=f"flow-{schema}", daemon=True)
    thread.start()
    keys, key_of = ApiKeys.generate()
    ledger = LedgerReader(postgres_dsn, schema, max_size=8)
    try:
        yield Engine(source, view, ledger, thread, keys, key_of)
    finally:
        source.close()
        thread.join(timeout=30)
        ledger.close()
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert not thread.is_alive(), "the flow did not end when its queue closed"


@pytest.fixture
def engine(postgres_dsn: str, unique: str) -> Iterator[Engine]:
    with running_engine(postgres_dsn, unique) as started:
        yield started


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine.deps())) as test_client:
        yield test_client


@pytest.fixture
def as_role(engine: Engine) -> Callable[[Role], dict[str, str]]:
    def headers(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {engine.key_of[role]}"}

    return headers


def now() -> datetime:
    return datetime.now(UTC)


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {check}")
        time.sleep(0.01)
