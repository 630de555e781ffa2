"""`skuflow check`: whether this deployment's settings reach Kafka, Redis and PostgreSQL, and what
each holds for skuflow. One line per service; nothing is created or changed.

    kafka(wiring, timeout) / redis(wiring, timeout) / postgres(wiring, timeout) -> Check

A service that does not answer is a failure naming the setting to look at. What `skuflow run`
sets up by itself (topics not made yet, ledger migrations not applied yet) is reported, not
failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import redis as redis_client
from confluent_kafka import KafkaException
from psycopg import sql
from yoyo import read_migrations

from connectors.kafka.admin import partition_counts
from connectors.kafka.topics import DEAD_LETTERS, DECISIONS, PROPOSALS, SEQUENCED, STOCK_CHANGES
from connectors.postgres.migrate import MIGRATIONS
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from dataflows.production import Wiring, wider_inputs


@dataclass(frozen=True)
class Check:
    service: str
    ok: bool
    detail: str


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def _no_answer(service: str, who: str, exc: BaseException, setting: str, server: str) -> Check:
    reason = _first_line(exc)
    return Check(
        service, False, f"{who} did not answer ({reason}): check {setting} and that {server} is up"
    )


def kafka(wiring: Wiring, timeout: float = 10.0) -> Check:
    outputs = [SEQUENCED, STOCK_CHANGES, DECISIONS, PROPOSALS, DEAD_LETTERS]
    inputs = wiring.topics.inputs()
    names = [*inputs, *(wiring.topics.name(name) for name in outputs)]
    try:
        found = partition_counts(wiring.brokers, names, timeout, quiet=True)
    except KafkaException as exc:
        who = f"{wiring.brokers} (in {timeout:g} s)"
        return _no_answer("kafka", who, exc, "SKUFLOW_KAFKA_BROKERS", "the broker")
    missing = [name for name in names if name not in found]
    log = found.get(wiring.topics.name(SEQUENCED))
    parts = [f"{wiring.brokers} answers; {len(found)} of {len(names)} topics"]
    if missing:
        parts.append(f"not made yet (`skuflow run` makes them): {', '.join(missing)}")
    if log is not None:
        parts.append(f"the sequenced log has {log} partition(s)")
    present_inputs = {name: found[name] for name in inputs if name in found}
    if present_inputs:
        counts = sorted(set(present_inputs.values()))
        parts.append(f"input topics have {'/'.join(map(str, counts))} partition(s)")
    hint = wider_inputs(present_inputs, wiring.input_partitions)
    if hint:
        parts.append(hint)
    return Check("kafka", True, "; ".join(parts))


def redis(wiring: Wiring, timeout: float = 10.0) -> Check:
    client = redis_client.Redis.from_url(
        wiring.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
        meta = RedisLiveView(
            wiring.redis_url,
            wiring.redis_prefix,
            backoff=Backoff(attempts=1),
            socket_timeout=timeout,
        ).meta()
    except redis_client.RedisError as exc:
        return _no_answer("redis", _redacted(wiring.redis_url), exc, "SKUFLOW_REDIS_URL", "Redis")
    finally:
        client.close()
    if meta.last_write_at is None:
        state = "the live view was never written (`skuflow run` writes it)"
    else:
        age = (datetime.now(UTC) - meta.last_write_at).total_seconds()
        state = f"the live view holds {meta.skus:,} SKUs, last written {age:,.0f} s ago"
        if not meta.complete:
            state += "; it may miss SKUs (emptied since): `skuflow rebuild-view` refills it"
    return Check("redis", True, f"{_redacted(wiring.redis_url)} answers; {state}")


def postgres(wiring: Wiring, timeout: float = 10.0) -> Check:
    schema = wiring.postgres_schema
    known = [migration.id for migration in read_migrations(str(MIGRATIONS))]
    try:
        with psycopg.connect(wiring.postgres_dsn, connect_timeout=max(1, round(timeout))) as conn:
            has_table = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", [f"{schema}._yoyo_migration"]
            ).fetchone()
            applied: set[str] = set()
            if has_table and has_table[0]:
                rows = conn.execute(
                    sql.SQL("SELECT migration_id FROM {}._yoyo_migration").format(
                        sql.Identifier(schema)
                    )
                ).fetchall()
                applied = {row[0] for row in rows}
    except psycopg.Error as exc:
        who = "the ledger database"
        return _no_answer("postgres", who, exc, "SKUFLOW_POSTGRES_DSN", "PostgreSQL")
    pending = [migration for migration in known if migration not in applied]
    if not pending:
        state = f"schema {schema} is up to date ({len(known)} migrations)"
    else:
        state = (
            f"schema {schema}: {len(pending)} of {len(known)} migrations not applied yet "
            f"(`skuflow run` applies them): {', '.join(pending)}"
        )
    return Check("postgres", True, f"the ledger database answers; {state}")


def _redacted(url: str) -> str:
    """A Redis URL without its password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':' if user else ':'}***@{host}"


def all_checks(wiring: Wiring, timeout: float = 10.0) -> list[Check]:
    return [kafka(wiring, timeout), redis(wiring, timeout), postgres(wiring, timeout)]
