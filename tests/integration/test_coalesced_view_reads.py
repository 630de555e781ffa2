"""The API's event-loop reader coalesces: reads waiting at the same time share one round trip to
the real Redis (keys under `unique`), and each still gets exactly its own SKUs, or the error.
These are the reads the in-process copy cannot answer (`test_live_view_copy`): it is off here."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import redis
from redis.exceptions import RedisError

from connectors.redis.live_reader import AsyncLiveViewReader
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from connectors.services.base import free_port
from tests.integration.test_live_view import MAN_A, Shop

SKUS = ["RETRO-CLOCK", "TEAL-KETTLE", "TEA-MUG"]  # TEA-MUG is never written


@pytest.fixture
def redis_view(redis_url: str, redis_client: redis.Redis, unique: str) -> Iterator[RedisLiveView]:
    view = RedisLiveView(redis_url, unique, backoff=Backoff(base=0.01))
    shop = Shop()
    view.write(
        [
            shop.receive("RETRO-CLOCK", 7),
            shop.receive("TEAL-KETTLE", 4, at=MAN_A),
        ]
    )
    view.mark_complete()
    yield view
    view.close()


class CountedReader(AsyncLiveViewReader):
    """The reader, counting its round trips (a seam: Redis itself answers them)."""

    round_trips = 0

    async def _read_once(self, skus: list[str]) -> list[Any]:
        self.round_trips += 1
        return await super()._read_once(skus)


def reads_together(reader: AsyncLiveViewReader, asked: Sequence[list[str]]) -> list[Any]:
    async def read() -> list[Any]:
        try:
            return await asyncio.gather(
                *(reader.read_with_meta(skus) for skus in asked), return_exceptions=True
            )
        finally:
            await reader.aclose()

    return asyncio.run(read())


def test_reads_waiting_together_share_one_round_trip_and_each_gets_its_own_skus(
    redis_view: RedisLiveView, redis_url: str, unique: str
) -> None:
    asked = [[SKUS[n % len(SKUS)]] for n in range(12)] + [SKUS, ["TEA-MUG"], []]
    reader = CountedReader(redis_url, unique, copy=False)

    answers = reads_together(reader, asked)

    assert reader.round_trips == 1
    meta = redis_view.meta()
    for skus, (found, read_meta) in zip(asked, answers, strict=True):
        assert found == redis_view.read_many(skus)  # its own SKUs, none of the others'
        assert read_meta == meta
    assert answers[0][0]["RETRO-CLOCK"].atp_sites == {"LON": 5, "MAN": 0}  # LON keeps 2
    assert answers[-2][0] == {}  # never written


def test_a_read_after_the_others_were_answered_makes_a_round_trip_of_its_own(
    redis_view: RedisLiveView, redis_url: str, unique: str
) -> None:
    reader = CountedReader(redis_url, unique, copy=False)

    async def one_then_another() -> None:
        try:
            await reader.read_with_meta(["RETRO-CLOCK"])
            found, _ = await reader.read_with_meta(["TEAL-KETTLE"])
            assert found["TEAL-KETTLE"].atp_sites == {"LON": 0, "MAN": 4}
        finally:
            await reader.aclose()

    asyncio.run(one_then_another())

    assert reader.round_trips == 2


def test_every_read_waiting_on_a_redis_that_is_gone_gets_the_error() -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    reader = CountedReader(nowhere, "gone", backoff=Backoff(attempts=2, base=0.01), copy=False)

    answers = reads_together(reader, [["RETRO-CLOCK"], ["TEAL-KETTLE"], SKUS])

    assert all(isinstance(answer, RedisError) for answer in answers)
    assert reader.round_trips == 2  # one batch, tried twice (the view's backoff), not per read
