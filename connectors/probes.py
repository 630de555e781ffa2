"""Read-only probes of the three services, for `skuflow check` (`dataflows/preflight.py`): does
each answer, and what does it hold for skuflow. Nothing is created or changed.

    topic_partitions(brokers, names, timeout) -> {topic: partitions}    (those that exist)
    live_view_meta(url, prefix, timeout)      -> ViewMeta                (the live view's meta)
    ledger_migrations(dsn, schema, timeout)   -> (known ids, applied ids)

A service that does not answer raises `NoAnswerError`, whose message is the first line of the client
library's error, so the caller can say which setting to look at without knowing the library.
"""

from __future__ import annotations

import psycopg
import redis as redis_client
from confluent_kafka import KafkaException
from psycopg import sql
from yoyo import read_migrations

from connectors.kafka.admin import partition_counts
from connectors.postgres.migrate import MIGRATIONS
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from connectors.retry import describe
from connectors.view_protocol import ViewMeta


class NoAnswerError(Exception):
    """The service did not answer the probe; the message says what its client library saw."""


def topic_partitions(brokers: str, names: list[str], timeout: float) -> dict[str, int]:
    """Each of `names` that exists on the cluster, with its partition count."""
    try:
        return partition_counts(brokers, names, timeout, quiet=True)
    except KafkaException as exc:
        raise NoAnswerError(describe(exc)) from exc


def live_view_meta(url: str, prefix: str, timeout: float) -> ViewMeta:
    """The live view's meta (SKUs held, last write, complete or not) under `prefix`."""
    # The ping's own client connects within `timeout`; the view's connects within its 5 s.
    client = redis_client.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    view = RedisLiveView(url, prefix, backoff=Backoff(attempts=1), socket_timeout=timeout)
    try:
        client.ping()
        return view.meta()
    except redis_client.RedisError as exc:
        raise NoAnswerError(describe(exc)) from exc
    finally:
        view.close()
        client.close()


def ledger_migrations(dsn: str, schema: str, timeout: float) -> tuple[list[str], set[str]]:
    """The ledger's migrations this release knows, in order, and those applied in `schema`."""
    known = [migration.id for migration in read_migrations(str(MIGRATIONS))]
    applied: set[str] = set()
    try:
        with psycopg.connect(dsn, connect_timeout=max(1, round(timeout))) as conn:
            has_table = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", [f"{schema}._yoyo_migration"]
            ).fetchone()
            if has_table and has_table[0]:
                rows = conn.execute(
                    sql.SQL("SELECT migration_id FROM {}._yoyo_migration").format(
                        sql.Identifier(schema)
                    )
                ).fetchall()
                applied = {row[0] for row in rows}
    except psycopg.Error as exc:
        raise NoAnswerError(describe(exc)) from exc
    return known, applied


def redacted(url: str) -> str:
    """A Redis URL without its password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':' if user else ':'}***@{host}"
