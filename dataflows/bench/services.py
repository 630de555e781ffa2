"""The running local services, for the benchmarks that take the full path (Kafka → dataflow →
Redis + PostgreSQL): one throwaway set of topics, Redis prefix and schema per measurement.

The shared servers are never flushed or restarted: everything a benchmark makes has its own
prefix (`bench<hex>`) and is removed by `discard` when the measurement ends.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import redis
from confluent_kafka.admin import AdminClient
from psycopg import sql

from connectors.kafka.topics import Topics
from connectors.postgres.queries import counts
from connectors.postgres.schema import connect_in_schema
from connectors.services import manager
from connectors.services.base import ServiceInfo
from dataflows.production import Wiring


class BenchError(RuntimeError):
    """A benchmark cannot run (services down, engine died); the message says what to do."""


class ServicesDownError(BenchError):
    """A service the full path needs is not running."""


def running(services_dir: Path) -> dict[str, ServiceInfo]:
    """The recorded, answering PostgreSQL, Redis and Kafka; raises `ServicesDownError` otherwise."""
    found = manager.status(services_dir)
    down = [name for name, (info, ok) in found.items() if not ok or info is None]
    if down:
        msg = (
            f"{', '.join(down)} not running (looked in {services_dir}): "
            "run `skuflow services up` first"
        )
        raise ServicesDownError(msg)
    return {name: info for name, (info, _) in found.items() if info is not None}


def fresh_wiring(services: dict[str, ServiceInfo], label: str = "bench") -> Wiring:
    """Topics, Redis prefix and schema no one else uses, created and migrated."""
    prefix = f"{label}{uuid.uuid4().hex[:10]}"
    wiring = Wiring(
        brokers=services["kafka"].url,
        topics=Topics(prefix),
        redis_url=services["redis"].url,
        redis_prefix=prefix,
        postgres_dsn=services["postgres"].url,
        postgres_schema=prefix,
    )
    wiring.prepare()
    return wiring


def ledger_counts(wiring: Wiring) -> tuple[int, int]:
    """(distinct events in the ledger, dead letters) of this wiring's schema."""
    with connect_in_schema(wiring.postgres_dsn, wiring.postgres_schema) as conn:
        tally = counts(conn)
    return tally["events"], sum(tally["dead_letters_by_code"].values())


def redis_keys(wiring: Wiring) -> list[bytes]:
    client = redis.Redis.from_url(wiring.redis_url)
    try:
        return list(client.scan_iter(match=f"{wiring.redis_prefix}:*", count=10_000))
    finally:
        client.close()


def discard(wiring: Wiring) -> None:
    """Remove this wiring's topics, Redis keys and schema (nothing else is touched)."""
    client = redis.Redis.from_url(wiring.redis_url)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{wiring.redis_prefix}:*", count=10_000):
            batch.append(key)
            if len(batch) >= 10_000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    finally:
        client.close()
    with psycopg.connect(wiring.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(wiring.postgres_schema)
            )
        )
    admin = AdminClient({"bootstrap.servers": wiring.brokers})
    topics = [
        name
        for name in admin.list_topics(timeout=10).topics
        if name.startswith(wiring.topics.prefix + ".")
    ]
    if topics:
        for future in admin.delete_topics(topics).values():
            future.result(timeout=30)
