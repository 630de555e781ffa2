"""Each real service answers a real round trip through the client skuflow uses in production."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from time import monotonic

import psycopg
import redis
from confluent_kafka import Consumer, Producer


def test_kafka_gives_back_every_keyed_message_in_order_per_partition(
    kafka_bootstrap: str, topic_factory: Callable[..., str], unique: str
) -> None:
    topic = topic_factory("scans", partitions=4)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    sent: dict[str, list[int]] = defaultdict(list)
    for i in range(400):
        sku = f"RETRO-CLOCK-{i % 7}"
        producer.produce(topic, key=sku, value=str(i).encode())
        sent[sku].append(i)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: dict[str, list[int]] = defaultdict(list)
    partitions_by_key: dict[str, set[int]] = defaultdict(set)
    count = 0
    deadline = monotonic() + 60
    try:
        while count < 400 and monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            key = msg.key().decode()
            received[key].append(int(msg.value()))
            partitions_by_key[key].add(msg.partition())
            count += 1
    finally:
        consumer.close()

    assert received == sent  # every message, and per key (so per partition) in production order
    assert all(len(parts) == 1 for parts in partitions_by_key.values())
    assert len(set().union(*partitions_by_key.values())) > 1  # the keys really spread


def test_redis_keeps_a_hash_per_sku_and_a_stream_of_changes(
    redis_client: redis.Redis, unique: str
) -> None:
    key = f"{unique}:stock:TEAL-KETTLE"
    pipe = redis_client.pipeline()
    pipe.hset(key, mapping={"LON": 12, "MAN": 3})
    pipe.xadd(f"{unique}:changes", {"sku": "TEAL-KETTLE", "site": "LON", "atp": 12})
    pipe.execute()

    assert redis_client.hgetall(key) == {b"LON": b"12", b"MAN": b"3"}
    entries = redis_client.xrange(f"{unique}:changes")
    assert [fields[b"sku"] for _, fields in entries] == [b"TEAL-KETTLE"]


def test_postgres_stores_and_returns_rows_through_psycopg(pg_schema: psycopg.Connection) -> None:
    pg_schema.execute("CREATE TABLE stock (sku text, site text, on_hand int CHECK (on_hand >= 0))")
    with pg_schema.cursor() as cur:
        cur.executemany(
            "INSERT INTO stock VALUES (%s, %s, %s)",
            [("TEAL-KETTLE", "LON", 12), ("TEAL-KETTLE", "MAN", 3)],
        )
    rows = pg_schema.execute("SELECT site, on_hand FROM stock ORDER BY site").fetchall()
    assert rows == [("LON", 12), ("MAN", 3)]


def test_postgres_refuses_a_negative_balance(pg_schema: psycopg.Connection) -> None:
    pg_schema.execute("CREATE TABLE stock (sku text, on_hand int CHECK (on_hand >= 0))")
    try:
        pg_schema.execute("INSERT INTO stock VALUES ('TEAL-KETTLE', -1)")
    except psycopg.errors.CheckViolation:
        return
    raise AssertionError("a negative on_hand was accepted")
