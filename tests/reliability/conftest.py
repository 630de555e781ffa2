"""The reliability suite (issue #10) runs on the real services, like the integration tests.

Every test here is marked `integration`; the long versions are also marked `soak` (`make soak`).
The integration tier's fixtures (per-test topics, Redis prefixes, PostgreSQL schemas) are reused.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import (  # noqa: F401  (fixtures, found by pytest by name)
    kafka_bootstrap,
    pg_schema,
    postgres_dsn,
    redis_client,
    redis_url,
    topic_factory,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
