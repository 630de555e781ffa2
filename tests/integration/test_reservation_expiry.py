"""Reservation expiry and cancellation through real Kafka: both give the units back.

The first pass routes three orders with a hold of zero: the timer sends `ReservationExpired`
for what nobody picked back to the `orders` topic. The second pass sequences and folds those
expiries: the unpicked units are available again, the picked ones stay consumed, and the
cancelled order's units were released by its cancellation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from bytewax.testing import run_main

from connectors.kafka.producer import EventProducer
from connectors.kafka.topics import Topics
from connectors.routing_config import routing_policy_for
from dataflows.operations import connect
from dataflows.production import Wiring, log_fold_flow, sequencer_flow
from dataflows.routing import Routing
from state.catalog import Catalog, Channel, Sku
from state.events import (
    Event,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Picked,
    ReceiptLine,
    ReceiptPosted,
    ShipTo,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CLOCK, KETTLE = "HOLD-CLOCK", "HOLD-KETTLE"
PICK = "LON/A/01/01/1/PICK"
CATALOG = Catalog.build(skus=[Sku(CLOCK), Sku(KETTLE)], locations=[PICK], channels=[Channel("web")])


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def order(order_id: str, minutes: int, *lines: tuple[str, int]) -> OrderPlaced:
    return OrderPlaced(
        event_id=f"order-{order_id}",
        occurred_at=at(minutes),
        source="test",
        order_id=order_id,
        channel="web",
        ship_to=ShipTo(region="United Kingdom", postal_code="x"),
        lines=tuple(OrderLine(sku=sku, quantity=q) for sku, q in lines),
    )


def story() -> list[Event]:
    return [
        ReceiptPosted(
            event_id="rcpt-1",
            occurred_at=at(0),
            source="test",
            location=PICK,
            lines=(ReceiptLine(sku=CLOCK, quantity=10), ReceiptLine(sku=KETTLE, quantity=10)),
        ),
        order("HOLD-1", 1, (CLOCK, 2), (KETTLE, 1)),  # nobody picks it: it expires
        order("HOLD-2", 2, (KETTLE, 2)),  # picked: confirmed
        order("HOLD-3", 3, (CLOCK, 1)),  # cancelled
        Picked(
            event_id="pick-2",
            occurred_at=at(4),
            source="test",
            order_id="HOLD-2",
            sku=KETTLE,
            quantity=2,
            location=PICK,
        ),
        OrderCancelled(
            event_id="cancel-3", occurred_at=at(5), source="test", order_id="HOLD-3", skus=(CLOCK,)
        ),
    ]


@pytest.fixture(scope="module")
def held(services: dict) -> Wiring:
    prefix = "hold" + uuid.uuid4().hex[:8]
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=Topics(prefix),
        redis_url=services["redis"].url,
        redis_prefix=prefix,
        postgres_dsn=services["postgres"].url,
        postgres_schema=prefix,
        partitions=2,
    )
    wiring.prepare()
    producer = EventProducer(wiring.brokers, wiring.topics)
    producer.send_all(story())
    producer.flush()
    policy = routing_policy_for("test", CATALOG)
    timed = Routing.for_catalog(CATALOG, policy, hold=timedelta(0))
    run_main(sequencer_flow(wiring, CATALOG, timed))
    run_main(log_fold_flow(wiring, CATALOG, routing=timed))  # the timers send the expiries
    untimed = Routing.for_catalog(CATALOG, policy)
    run_main(sequencer_flow(wiring, CATALOG, untimed))
    run_main(log_fold_flow(wiring, CATALOG, routing=untimed))
    return wiring


def released(wiring: Wiring) -> set[tuple[str, str, int, str]]:
    with connect(wiring) as conn:
        rows = conn.execute(
            "SELECT order_id, sku, (detail->>'quantity')::int, reason_code FROM ledger"
            " WHERE kind = 'Released'"
        ).fetchall()
    return set(rows)


def test_an_unconfirmed_reservation_expires_and_its_units_are_available_again(held: Wiring) -> None:
    assert ("HOLD-1", CLOCK, 2, "expired") in released(held)
    assert ("HOLD-1", KETTLE, 1, "expired") in released(held)
    with connect(held) as conn:
        stock = {
            sku: (available, allocated)
            for sku, available, allocated in conn.execute(
                "SELECT sku, available, allocated FROM current_stock WHERE location = %s", [PICK]
            ).fetchall()
        }
    assert stock[CLOCK] == (10, 0)
    assert stock[KETTLE] == (8, 0)  # two picked for HOLD-2, one expired back


def test_a_picked_reservation_never_expires_and_a_cancelled_one_is_released(held: Wiring) -> None:
    found = released(held)
    assert not any(order_id == "HOLD-2" for order_id, *_ in found)
    assert ("HOLD-3", CLOCK, 1, "cancelled") in found
