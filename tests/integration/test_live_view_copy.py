"""The API's in-process copy of the live view (`connectors.redis.live_copy`) answers ATP reads
without reading the figures from Redis, yet never answers what Redis no longer holds: a write,
a FLUSHALL or a stopped Redis shows in the very next read. Real Redis; the flush and the stop on
a private one. Run on uvloop, the server's loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import uvloop
from fastapi.testclient import TestClient
from redis.exceptions import RedisError

from api.app import create_app
from api.auth import ApiKeys, Role
from api.deps import ApiDeps
from api.ledger_reader import LedgerReader
from api.live import view_status
from api.publisher import QueuePublisher
from connectors.inprocess import QueueSource
from connectors.redis.live_reader import AsyncLiveViewReader
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from connectors.services.base import ServiceInfo, stop_pid
from connectors.services.redis import start_redis
from tests.integration.test_live_view import MAN_A, Shop, make_catalog

WRITTEN = ["RETRO-CLOCK", "TEAL-KETTLE"]
NEVER_WRITTEN = "TEA-MUG"


class CountedReader(AsyncLiveViewReader):
    """The reader, counting its script calls, the reads the copy did not answer (a seam: Redis
    itself answers them)."""

    round_trips = 0

    async def _read_once(self, skus: list[str]) -> list[Any]:
        self.round_trips += 1
        return await super()._read_once(skus)


def written_view(url: str, prefix: str) -> tuple[RedisLiveView, Shop]:
    view = RedisLiveView(url, prefix, backoff=Backoff(attempts=2, base=0.01))
    shop = Shop()
    view.write([shop.receive("RETRO-CLOCK", 7), shop.receive("TEAL-KETTLE", 4, at=MAN_A)])
    view.mark_complete()
    return view, shop


@pytest.fixture
def shared_view(redis_url: str, redis_client: redis.Redis, unique: str) -> Iterator[Any]:
    view, shop = written_view(redis_url, unique)
    yield view, shop
    view.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[ServiceInfo]:
    info = start_redis(tmp_path / "redis")
    yield info
    stop_pid(info.pid)


def run(reader: AsyncLiveViewReader, test: Callable[[], Awaitable[None]]) -> None:
    async def body() -> None:
        try:
            await test()
        finally:
            await reader.aclose()

    uvloop.run(body())


async def held(reader: CountedReader, skus: Sequence[str]) -> None:
    """Read until a read of `skus` makes no script call: the copy holds them."""
    for _ in range(200):
        before = reader.round_trips
        await reader.read_with_meta(skus)
        if reader.round_trips == before:
            return
        await asyncio.sleep(0.005)
    pytest.fail(f"the copy never held {skus}")


def test_once_held_reads_are_answered_by_the_copy_with_what_redis_holds(
    shared_view: Any, redis_url: str, unique: str
) -> None:
    view, _ = shared_view
    reader = CountedReader(redis_url, unique)

    async def test() -> None:
        await held(reader, [*WRITTEN, NEVER_WRITTEN])
        before = reader.round_trips
        for _ in range(50):
            found, meta = await reader.read_with_meta([*WRITTEN, NEVER_WRITTEN])
            assert found == view.read_many(WRITTEN)
            assert meta == view.meta()
        assert reader.round_trips == before

    run(reader, test)


def test_a_write_shows_in_the_next_read_and_the_status_is_never_newer_than_the_figures(
    shared_view: Any, redis_url: str, unique: str
) -> None:
    view, shop = shared_view
    reader = CountedReader(redis_url, unique)

    async def test() -> None:
        await held(reader, WRITTEN)
        for quantity in range(1, 6):
            view.write([shop.receive("RETRO-CLOCK", quantity)])
            assert await reader.caught_up()  # Redis's notice has arrived
            found, meta = await reader.read_with_meta(WRITTEN)
            assert found == view.read_many(WRITTEN)  # the copy dropped it; Redis answered
            assert meta.writes <= view.meta().writes
        await held(reader, WRITTEN)  # fetched again: from the copy once more
        found, meta = await reader.read_with_meta(WRITTEN)
        assert found == view.read_many(WRITTEN)
        assert meta == view.meta()

    run(reader, test)


@pytest.mark.parametrize("strict", [False, True], ids=["once-told", "strict"])
def test_after_a_flushall_a_read_is_stale(private_redis: ServiceInfo, strict: bool) -> None:
    """By default from the moment Redis's notice has arrived (`caught_up`: Redis answers the
    flusher a few µs before it tells the copy); with `confirm`, the very next read."""
    written_view(private_redis.url, "copy")
    reader = CountedReader(private_redis.url, "copy", confirm=strict)

    async def test() -> None:
        await held(reader, WRITTEN)
        client = redis.Redis.from_url(private_redis.url)
        client.flushall()  # the PRIVATE server of this test
        client.close()
        if not strict:
            assert await reader.caught_up()
        found, meta = await reader.read_with_meta(WRITTEN)
        assert found == {}
        assert view_status(meta, datetime.now(UTC)).stale

    run(reader, test)


def test_once_redis_stops_reads_fail_rather_than_answer_from_the_copy(
    private_redis: ServiceInfo,
) -> None:
    written_view(private_redis.url, "copy")
    reader = CountedReader(private_redis.url, "copy", backoff=Backoff(attempts=2, base=0.01))

    async def test() -> None:
        await held(reader, WRITTEN)
        stop_pid(private_redis.pid)
        with pytest.raises(RedisError):
            await reader.read_with_meta(WRITTEN)

    run(reader, test)


def test_a_cleared_view_reads_stale_until_it_is_rebuilt_and_marked_complete(
    shared_view: Any, redis_url: str, unique: str
) -> None:
    view, shop = shared_view
    reader = CountedReader(redis_url, unique)

    async def test() -> None:
        await held(reader, WRITTEN)
        view.clear()  # what `skuflow rebuild-view` does first
        assert await reader.caught_up()
        found, meta = await reader.read_with_meta(WRITTEN)
        assert found == {}
        assert view_status(meta, datetime.now(UTC)).stale
        view.write([shop.receive("RETRO-CLOCK", 1)])
        view.mark_complete()
        await held(reader, WRITTEN)
        found, meta = await reader.read_with_meta(WRITTEN)
        assert found == view.read_many(WRITTEN)
        assert not view_status(meta, datetime.now(UTC)).stale

    run(reader, test)


@pytest.fixture
def started_app(postgres_dsn: str, unique: str) -> Iterator[Any]:
    """A client factory for an app on a given view, and a channel key's headers."""
    keys, key_of = ApiKeys.generate()
    ledger = LedgerReader(postgres_dsn, unique, max_size=1)

    def build(view: RedisLiveView) -> TestClient:
        deps = ApiDeps(
            view=view,
            ledger=ledger,
            publisher=QueuePublisher(QueueSource()),
            catalog=make_catalog(),
            auth=keys,
        )
        return TestClient(create_app(deps))

    yield build, {"X-API-Key": key_of[Role.CHANNEL]}
    ledger.close()


def test_a_started_server_answers_from_the_copy_and_a_lost_view_is_stale_then_503(
    private_redis: ServiceInfo, started_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's promise with the copy on, through the API: stale, then 503, never fresh."""
    build, headers = started_app
    view, shop = written_view(private_redis.url, "copy")
    round_trips: list[list[str]] = []
    read_once = AsyncLiveViewReader._read_once

    async def counted(reader: AsyncLiveViewReader, skus: list[str]) -> list[Any]:
        round_trips.append(skus)
        return await read_once(reader, skus)

    monkeypatch.setattr(AsyncLiveViewReader, "_read_once", counted)

    with build(view) as client:  # the lifespan opens the reader, and with it the copy
        reader = client.app.state.view_reader  # type: ignore[attr-defined]
        for _ in range(200):  # until the copy holds it: a read with no script call
            before = len(round_trips)
            fresh = client.get("/v1/atp/RETRO-CLOCK", headers=headers)
            if len(round_trips) == before:
                break
            time.sleep(0.005)
        assert len(round_trips) == before, "the copy never answered"
        assert fresh.json()["view"]["stale"] is False

        view.write([shop.receive("RETRO-CLOCK", 2)])
        assert client.portal.call(reader.caught_up)  # Redis's notice has arrived
        moved = client.get("/v1/atp/RETRO-CLOCK", headers=headers).json()
        assert moved["network"] == fresh.json()["network"] + 2

        flusher = redis.Redis.from_url(private_redis.url)
        flusher.flushall()  # the PRIVATE server of this test
        flusher.close()
        assert client.portal.call(reader.caught_up)
        assert client.get("/v1/atp/RETRO-CLOCK", headers=headers).json()["view"]["stale"]

        stop_pid(private_redis.pid)
        assert client.get("/v1/atp/RETRO-CLOCK", headers=headers).status_code == 503


def test_the_copy_holds_at_most_its_limit_dropping_the_longest_held_first(
    shared_view: Any, redis_url: str, unique: str
) -> None:
    view, _ = shared_view
    reader = CountedReader(redis_url, unique)
    assert reader._copy is not None
    reader._copy._max_skus = 1  # a seam: the limit is 100,000 SKUs

    async def test() -> None:
        await held(reader, ["RETRO-CLOCK"])
        await held(reader, ["TEAL-KETTLE"])
        assert reader._copy is not None
        assert list(reader._copy._held) == ["TEAL-KETTLE"]
        before = reader.round_trips
        found, _ = await reader.read_with_meta(["RETRO-CLOCK"])  # dropped: Redis answers it
        assert reader.round_trips == before + 1
        assert found == view.read_many(["RETRO-CLOCK"])

    run(reader, test)
