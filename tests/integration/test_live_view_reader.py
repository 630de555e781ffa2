"""The API's event-loop reader of the Redis view, on the real Redis (keys under `unique`).

`AsyncLiveViewReader` must read exactly what the blocking `RedisLiveView` reads, and an app
whose server started (its lifespan ran) must answer ATP through it: the figures when Redis
answers, 503 with the reason when it does not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ApiKeys, Role
from api.deps import ApiDeps
from api.ledger_reader import LedgerReader
from api.publisher import QueuePublisher
from connectors.inprocess import QueueSource
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from connectors.services.base import free_port
from connectors.view_protocol import SkuSnapshot, ViewMeta
from tests.integration.test_live_view import MAN_A, Shop, make_catalog


@pytest.fixture
def redis_view(redis_url: str, redis_client: redis.Redis, unique: str) -> Iterator[RedisLiveView]:
    view = RedisLiveView(redis_url, unique, backoff=Backoff(base=0.01))
    yield view
    view.close()


def read_on_a_loop(view: RedisLiveView, skus: list[str]) -> tuple[dict[str, SkuSnapshot], ViewMeta]:
    async def read() -> tuple[dict[str, SkuSnapshot], ViewMeta]:
        reader = view.async_reader()
        try:
            return await reader.read_with_meta(skus)
        finally:
            await reader.aclose()

    return asyncio.run(read())


AppOn = tuple[Callable[[RedisLiveView], TestClient], dict[str, str]]


@pytest.fixture
def app_on(postgres_dsn: str, unique: str) -> Iterator[AppOn]:
    """A client factory for an app on a given view, and a channel key's headers."""
    keys, key_of = ApiKeys.generate()
    ledgers: list[LedgerReader] = []

    def build(view: RedisLiveView) -> TestClient:
        ledgers.append(LedgerReader(postgres_dsn, unique, max_size=1))
        deps = ApiDeps(
            view=view,
            ledger=ledgers[-1],
            publisher=QueuePublisher(QueueSource()),
            catalog=make_catalog(),
            auth=keys,
        )
        return TestClient(create_app(deps))

    yield build, {"X-API-Key": key_of[Role.CHANNEL]}
    for ledger in ledgers:
        ledger.close()


def test_the_event_loop_reader_reads_what_the_blocking_view_reads(
    redis_view: RedisLiveView,
) -> None:
    shop = Shop()
    shop.receive("RETRO-CLOCK", 20)
    redis_view.write([shop.receive("RETRO-CLOCK", 6, at=MAN_A), shop.receive("TEAL-KETTLE", 4)])
    redis_view.mark_complete()
    wanted = ["RETRO-CLOCK", "TEAL-KETTLE", "TEA-MUG"]

    found, meta = read_on_a_loop(redis_view, wanted)

    assert found == redis_view.read_many(wanted)
    assert set(found) == {"RETRO-CLOCK", "TEAL-KETTLE"}  # TEA-MUG was never written
    assert found["RETRO-CLOCK"].atp_sites == {"LON": 18, "MAN": 6}  # LON keeps 2 as safety
    assert meta == redis_view.meta()
    assert meta.complete is True


def test_an_empty_view_reads_as_nothing_and_never_written(redis_view: RedisLiveView) -> None:
    found, meta = read_on_a_loop(redis_view, ["RETRO-CLOCK"])

    assert found == {}
    assert meta.last_write_at is None
    assert meta.skus == 0


def test_a_started_server_answers_atp_through_the_event_loop_reader(
    redis_view: RedisLiveView, app_on: AppOn
) -> None:
    build, headers = app_on
    redis_view.write([Shop().receive("RETRO-CLOCK", 9, at=MAN_A)])
    redis_view.mark_complete()

    with build(redis_view) as client:  # the lifespan opens the reader
        assert client.app.state.view_reader is not None  # type: ignore[attr-defined]
        answer = client.get("/v1/atp/RETRO-CLOCK", headers=headers)
        kit_of_nothing = client.get("/v1/atp/TEA-MUG", headers=headers)
    assert client.app.state.view_reader is None  # type: ignore[attr-defined]

    assert answer.status_code == 200
    assert answer.json()["sites"] == {"LON": 0, "MAN": 9}
    assert answer.json()["view"]["stale"] is False
    assert kit_of_nothing.json()["network"] == 0


def test_a_started_server_whose_redis_is_gone_answers_503_with_the_reason(
    app_on: AppOn,
) -> None:
    build, headers = app_on
    nowhere = RedisLiveView(
        f"redis://127.0.0.1:{free_port()}/0", "gone", backoff=Backoff(attempts=2, base=0.01)
    )

    with build(nowhere) as client:
        answer = client.get("/v1/atp/RETRO-CLOCK", headers=headers)

    assert answer.status_code == 503
    assert answer.json() == {"detail": "the live view (Redis) did not answer; retry shortly"}
    assert answer.headers["retry-after"] == "1"
