"""Redis flushed or restarted mid-run: the API says the view is stale, and a rebuild restores it.

A private `redis-server` (never the shared one) holds the live view of a tailing `skuflow run`
(Kafka → sequencer → fold → Redis + PostgreSQL) on the simulated floor. After a first slice of
events is folded the view is lost twice: by FLUSHALL, then by stopping the server and starting it
again on the same port (empty: it keeps no data on disk); each time another slice is produced
while the API is read. Every ATP answer
from then on must be 503 or flagged stale: never a number presented as fresh. `skuflow
rebuild-view` must then restore the view exactly: `skuflow verify`'s recomputation from the
sequenced log agrees with the ledger and the view, and the API serves the ledger's figures again,
fresh.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import ApiDeps, create_app
from api.auth import ApiKeys, Role
from api.ledger_reader import LedgerReader
from api.publisher import KafkaPublisher
from connectors.kafka.producer import EventProducer
from connectors.kafka.topics import Topics
from connectors.postgres.queries import counts
from connectors.postgres.views import stored_views
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from connectors.services import redis as services_redis
from connectors.services.base import ServiceInfo, stop_pid
from connectors.services.redis import start_redis
from connectors.simulator import build_catalog, simulate
from dataflows.operations import connect, rebuild_view, verify
from dataflows.production import Wiring
from state.catalog import Catalog
from state.events import Event

SLICE = 500  # simulated events folded before, between and after the losses
WATCHED = 12  # SKUs whose ATP the API is asked for while the view is lost


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[ServiceInfo]:
    info = start_redis(tmp_path / "redis")
    yield info
    stop_pid(current_pid(info))


def current_pid(info: ServiceInfo) -> int:
    """The pid of whatever redis-server listens on `info`'s port now (after restarts too)."""
    client = redis.Redis.from_url(info.url, socket_timeout=2)
    try:
        return int(client.info("server")["process_id"])
    except redis.RedisError:
        return info.pid
    finally:
        client.close()


def restart_redis(
    info: ServiceInfo, monkeypatch: pytest.MonkeyPatch, while_down: Callable[[], None]
) -> float:
    """Stop the server, call `while_down`, and start it again as `start_redis` does, on the same
    port (empty: it keeps no data on disk)."""
    started = time.monotonic()
    stop_pid(current_pid(info))
    while_down()
    with monkeypatch.context() as patch:
        patch.setattr(services_redis, "free_port", lambda: info.port)
        again = start_redis(Path(info.data_dir or "."))
    assert again.url == info.url
    return time.monotonic() - started


def engine_env(wiring: Wiring) -> dict[str, str]:
    return {
        **os.environ,
        "SKUFLOW_KAFKA_BROKERS": wiring.brokers,
        "SKUFLOW_KAFKA_TOPIC_PREFIX": wiring.topics.prefix,
        "SKUFLOW_REDIS_URL": wiring.redis_url,
        "SKUFLOW_REDIS_PREFIX": wiring.redis_prefix,
        "SKUFLOW_POSTGRES_DSN": wiring.postgres_dsn,
        "SKUFLOW_POSTGRES_SCHEMA": wiring.postgres_schema,
        "SKUFLOW_CATALOG": "simulation",
        "SKUFLOW_SNAPSHOT_SECONDS": "0.5",
        "SKUFLOW_LOG_LEVEL": "WARNING",
    }


def skuflow(wiring: Wiring, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "api.cli", *args], env=engine_env(wiring))


def ledger_events(wiring: Wiring) -> int:
    with connect(wiring) as conn:
        return counts(conn)["events"]


def wait_for_ledger(wiring: Wiring, at_least: int, engine: subprocess.Popen[bytes]) -> None:
    """Until the ledger holds `at_least` events and has stopped growing for a second."""
    deadline = time.monotonic() + 180
    last, still_since = -1, time.monotonic()
    while True:
        assert engine.poll() is None, "the engine stopped"
        assert time.monotonic() < deadline, f"the ledger stayed at {last} of {at_least} events"
        now = ledger_events(wiring)
        if now != last:
            last, still_since = now, time.monotonic()
        elif now >= at_least and time.monotonic() - still_since > 1.0:
            return
        time.sleep(0.2)


def api_for(wiring: Wiring, catalog: Catalog) -> tuple[TestClient, dict[str, str]]:
    keys, key_of = ApiKeys.generate()
    deps = ApiDeps(
        # As `skuflow serve` builds it: a few quick retries, then 503.
        view=RedisLiveView(
            wiring.redis_url,
            wiring.redis_prefix,
            backoff=Backoff(attempts=3, base=0.05, cap=0.25),
            socket_timeout=2.0,
        ),
        ledger=LedgerReader(wiring.postgres_dsn, wiring.postgres_schema, max_size=4),
        publisher=KafkaPublisher(EventProducer(wiring.brokers, wiring.topics)),
        catalog=catalog,
        auth=keys,
    )
    return TestClient(create_app(deps)), {"X-API-Key": key_of[Role.CHANNEL]}


@dataclass
class Running:
    """The engine, the API and what has been produced, for one test."""

    wiring: Wiring
    catalog: Catalog
    engine: subprocess.Popen[bytes]
    client: TestClient
    headers: dict[str, str]
    producer: EventProducer
    watched: list[str]
    produced: int = 0
    answers: Counter[str] = field(default_factory=Counter)

    def produce(self, events: list[Event]) -> None:
        self.producer.send_all(events)
        self.producer.flush()
        self.produced += len(events)

    def probe(self) -> None:
        """Every watched SKU's ATP: 503, or flagged stale; never a number as fresh."""
        for sku in self.watched:
            answer = self.client.get(f"/v1/atp/{sku}", headers=self.headers)
            self.answers["read"] += 1
            if answer.status_code == 503:
                self.answers["503"] += 1
            else:
                assert answer.status_code == 200, answer.text
                assert answer.json()["view"]["stale"] is True, "a lost view served as fresh"
                self.answers["stale"] += 1

    def atp(self) -> dict[str, dict[str, Any]]:
        return {
            sku: self.client.get(f"/v1/atp/{sku}", headers=self.headers).json()
            for sku in self.watched
        }

    def lose_the_view(self, lose: Callable[[Callable[[], None]], str], events: list[Event]) -> str:
        """Lose the view, fold `events` while reading the API, rebuild; the figures as text."""
        self.answers.clear()
        how = lose(self.probe)
        self.produce(events)
        deadline = time.monotonic() + 120
        while ledger_events(self.wiring) < self.produced or self.answers["read"] < 4 * WATCHED:
            assert time.monotonic() < deadline, "the engine did not fold the events"
            assert self.engine.poll() is None, "the engine stopped after the view was lost"
            self.probe()
        wait_for_ledger(self.wiring, self.produced, self.engine)
        self.probe()

        started = time.monotonic()
        written = rebuild_view(self.wiring)  # what `skuflow rebuild-view` runs
        rebuilt_in = time.monotonic() - started

        report = verify(self.wiring, self.catalog)
        assert report.mismatches == [], "the rebuilt view differs from the recomputation"
        with connect(self.wiring) as conn:
            truth = {view.sku: view.atp.network for view in stored_views(conn)}
        after = self.atp()
        assert all(not answer["view"]["stale"] for answer in after.values())
        assert {sku: a["network"] for sku, a in after.items()} == {
            sku: truth.get(sku, 0) for sku in self.watched
        }
        return (
            f"[live view lost: {how}] after {self.produced - len(events):,} events, "
            f"{len(events):,} more folded meanwhile; {self.answers['read']:,} ATP reads while "
            f"lost: {self.answers['stale']:,} flagged stale, {self.answers['503']:,} answered 503,"
            f" 0 presented as fresh; rebuild-view restored {written:,} SKUs in {rebuilt_in:.2f} s; "
            f"verify: 0 mismatches over {report.skus:,} SKUs"
        )


@pytest.fixture
def running(services: dict[str, ServiceInfo], private_redis: ServiceInfo) -> Iterator[Running]:
    catalog = build_catalog()
    name = "viewloss" + uuid.uuid4().hex[:8]
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=Topics(name),
        redis_url=private_redis.url,
        redis_prefix=name,
        postgres_dsn=services["postgres"].url,
        postgres_schema=name,
        partitions=2,
    )
    wiring.prepare()
    engine = skuflow(wiring, "run")
    client, headers = api_for(wiring, catalog)
    producer = EventProducer(wiring.brokers, wiring.topics)
    watched = sorted(catalog.skus)[:WATCHED]
    try:
        yield Running(wiring, catalog, engine, client, headers, producer, watched)
    finally:
        client.close()
        engine.kill()  # nothing to keep: the test is over
        engine.wait()
        with psycopg.connect(wiring.postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def test_a_lost_view_is_stale_or_503_until_rebuild_view_restores_it_exactly(
    running: Running, private_redis: ServiceInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [e for e in simulate(3 * SLICE) if not isinstance(e, bytes)]
    first, second, third = events[:SLICE], events[SLICE : 2 * SLICE], events[2 * SLICE :]
    running.produce(first)
    wait_for_ledger(running.wiring, running.produced, running.engine)
    assert all(not answer["view"]["stale"] for answer in running.atp().values())

    def flushall(probe: Callable[[], None]) -> str:
        client = redis.Redis.from_url(private_redis.url)
        client.flushall()  # the PRIVATE server of this test
        client.close()
        probe()
        return "FLUSHALL"

    def restart(probe: Callable[[], None]) -> str:
        took = restart_redis(private_redis, monkeypatch, probe)
        return f"Redis stopped, read while down, started again in {took:.1f} s"

    print("\n" + running.lose_the_view(flushall, second))
    print(running.lose_the_view(restart, third))
    assert running.answers["503"] >= WATCHED, "reads while Redis was down were not 503"
