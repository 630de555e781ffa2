"""Hostile input through the API and on Kafka: refused, dead-lettered with a reason, nothing else.

`tests/reliability/hostile.py` generates the items (seeded, an exact count). Each path gets valid
receipts before and after them: the engine must keep running (the receipts after are folded),
every hostile item must be in the dead-letter record with a reason code, and the ledger and the
view must hold the valid receipts and nothing else.

- Through `POST /v1/events` (the embedded engine of tests/api, its ledger in PostgreSQL): the API
  refuses each item (422, or `rejected` in a batch) and records it as a dead letter
  (`api.refusals`); nothing refused is published.
- On Kafka (the production sequencer and fold): raw payloads on the stream topics; the flow
  dead-letters each, except a well-formed receipt for an unknown SKU, which the engine records as
  a rejection in the ledger (its documented answer; stock does not move).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from bytewax.testing import run_main
from confluent_kafka import Producer
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.refusals import KeptRefusals, LedgerRefusals
from connectors.kafka.producer import EventProducer
from connectors.kafka.topics import STREAMS
from connectors.postgres.queries import counts
from dataflows.operations import connect
from dataflows.production import Wiring, log_fold_flow, sequencer_flow
from state.events import parse_event
from state.intake import DeadLetterReason
from tests.api.conftest import CATALOG, Engine, running_engine, wait_until
from tests.integration.test_kafka_pipeline import new_wiring, stock_rows, view_of
from tests.reliability.hostile import (
    DOCK,
    SKUS,
    UNKNOWN_SKU_KINDS,
    UNSTORABLE,
    Hostile,
    hostile,
)

SHORT = 3000
SOAK = int(os.environ.get("SKUFLOW_SOAK_HOSTILE", "100000"))
BATCH = 250
# The reason codes each kind may be given (the API and the flow check in different orders).
CODES = {
    "not_json": {"not_json"},
    "oversized": {"oversized", "invalid_event"},
    "unresolved": {"unresolved_sku", "invalid_event"},
    "unknown_sku": {"unresolved_sku"},
}
CODES_ELSE = {"invalid_event"}


def valid_receipts(tag: str, at: datetime) -> list[dict[str, Any]]:
    """One receipt of 5 units per SKU, at `at`."""
    return [
        {
            "type": "ReceiptPosted",
            "event_id": f"valid-{tag}-{sku}",
            "occurred_at": at.isoformat(),
            "source": "dock-scanner-7",
            "location": DOCK,
            "lines": [{"sku": sku, "quantity": 5}],
        }
        for sku in SKUS
    ]


def dead_letters(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return conn.execute("SELECT origin, code, reason FROM dead_letter ORDER BY id").fetchall()


def assert_reasons(letters: list[tuple[str, str, str]], items: list[Hostile]) -> None:
    codes = {reason.value for reason in DeadLetterReason}
    assert all(code in codes and reason.strip() for _, code, reason in letters)
    by_kind = Counter(item.kind for item in items)
    by_code = Counter(code for _, code, _ in letters)
    allowed = set().union(*(CODES.get(kind, CODES_ELSE) for kind in by_kind))
    assert set(by_code) <= allowed, by_code


# ---- through the API -----------------------------------------------------------------------


@pytest.fixture
def engine(postgres_dsn: str, unique: str) -> Iterator[Engine]:
    with running_engine(postgres_dsn, unique) as started:
        yield started


def send_through_api(engine: Engine, postgres_dsn: str, schema: str, items: list[Hostile]) -> None:
    refusals = LedgerRefusals(postgres_dsn, schema)
    app = create_app(engine.deps(refusals=refusals))
    headers = {"X-API-Key": engine.key_of[Role.DEVICE]}
    before = valid_receipts("before", datetime.now(UTC))
    after = valid_receipts("after", datetime.now(UTC) + timedelta(seconds=1))
    answers: Counter[int] = Counter()
    with TestClient(app) as client:
        assert client.post("/v1/events", json=before, headers=headers).status_code == 202
        started = time.perf_counter()
        # JSON items go in batches (one dead letter per item); raw bodies and big items alone.
        batched = [item for item in items if item.is_json and item.kind != "oversized"]
        alone = [item for item in items if not (item.is_json and item.kind != "oversized")]
        for start in range(0, len(batched), BATCH):
            body = json.dumps([item.value for item in batched[start : start + BATCH]])
            answer = client.post("/v1/events", content=body, headers=headers)
            answers[answer.status_code] += 1
        for item in alone:
            answer = client.post("/v1/events", content=item.payload, headers=headers)
            answers[answer.status_code] += 1
        seconds = time.perf_counter() - started
        assert client.post("/v1/events", json=after, headers=headers).status_code == 202
    refusals.close()

    def folded() -> bool:
        view = engine.view.read_many(SKUS)
        return all(sum(p.on_hand for p in view[s].positions) == 10 for s in SKUS if s in view)

    def recorded() -> bool:  # the ledger is written beside the view, not before it
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            return bool(counts(conn)["events"] >= 2 * len(SKUS))

    wait_until(lambda: len(engine.view.read_many(SKUS)) == len(SKUS) and folded(), timeout=30)
    wait_until(recorded, timeout=30)
    assert engine.thread.is_alive(), "the engine stopped"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        letters = dead_letters(conn)
        tally = counts(conn)
    print(
        f"\n[hostile via API] {len(items):,} items ({dict(Counter(i.kind for i in items))}) in "
        f"{sum(answers.values()):,} requests, {seconds:.1f} s ({len(items) / seconds:,.0f} "
        f"items/s); answers {dict(answers)}; dead letters {dict(tally['dead_letters_by_code'])}"
    )
    assert set(answers) == {422}, "every request of hostile items is refused"
    assert len(letters) == len(items)
    assert len({origin for origin, _, _ in letters}) == len(items)
    assert_reasons(letters, items)
    assert tally["events"] == 2 * len(SKUS), "the ledger holds the valid receipts and nothing else"
    assert set(engine.view.read_many([*engine.catalog.skus])) == set(SKUS)


def test_hostile_events_through_the_api_are_refused_and_each_is_dead_lettered(
    engine: Engine, postgres_dsn: str, unique: str
) -> None:
    send_through_api(engine, postgres_dsn, unique, hostile(SHORT, seed=1))


@pytest.mark.soak
def test_a_hundred_thousand_hostile_events_through_the_api_are_each_dead_lettered(
    engine: Engine, postgres_dsn: str, unique: str
) -> None:
    send_through_api(engine, postgres_dsn, unique, hostile(SOAK, seed=2))


# ---- on Kafka --------------------------------------------------------------------------------


def produce_hostile(wiring: Wiring, items: list[Hostile], seed: int) -> None:
    topics = [wiring.topics.name(stream) for stream in STREAMS]
    producer = Producer({"bootstrap.servers": wiring.brokers, "message.max.bytes": 2_000_000})
    for n, item in enumerate(items):
        while True:
            try:
                producer.produce(topics[(n * 7 + seed) % len(topics)], value=item.payload)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0


def produce_valid(wiring: Wiring, tag: str, at: datetime) -> None:
    producer = EventProducer(wiring.brokers, wiring.topics)
    producer.send_all(parse_event(event) for event in valid_receipts(tag, at))
    producer.flush()


def send_on_kafka(services: dict, items: list[Hostile], seed: int) -> None:
    wiring = new_wiring(services, "hostile" + uuid.uuid4().hex[:8])
    now = datetime.now(UTC)
    produce_valid(wiring, "before", now - timedelta(hours=1))
    started = time.perf_counter()
    produce_hostile(wiring, items, seed)
    produce_valid(wiring, "after", now + timedelta(minutes=10))
    produced = time.perf_counter() - started
    started = time.perf_counter()
    run_main(sequencer_flow(wiring, CATALOG))
    run_main(log_fold_flow(wiring, CATALOG))
    folded = time.perf_counter() - started
    with connect(wiring) as conn:
        letters = dead_letters(conn)
        tally = counts(conn)
        found = conn.execute("SELECT count(DISTINCT event_id) FROM ledger WHERE kind = 'Rejected'")
        rejected = int(found.fetchone()[0])  # type: ignore[index]
    unknown = sum(item.kind in UNKNOWN_SKU_KINDS for item in items)
    print(
        f"\n[hostile on Kafka] {len(items):,} items ({sum(len(i.payload) for i in items):,} "
        f"bytes) produced in {produced:.1f} s, sequenced and folded in {folded:.1f} s "
        f"({len(items) / folded:,.0f} items/s); dead letters {dict(tally['dead_letters_by_code'])}"
        f", ledger rejections {rejected:,} (unknown SKUs sent: {unknown:,})"
    )
    assert len(letters) == len(items) - unknown
    assert_reasons(letters, [item for item in items if item.kind not in UNKNOWN_SKU_KINDS])
    assert rejected == unknown
    assert tally["events"] == 2 * len(SKUS) + unknown
    stock = {(sku, on_hand) for sku, _, _, on_hand, *_ in stock_rows(wiring)}
    assert stock == {(sku, 10) for sku in SKUS}, "stock holds the valid receipts and nothing else"
    view = view_of(wiring)
    assert {sku for sku, snap in view.items() if snap.positions} == set(SKUS)


def test_hostile_events_on_kafka_are_dead_lettered_and_the_engine_runs_on(services: dict) -> None:
    send_on_kafka(services, hostile(SHORT, seed=3), seed=3)


@pytest.mark.soak
def test_a_hundred_thousand_hostile_events_on_kafka_are_each_dead_lettered(
    services: dict,
) -> None:
    send_on_kafka(services, hostile(SOAK, seed=4), seed=4)


@pytest.mark.parametrize("kind", sorted(UNSTORABLE))
def test_what_the_ledger_cannot_store_is_dead_lettered_on_kafka_not_a_stopped_engine(
    services: dict, kind: str
) -> None:
    send_on_kafka(services, hostile(3, seed=5, kinds=(kind,)), seed=5)


def test_an_event_dated_over_an_hour_ahead_is_refused_with_the_reason_not_a_retry_loop(
    engine: Engine,
) -> None:
    """Kafka refuses such a time, so publishing it would answer 503 at every retry."""
    refusals = KeptRefusals()
    ahead = valid_receipts("ahead", datetime.now(UTC) + timedelta(hours=2))[0]
    with TestClient(create_app(engine.deps(refusals=refusals))) as client:
        answer = client.post(
            "/v1/events", json=ahead, headers={"X-API-Key": engine.key_of[Role.DEVICE]}
        )
    assert answer.status_code == 422
    assert "ahead of the server's clock" in answer.text
    assert [(letter.code, letter.event_id) for letter in refusals.letters] == [
        (DeadLetterReason.INVALID_EVENT, "valid-ahead-RETRO-CLOCK")
    ]
