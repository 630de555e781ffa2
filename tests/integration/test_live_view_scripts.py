"""The live view sends its Lua scripts by SHA alone, and copes with a Redis that lost them.

These tests flush the script cache and read server-wide command counts, so they run on a
private `redis-server` started for this module, never on the shared one (whose cached scripts
other tests are using at the same moment).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.exceptions import ResponseError

from connectors.redis.live_view import SHA, RedisLiveView
from connectors.redis.retry import Backoff
from connectors.services.base import ServiceInfo, stop_pid
from connectors.services.redis import start_redis
from connectors.view_protocol import snapshot_of
from tests.integration.test_live_view import MAN_A, Shop


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceInfo]:
    info = start_redis(tmp_path_factory.mktemp("redis"))
    yield info
    stop_pid(info.pid)


@pytest.fixture
def admin(private_redis: ServiceInfo) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(params=[True, False], ids=["transaction", "no-transaction"])
def view(
    request: pytest.FixtureRequest, private_redis: ServiceInfo, unique: str
) -> Iterator[RedisLiveView]:
    live_view = RedisLiveView(
        private_redis.url, unique, transaction=request.param, backoff=Backoff(3, base=0.01)
    )
    yield live_view
    live_view.close()


def _calls(admin: redis.Redis) -> dict[str, int]:
    """Commands Redis has run since the last CONFIG RESETSTAT, by name ("script|exists", ...)."""
    stats = admin.info("commandstats")
    return {name.removeprefix("cmdstat_"): fields["calls"] for name, fields in stats.items()}


def test_a_view_writes_on_a_redis_that_never_saw_the_scripts(
    view: RedisLiveView, admin: redis.Redis
) -> None:
    admin.script_flush()
    written = Shop().receive("RETRO-CLOCK", 10)

    view.write([written])

    assert view.read("RETRO-CLOCK") == snapshot_of(written)
    assert view.meta().writes == 1
    assert admin.script_exists(*SHA.values()) == [True, True]


def test_a_write_after_the_script_cache_is_flushed_lands_and_counts_once(
    view: RedisLiveView, admin: redis.Redis
) -> None:
    shop = Shop()
    view.write([shop.receive("RETRO-CLOCK", 10), shop.receive("TEAL-KETTLE", 4, at=MAN_A)])
    admin.script_flush()  # as a restart or a failover would leave it, with the data kept
    second = [shop.receive("RETRO-CLOCK", 5, minutes=1), shop.receive("TEA-MUG", 2, minutes=1)]

    view.write(second)

    assert view.read_many(["RETRO-CLOCK", "TEA-MUG"]) == {
        "RETRO-CLOCK": snapshot_of(second[0]),
        "TEA-MUG": snapshot_of(second[1]),
    }
    assert view.meta().writes == 2  # the plain commands ran once, though the scripts ran twice
    assert [change.sku for change in view.changes()] == [
        "RETRO-CLOCK",
        "TEAL-KETTLE",
        "RETRO-CLOCK",
        "TEA-MUG",
    ]


def test_a_write_sends_its_scripts_by_sha_alone_never_script_exists(
    view: RedisLiveView, admin: redis.Redis
) -> None:
    shop = Shop()
    view.write([shop.receive("RETRO-CLOCK", 10)])  # connects and, if needed, loads the scripts
    admin.config_resetstat()

    view.write([shop.receive("RETRO-CLOCK", 1, minutes=1), shop.receive("TEA-MUG", 3)])
    view.write([shop.receive("TEAL-KETTLE", 2, minutes=2)])

    calls = _calls(admin)
    assert not [name for name in calls if name.startswith("script|")], calls
    assert calls["evalsha"] == 4  # WRITE_SKUS and RECORD_WRITE, once per write
    assert calls.get("exec", 0) == (2 if view._transaction else 0)


def test_an_error_other_than_noscript_is_raised_at_once(
    view: RedisLiveView, admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    admin.set(view.keys.meta, "not a hash")

    with pytest.raises(ResponseError, match="WRONGTYPE"):
        view.write([Shop().receive("RETRO-CLOCK", 10)])

    assert "Redis write failed" not in caplog.text  # a wrong type is a bug: never retried
