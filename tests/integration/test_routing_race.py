"""Routing through real Kafka: many concurrent orders for scarce SKUs, nothing oversold or starved.

Eight producers send 96 orders at once for three scarce SKUs (30 units each, split over two
sites). The sequencer plans every order, the plans and the orders' parts go into the sequenced
log, and the fold commits each line in its SKU's single writer. Then, from PostgreSQL and the
`decisions` topic: no SKU allocated more than it received, every line's units are allocated,
backordered or rejected, no order went short while its SKU still had stock, and every order has
exactly one decision. Run twice: orders planned on arrival, and held in 5-second batch windows
(`--batch-minutes`), which must keep every one of those properties.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from bytewax.testing import run_main

from connectors.kafka.producer import EventProducer
from connectors.kafka.reader import read_to_end
from connectors.kafka.topics import DECISIONS, Topics
from connectors.routing_config import routing_policy_for
from dataflows.operations import connect, verify
from dataflows.production import Wiring, log_fold_flow, sequencer_flow
from dataflows.routing import Routing
from state.catalog import Catalog, Channel, Sku
from state.events import OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SKUS = ("RACE-CLOCK", "RACE-KETTLE", "RACE-BIRDIE")
SITES = ("LON", "MAN")
PRODUCERS, ORDERS_EACH = 8, 12
CATALOG = Catalog.build(
    skus=[Sku(code) for code in SKUS],
    locations=[f"{site}/A/01/01/1/PICK" for site in SITES],
    channels=[Channel("web", priority=1), Channel("guest", priority=2, shortfall="reject")],
)


def receipts() -> list[ReceiptPosted]:
    return [
        ReceiptPosted(
            event_id=f"rcpt-{sku}-{site}",
            occurred_at=T0,
            source="test",
            location=f"{site}/A/01/01/1/PICK",
            lines=(ReceiptLine(sku=sku, quantity=15),),
        )
        for sku in SKUS
        for site in SITES
    ]


def orders_of(producer: int) -> list[OrderPlaced]:
    made = []
    for n in range(ORDERS_EACH):
        k = producer * ORDERS_EACH + n
        lines = [OrderLine(sku=SKUS[k % 3], quantity=1 + k % 3)]
        if k % 2:
            lines.append(OrderLine(sku=SKUS[(k + 1) % 3], quantity=1 + k % 2))
        made.append(
            OrderPlaced(
                event_id=f"order-{k}",
                occurred_at=T0 + timedelta(seconds=1 + n, milliseconds=producer),
                source=f"producer-{producer}",
                order_id=f"RACE-{k}",
                channel="guest" if k % 5 == 0 else "web",
                ship_to=ShipTo(region="United Kingdom", postal_code="x"),
                lines=tuple(lines),
            )
        )
    return made


@pytest.fixture(scope="module", params=[None, timedelta(seconds=5)], ids=["arrival", "batched"])
def batch_window(request: pytest.FixtureRequest) -> timedelta | None:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def raced(services: dict, batch_window: timedelta | None) -> Wiring:
    prefix = "race" + uuid.uuid4().hex[:8]
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=Topics(prefix),
        redis_url=services["redis"].url,
        redis_prefix=prefix,
        postgres_dsn=services["postgres"].url,
        postgres_schema=prefix,
    )
    wiring.prepare()
    stocker = EventProducer(wiring.brokers, wiring.topics)
    stocker.send_all(receipts())
    stocker.flush()

    def send(producer: int) -> None:
        mine = EventProducer(wiring.brokers, wiring.topics)
        mine.send_all(orders_of(producer))
        mine.flush()

    threads = [threading.Thread(target=send, args=(p,)) for p in range(PRODUCERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    routing = Routing.for_catalog(
        CATALOG, routing_policy_for("test", CATALOG), batch_window=batch_window
    )
    run_main(sequencer_flow(wiring, CATALOG, routing))
    run_main(log_fold_flow(wiring, CATALOG, routing=routing))
    return wiring


def test_no_sku_is_allocated_beyond_what_it_received(raced: Wiring) -> None:
    with connect(raced) as conn:
        allocated = dict(
            conn.execute(
                "SELECT sku, sum((detail->>'allocated')::bigint) FROM ledger"
                " WHERE kind = 'LineAllocated' GROUP BY sku"
            ).fetchall()
        )
        stock = dict(
            conn.execute(
                "SELECT sku, sum(available + allocated) FROM current_stock GROUP BY sku"
            ).fetchall()
        )
    for sku in SKUS:
        assert allocated[sku] <= 30
        assert stock[sku] == 30  # nothing picked: every received unit is available or allocated
    assert verify(raced, CATALOG).mismatches == []


def test_no_order_went_short_while_its_sku_still_had_stock(raced: Wiring) -> None:
    with connect(raced) as conn:
        short = {
            sku
            for (sku,) in conn.execute(
                "SELECT DISTINCT sku FROM ledger WHERE kind = 'LineAllocated'"
                " AND (detail->>'allocated')::bigint < (detail->>'ordered')::bigint"
            ).fetchall()
        }
        available = dict(
            conn.execute("SELECT sku, sum(available) FROM current_stock GROUP BY sku").fetchall()
        )
    assert short, "the race should make some SKU scarce"
    for sku in short:
        assert available.get(sku, 0) == 0, f"{sku} left stock idle while an order went short"


def test_every_order_has_one_decision_accounting_for_every_unit(
    raced: Wiring, batch_window: timedelta | None
) -> None:
    with connect(raced) as conn:
        rows = conn.execute(
            "SELECT order_id, ordered, allocated, backordered, rejected FROM routing_decision"
        ).fetchall()
        batches = {b for (b,) in conn.execute("SELECT detail->>'batch' FROM routing_decision")}
    assert len(rows) == PRODUCERS * ORDERS_EACH
    for _, ordered, allocated, backordered, rejected in rows:
        assert allocated + backordered + rejected == ordered
    assert (None in batches) == (batch_window is None)  # a batched order names its window

    messages = list(read_to_end(raced.brokers, raced.topics.name(DECISIONS)))
    decided = Counter(json.loads(m.payload)["order_id"] for m in messages)
    assert set(decided) == {row[0] for row in rows}
    units: dict[str, int] = defaultdict(int)
    for message in messages:
        for line in json.loads(message.payload)["lines"]:
            units[line["sku"]] += line["allocated"]
    assert all(units[sku] <= 30 for sku in SKUS)
