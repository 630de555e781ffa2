"""The Online Retail replay through real Kafka, the dataflow, Redis and PostgreSQL (issue #4).

A slice of the replay is produced to the stream topics, sequenced into the log and folded. The
three accounts of stock (recomputation, ledger, live view) must agree exactly; a redelivered
stream, a fold killed with SIGKILL and resumed, and a 2-process cluster must each end in exactly
the state, ledger and view of one clean single-worker fold.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from bytewax.testing import run_main
from confluent_kafka import Producer
from psycopg import sql

from connectors.kafka.producer import EventProducer
from connectors.kafka.topics import Topics
from connectors.postgres.queries import counts
from connectors.redis.live_view import RedisLiveView
from connectors.replay.online_retail import build_catalog, data_file, replay
from connectors.settings import Settings
from connectors.view_protocol import SkuSnapshot
from dataflows.operations import connect, rebuild_view, verify
from dataflows.production import Wiring, log_fold_flow, sequencer_flow
from state.catalog import Catalog
from state.events import Event

ROWS = 2500  # about 8,000 events: a few seconds per fold
STAMP = datetime.min.replace(tzinfo=UTC)  # `figures`: a view without its stamp


def retail_path(settings: Settings) -> Path:
    try:
        return data_file(settings.data_dir)
    except FileNotFoundError as exc:
        pytest.fail(f"the Kafka pipeline tests replay the real data set: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def catalog(settings: Settings) -> Catalog:
    return build_catalog(retail_path(settings))


@pytest.fixture(scope="module")
def events(settings: Settings) -> list[Event]:
    return list(replay(retail_path(settings), limit_rows=ROWS))


def new_wiring(services: dict, prefix: str, topics: Topics | None = None) -> Wiring:
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=topics or Topics(prefix),
        redis_url=services["redis"].url,
        redis_prefix=prefix,
        postgres_dsn=services["postgres"].url,
        postgres_schema=prefix,
    )
    wiring.prepare()
    return wiring


def produce(wiring: Wiring, events: list[Event], times: int = 1) -> int:
    producer = EventProducer(wiring.brokers, wiring.topics)
    for _ in range(times):
        producer.send_all(events)
    producer.flush()
    return len(events) * times


BAD_RECORDS = [
    b"{this is not json",
    b'{"type": "Picked", "event_id": "bad-types", "occurred_at": "yesterday", "source": 7}',
    b'{"type": "StockAdjusted", "event_id": "bad-negative", "occurred_at": "2010-12-01T08:00:00Z",'
    b' "source": "t", "sku": "85123A", "quantity": -5, "location": "LON/A/01/01/1/PICK",'
    b' "reason": "lost"}',
    b"[" + b"1," * 150_000 + b"1]",  # ~300 KB: over the event size limit
    b'{"type": "StockAdjusted", "event_id": "bad-unknown-sku",'
    b' "occurred_at": "2010-12-01T08:00:00Z", "source": "t", "sku": "NO-SUCH-THING",'
    b' "quantity": 1, "location": "LON/A/01/01/1/PICK", "reason": "found"}',
]


def produce_raw(wiring: Wiring, payloads: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": wiring.brokers, "message.max.bytes": 2_000_000})
    for payload in payloads:
        producer.produce(wiring.topics.name("commands"), value=payload)
    assert producer.flush(30) == 0


def sequence_and_fold(wiring: Wiring, catalog: Catalog) -> None:
    run_main(sequencer_flow(wiring, catalog))
    run_main(log_fold_flow(wiring, catalog))


@pytest.fixture(scope="module")
def clean(services: dict, catalog: Catalog, events: list[Event]) -> Wiring:
    """One clean pass: the slice plus bad records, sequenced and folded by one worker."""
    wiring = new_wiring(services, "clean" + uuid.uuid4().hex[:8])
    produce(wiring, events)
    produce_raw(wiring, BAD_RECORDS)
    sequence_and_fold(wiring, catalog)
    return wiring


def ledger_rows(wiring: Wiring) -> list[tuple]:
    with connect(wiring) as conn:
        return conn.execute(
            "SELECT event_id, sku, seq, kind, location, lot, detail::text FROM ledger"
            " ORDER BY event_id, sku, seq"
        ).fetchall()


def stock_rows(wiring: Wiring) -> list[tuple]:
    with connect(wiring) as conn:
        return conn.execute(
            "SELECT sku, location, lot, available, allocated, on_hold, damaged, quarantined"
            " FROM current_stock ORDER BY sku, location, lot"
        ).fetchall()


def view_of(wiring: Wiring) -> dict:
    view = RedisLiveView(wiring.redis_url, wiring.redis_prefix)
    try:
        return view.read_many(view.skus())
    finally:
        view.close()


def assert_same_rows(what: str, actual: list[tuple], expected: list[tuple]) -> None:
    """The same rows, or a short account of the difference: pytest's diff of two ledgers runs
    to thousands of lines, and a CI log keeps only its end."""
    if actual == expected:
        return
    unexpected = sorted((Counter(actual) - Counter(expected)).elements())
    missing = sorted((Counter(expected) - Counter(actual)).elements())
    lines = [
        f"{what}: {len(actual)} rows where {len(expected)} were expected;"
        f" {len(missing)} missing, {len(unexpected)} unexpected (the first five of each below)"
    ]
    lines += [f"  missing:    {row}" for row in missing[:5]]
    lines += [f"  unexpected: {row}" for row in unexpected[:5]]
    if not missing and not unexpected:
        lines.append("  the same rows in another order")
    pytest.fail("\n".join(lines), pytrace=False)


def assert_same_outcome(one: Wiring, other: Wiring) -> None:
    assert_same_rows("ledger", ledger_rows(other), ledger_rows(one))
    assert_same_rows("current stock", stock_rows(other), stock_rows(one))
    assert view_of(other) == view_of(one)


def test_the_replay_through_kafka_agrees_with_a_recomputation_in_ledger_and_view(
    clean: Wiring, catalog: Catalog
) -> None:
    report = verify(clean, catalog)
    assert report.mismatches == []
    assert report.skus > 100


def test_every_event_in_ends_in_the_ledger_or_the_dead_letters(
    clean: Wiring, events: list[Event]
) -> None:
    with connect(clean) as conn:
        tally = counts(conn)
    assert tally["events"] + sum(tally["dead_letters_by_code"].values()) == len(events) + len(
        BAD_RECORDS
    )


def test_bad_records_are_dead_lettered_with_their_reason_and_payload(clean: Wiring) -> None:
    with connect(clean) as conn:
        letters = conn.execute(
            "SELECT code, reason, payload_size, length(payload) FROM dead_letter ORDER BY code"
        ).fetchall()
        unknown = conn.execute(
            "SELECT reason_code FROM ledger WHERE event_id = 'bad-unknown-sku'"
        ).fetchall()
    codes = sorted(code for code, *_ in letters)
    assert codes == ["invalid_event", "invalid_event", "not_json", "oversized"]
    oversized = next(row for row in letters if row[0] == "oversized")
    assert oversized[2] > 256 * 1024  # the size it had is kept
    assert oversized[3] == 64 * 1024  # and the payload is cut
    assert all(reason for _, reason, *_ in letters)
    assert unknown == [("unknown_sku",)]  # a valid event for no known SKU is a ledger rejection


def test_every_event_delivered_twice_ends_in_the_state_of_one_delivery(
    services: dict, clean: Wiring, catalog: Catalog, events: list[Event]
) -> None:
    twice = new_wiring(services, "twice" + uuid.uuid4().hex[:8])
    produce(twice, events, times=2)
    produce_raw(twice, BAD_RECORDS)
    sequence_and_fold(twice, catalog)
    assert_same_rows("current stock", stock_rows(twice), stock_rows(clean))
    assert view_of(twice) == view_of(clean)
    ids = lambda rows: sorted({(r[0], r[1]) for r in rows})  # noqa: E731
    assert ids(ledger_rows(twice)) == ids(ledger_rows(clean))


def fold_process(
    wiring: Wiring, recovery: Path, extra: list[str] | None = None
) -> subprocess.Popen:
    env = {
        **os.environ,
        "SKUFLOW_KAFKA_BROKERS": wiring.brokers,
        "SKUFLOW_KAFKA_TOPIC_PREFIX": wiring.topics.prefix,
        "SKUFLOW_REDIS_URL": wiring.redis_url,
        "SKUFLOW_REDIS_PREFIX": wiring.redis_prefix,
        "SKUFLOW_POSTGRES_DSN": wiring.postgres_dsn,
        "SKUFLOW_POSTGRES_SCHEMA": wiring.postgres_schema,
        "SKUFLOW_CATALOG": "online-retail",
        "SKUFLOW_SNAPSHOT_SECONDS": "0.3",
        "SKUFLOW_LOG_LEVEL": "WARNING",
    }
    argv = [sys.executable, "-m", "api.cli", "run", "--until-end", "--stage", "fold"]
    argv += ["--recovery-dir", str(recovery), *(extra or [])]
    return subprocess.Popen(argv, env=env)


def ledger_events(wiring: Wiring) -> int:
    with psycopg.connect(wiring.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(wiring.postgres_schema))
        )
        return counts(conn)["events"]


def test_a_fold_killed_with_sigkill_at_three_points_resumes_to_the_unkilled_outcome(
    services: dict, clean: Wiring, tmp_path: Path
) -> None:
    target = ledger_events(clean)
    killed = new_wiring(services, "killed" + uuid.uuid4().hex[:8], topics=clean.topics)
    kills = 0
    for fraction in (0.2, 0.5, 0.8):
        process = fold_process(killed, tmp_path / "recovery")
        deadline = time.monotonic() + 120
        while ledger_events(killed) < fraction * target and process.poll() is None:
            assert time.monotonic() < deadline, "the fold made no progress"
            time.sleep(0.02)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
    finish = fold_process(killed, tmp_path / "recovery")
    assert finish.wait(timeout=180) == 0
    assert kills >= 2, "the fold finished before it could be killed: use a larger slice"
    assert_same_rows("ledger", ledger_rows(killed), ledger_rows(clean))
    assert_same_rows("current stock", stock_rows(killed), stock_rows(clean))
    assert figures(view_of(killed)) == figures(view_of(clean))


def figures(views: dict[str, SkuSnapshot]) -> dict[str, SkuSnapshot]:
    """The views without their stamps. A SKU resumed from a snapshot whose first batch is nothing
    but redeliveries writes its view again (`FoldLogic`: a view lost in a crash is restored),
    stamped with the last of those events, where the unkilled run's view carries the last event
    that moved stock: the same figures, another stamp."""
    return {
        sku: replace(view, as_of=date.min, updated_at=STAMP, last_event_id="")
        for sku, view in views.items()
    }


def test_a_two_process_cluster_folds_the_log_to_the_outcome_of_one_worker(
    services: dict, clean: Wiring, tmp_path: Path
) -> None:
    cluster = new_wiring(services, "cluster" + uuid.uuid4().hex[:8], topics=clean.topics)
    process = fold_process(
        cluster, tmp_path / "recovery", ["--processes", "2", "--first-port", "0"]
    )
    assert process.wait(timeout=240) == 0
    assert_same_outcome(clean, cluster)


def test_rebuild_view_restores_a_flushed_live_view_exactly_from_the_ledger(
    clean: Wiring, catalog: Catalog
) -> None:
    before = view_of(clean)
    view = RedisLiveView(clean.redis_url, clean.redis_prefix)
    view.clear()
    view.close()
    assert view_of(clean) == {}
    assert not RedisLiveView(clean.redis_url, clean.redis_prefix).meta().complete
    assert verify(clean, catalog).mismatches  # a flushed view is caught, not trusted

    written = rebuild_view(clean)

    assert written == len(before)
    assert view_of(clean) == before
    assert RedisLiveView(clean.redis_url, clean.redis_prefix).meta().complete
    assert verify(clean, catalog).mismatches == []
