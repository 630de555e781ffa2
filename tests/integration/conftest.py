"""Factories for per-test Kafka topics, Redis key prefixes and PostgreSQL schemas."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
import redis
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.services.base import ServiceInfo

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka_bootstrap(services: dict[str, ServiceInfo]) -> str:
    return services["kafka"].url


@pytest.fixture(scope="session")
def redis_url(services: dict[str, ServiceInfo]) -> str:
    return services["redis"].url


@pytest.fixture(scope="session")
def postgres_dsn(services: dict[str, ServiceInfo]) -> str:
    return services["postgres"].url


@pytest.fixture
def topic_factory(kafka_bootstrap: str, unique: str) -> Iterator[Callable[..., str]]:
    """Create topics named after this test; delete them afterwards."""
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    made: list[str] = []

    def make(role: str = "events", partitions: int = 1) -> str:
        name = f"{unique}.{role}"
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        futures[name].result(timeout=30)
        made.append(name)
        return name

    yield make
    if made:
        for future in admin.delete_topics(made).values():
            future.result(timeout=30)


@pytest.fixture
def redis_client(redis_url: str, unique: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    keys = list(client.scan_iter(match=f"{unique}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def pg_schema(postgres_dsn: str, unique: str) -> Iterator[psycopg.Connection]:
    """A connection whose search_path is a schema made for this test alone."""
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{unique}"')
        conn.execute(f'SET search_path TO "{unique}"')
        yield conn
        conn.execute(f'DROP SCHEMA "{unique}" CASCADE')
