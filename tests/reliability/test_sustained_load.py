"""Sustained load: the full path fed at a steady rate for minutes, with no growth of lag or memory.

The simulated floor (`connectors.simulator`, in its order, each event stamped with its own slot
of time at the rate, so that no two share a millisecond) is
produced to Kafka at `SKUFLOW_SOAK_RATE` events a second (default 500: on this 2-core machine,
shared, the whole path keeps up with 500 for the first minutes and not with 1,000; the rate must
be one the engine keeps up with, or lag grows by construction) for
`SKUFLOW_SOAK_MINUTES` minutes (default 10), while a tailing `skuflow run` subprocess folds it
into Redis and PostgreSQL. Every 10 s: the events produced, the events the engine has finished
(distinct events in the ledger plus dead letters), their difference (the lag, in events), the
engine's resident memory and its CPU time (events per CPU-second tells an engine that slows
down from one starved of CPU by other work on the machine). Over the second half of the run (the
first is warm-up: caches, pools, allocator growth) the least-squares slope of the lag must stay
under 1% of the rate and that of memory under 50 KB a second (3 MB a minute), and the engine
must still be running.

The engine's state has horizons: a day's demand (its orders, kept for cancellations) is held
until the day closes in event time, 6 h after midnight. Within a horizon the working set grows
by design, so event time runs `SKUFLOW_SOAK_TIME_SCALE` times faster than the wall clock (1,440
by default: a day a minute, the run's events stamped over the ten days before it starts), and
the second half of the run sees a steady state of days opening and closing. The merge's
reorder window, event time too, is one second of the wall clock scaled the same way (as a live
deployment reading several topics should sequence: without it a put-away produced 2 ms after
its receipt, on another topic, was now and then fetched and folded first, and its order's picks
refused). Rejections are printed by event type and reason: a refused pick leaves a reservation
held for `--hold-minutes` of wall clock.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psutil
import psycopg
import pytest
from confluent_kafka import Producer
from psycopg import sql

from connectors.kafka.producer import EventProducer
from connectors.kafka.topics import Topics
from connectors.services.base import ServiceInfo
from connectors.simulator import simulate
from dataflows.operations import connect
from dataflows.production import Wiring

MINUTES = float(os.environ.get("SKUFLOW_SOAK_MINUTES", "10"))
RATE = int(os.environ.get("SKUFLOW_SOAK_RATE", "500"))
SAMPLE_SECONDS = 10.0
TICK = 0.1
MAX_LAG_SLOPE = 0.01 * RATE  # events per second of growth
MAX_RSS_SLOPE = 50_000  # bytes per second of growth
# Extra `skuflow run` options, to bisect a growth (e.g. "--no-routing").
ENGINE_ARGS = os.environ.get("SKUFLOW_SOAK_ENGINE_ARGS", "").split()
# Event time passes this many times faster than the wall clock, so that the state's event-time
# horizons (a day's demand, closed 6 h after midnight) pass several times within the run.
TIME_SCALE = float(os.environ.get("SKUFLOW_SOAK_TIME_SCALE", "1440"))
# The merge's reorder window is event time: one second of the wall clock, scaled.
REORDER_WINDOW_SECONDS = os.environ.get("SKUFLOW_REORDER_WINDOW_SECONDS", f"{TIME_SCALE:g}")


@dataclass(frozen=True)
class Sample:
    at: float
    produced: int
    finished: int
    rss: int
    cpu: float  # the engine's CPU seconds (user + system) so far

    @property
    def lag(self) -> int:
        return self.produced - self.finished


def finished(wiring: Wiring) -> int:
    with connect(wiring) as conn:
        row = conn.execute(
            "SELECT (SELECT count(DISTINCT event_id) FROM ledger)"
            " + (SELECT count(*) FROM dead_letter)"
        ).fetchone()
    return int(row[0]) if row else 0


def rejections(wiring: Wiring) -> dict[tuple[str, str], int]:
    """Rejected events by (event type, reason)."""
    with connect(wiring) as conn:
        rows = conn.execute(
            "SELECT event_type, reason_code, count(*) FROM ledger WHERE kind = 'Rejected'"
            " GROUP BY 1, 2 ORDER BY 3 DESC"
        ).fetchall()
    return {(str(kind), str(reason)): int(n) for kind, reason, n in rows}


def slope(samples: list[Sample], value: str) -> float:
    xs = [s.at for s in samples]
    ys = [float(getattr(s, value)) for s in samples]
    return statistics.linear_regression(xs, ys).slope


@pytest.fixture
def wiring(services: dict[str, ServiceInfo]) -> Iterator[Wiring]:
    name = "load" + uuid.uuid4().hex[:8]
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=Topics(name),
        redis_url=services["redis"].url,
        redis_prefix=name,
        postgres_dsn=services["postgres"].url,
        postgres_schema=name,
    )
    wiring.prepare()
    yield wiring
    with psycopg.connect(wiring.postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def start_engine(wiring: Wiring) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SKUFLOW_KAFKA_BROKERS": wiring.brokers,
        "SKUFLOW_KAFKA_TOPIC_PREFIX": wiring.topics.prefix,
        "SKUFLOW_REDIS_URL": wiring.redis_url,
        "SKUFLOW_REDIS_PREFIX": wiring.redis_prefix,
        "SKUFLOW_POSTGRES_DSN": wiring.postgres_dsn,
        "SKUFLOW_POSTGRES_SCHEMA": wiring.postgres_schema,
        "SKUFLOW_CATALOG": "simulation",
        "SKUFLOW_LOG_LEVEL": "WARNING",
        "SKUFLOW_REORDER_WINDOW_SECONDS": REORDER_WINDOW_SECONDS,
    }
    return subprocess.Popen([sys.executable, "-m", "api.cli", "run", *ENGINE_ARGS], env=env)


@pytest.mark.soak
def test_a_sustained_rate_for_minutes_grows_neither_lag_nor_memory(wiring: Wiring) -> None:
    total = int(RATE * MINUTES * 60)
    events = simulate(total, seed=10)
    producer = EventProducer(wiring.brokers, wiring.topics)
    raw = Producer({"bootstrap.servers": wiring.brokers})
    engine = start_engine(wiring)
    memory = psutil.Process(engine.pid)
    samples: list[Sample] = []
    produced = 0
    try:
        began = time.monotonic()
        next_sample = began
        # Kafka refuses times over an hour ahead of its clock: event time ends about now.
        start = datetime.now(UTC) - timedelta(seconds=MINUTES * 60 * TIME_SCALE)
        for tick in range(int(MINUTES * 60 / TICK)):
            for event in (next(events) for _ in range(int(RATE * TICK))):
                # Its slot at the rate, not the instant of a tick's burst: Kafka's timestamps are
                # milliseconds, and the merge orders a tie by topic name, which put the floor's
                # picks before their orders and counts before their picks (folded in process,
                # 1,497 of 7,115 picks refused, against 20 with a slot each).
                at = start + timedelta(seconds=produced / RATE * TIME_SCALE)
                if isinstance(event, bytes):  # the simulator's bad input: dead-lettered
                    # Stamped like the rest: stamped by the producer's clock, ahead of the
                    # scaled time, it moved the merge's watermark past every record held and
                    # released the reorder window early (put-aways before their receipts).
                    stamp = int(at.timestamp() * 1000)
                    raw.produce(wiring.topics.name("commands"), value=event, timestamp=stamp)
                else:
                    producer.send(event.model_copy(update={"occurred_at": at}))
                produced += 1
            producer.flush()
            raw.flush()
            now = time.monotonic()
            if now >= next_sample:
                assert engine.poll() is None, "the engine stopped"
                cpu = memory.cpu_times()
                samples.append(
                    Sample(
                        now - began,
                        produced,
                        finished(wiring),
                        memory.memory_info().rss,
                        cpu.user + cpu.system,
                    )
                )
                next_sample += SAMPLE_SECONDS
            time.sleep(max(0.0, began + (tick + 1) * TICK - time.monotonic()))
        assert engine.poll() is None, "the engine stopped"
    finally:
        engine.kill()  # nothing to keep: the run is measured
        engine.wait()
    second_half = samples[len(samples) // 2 :]
    lag_slope, rss_slope = slope(second_half, "lag"), slope(second_half, "rss")
    print(
        f"\n[sustained load] {produced:,} events at {RATE}/s for {MINUTES:g} min {ENGINE_ARGS}, "
        f"reorder window {REORDER_WINDOW_SECONDS} s, event time x{TIME_SCALE:g}"
    )
    refused = rejections(wiring)
    print("  rejected: " + (", ".join(f"{t} {r} {n:,}" for (t, r), n in refused.items()) or "none"))
    # Events finished per CPU-second of the engine: falls if the engine itself slows down, holds
    # if it is only starved of CPU by other work on the machine.
    print("   t (s)   produced   finished    lag   RSS (MB)  engine CPU %  events/CPU-s")
    for before, s in zip([samples[0], *samples], samples, strict=False):
        cpu = s.cpu - before.cpu
        wall = max(s.at - before.at, 1e-9)
        per_cpu = (s.finished - before.finished) / cpu if cpu > 0 else 0.0
        print(
            f"  {s.at:6.0f} {s.produced:10,} {s.finished:10,} {s.lag:6,} {s.rss / 1e6:9.1f}"
            f" {100 * cpu / wall:12.0f} {per_cpu:13,.0f}"
        )
    print(
        f"  second half: lag slope {lag_slope:+.2f} events/s (bound {MAX_LAG_SLOPE:.1f}), "
        f"RSS slope {rss_slope / 1000:+.1f} KB/s (bound {MAX_RSS_SLOPE / 1000:.0f}); "
        f"lag max {max(s.lag for s in second_half):,}, RSS max "
        f"{max(s.rss for s in samples) / 1e6:.0f} MB"
    )
    assert len(second_half) >= 3, "too short a run to judge: SKUFLOW_SOAK_MINUTES >= 1"
    assert lag_slope < MAX_LAG_SLOPE, "the engine falls behind the sustained rate"
    assert rss_slope < MAX_RSS_SLOPE, "the engine's memory grows at a steady rate"
