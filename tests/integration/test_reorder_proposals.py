"""Reorder proposals from the flow into the real PostgreSQL table and the real Kafka topic."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from bytewax.testing import run_main

from connectors.inprocess import events_source
from connectors.kafka.proposals import ProposalsSink
from connectors.kafka.reader import read_to_end
from connectors.postgres.migrate import migrate
from connectors.postgres.proposals import ReorderProposalSink, proposal_page
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishmentTap
from state.catalog import Catalog, Channel, Sku
from state.events import Event, OrderLine, OrderPlaced, ReceiptLine, ReceiptPosted, ShipTo
from state.replenishment import ReplenishmentConfig

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
PICK = "LON/A/01/01/1/PICK"
CATALOG = Catalog.build(
    skus=[Sku("RETRO-CLOCK")], locations=[PICK], channels=[Channel("web", priority=1)]
)
CONFIG = ReplenishmentConfig(lead_time_days=5.0, lead_time_std_days=1.0, min_days=14)


def running_down(days: int = 40) -> list[Event | bytes]:
    events: list[Event | bytes] = [
        ReceiptPosted(
            event_id="rcpt-1",
            occurred_at=T0 - timedelta(hours=1),
            source="test",
            location=PICK,
            lines=(ReceiptLine(sku="RETRO-CLOCK", quantity=200),),
        )
    ]
    for day in range(days):
        events.append(
            OrderPlaced(
                event_id=f"order-{day}",
                occurred_at=T0 + timedelta(days=day),
                source="test",
                order_id=f"O{day}",
                channel="web",
                ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
                lines=(OrderLine(sku="RETRO-CLOCK", quantity=5, site="LON"),),
            )
        )
    return events


def test_a_proposal_reaches_postgresql_and_kafka_once_even_when_replayed(
    postgres_dsn: str,
    pg_schema: psycopg.Connection,
    unique: str,
    kafka_bootstrap: str,
    topic_factory: Callable[..., str],
) -> None:
    migrate(postgres_dsn, unique)
    topic = topic_factory("proposals", partitions=2)
    sinks = [ReorderProposalSink(postgres_dsn, unique), ProposalsSink([kafka_bootstrap], topic)]

    for _ in range(2):  # the second run is a replay: same ids, nothing new in PostgreSQL
        tap = ReplenishmentTap(CATALOG, CONFIG, sinks)
        flow = build_inventory_flow(
            events_source(running_down()), InventorySinks(taps=[tap]), CATALOG
        )
        run_main(flow)

    page = proposal_page(pg_schema)
    assert [row["proposal_id"] for row in page.rows] == ["rp:RETRO-CLOCK:LON:1"]
    row = page.rows[0]
    assert (row["status"], row["site"], row["supplier"]) == ("proposed", "LON", "default")
    assert row["reasoning"]["forecast_daily"] == pytest.approx(5.0)
    messages = list(read_to_end(kafka_bootstrap, topic))
    assert len(messages) == 2  # at-least-once on the topic: consumers dedupe by proposal id
    assert {m.key for m in messages} == {"RETRO-CLOCK"}
    assert {json.loads(m.payload)["proposal_id"] for m in messages} == {"rp:RETRO-CLOCK:LON:1"}
