"""The API's hot read of the live view: SKU hashes and the view's meta in one round trip, on the
event loop.

`RedisLiveView` (redis-py, blocking) serves every other read. `GET /v1/atp/{sku}` is asked
thousands of times a second, and there a worker-thread hop per call and a round trip per key
(the SKU's hash, then the meta) cost more than Redis does. This reader sends one pipeline (HMGET
of the meta, ZCARD of the SKU set, HGETALL of each SKU) through a `redis.asyncio` client, so the
request waits on the event loop without holding a thread.

A `redis.asyncio` connection belongs to the event loop that opened it: the app opens one reader
when its server starts (the lifespan in `api.app`) and closes it when the server stops. Transient
errors are retried with the view's `Backoff`, as `connectors.redis.retry` does for blocking
calls; what remains is raised as a `RedisError` (the API answers 503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from connectors.redis.layout import (
    COMPLETE_SINCE,
    LAST_EVENT_AT,
    LAST_WRITE_AT,
    WRITES,
    Keys,
    snapshot_from_fields,
)
from connectors.redis.retry import Backoff, is_transient
from connectors.view_protocol import SkuSnapshot, ViewMeta

log = logging.getLogger(__name__)

META_FIELDS = [LAST_WRITE_AT, LAST_EVENT_AT, WRITES, COMPLETE_SINCE]


def view_meta(fields: Sequence[str | None], skus: int) -> ViewMeta:
    """The meta hash's fields, in `META_FIELDS` order, as a `ViewMeta` (both readers use it)."""
    written, newest, writes, complete = fields
    return ViewMeta(
        last_write_at=None if written is None else datetime.fromtimestamp(float(written), UTC),
        last_event_at=None if newest is None else datetime.fromisoformat(newest),
        skus=skus,
        writes=int(writes or 0),
        complete=complete is not None,
    )


class AsyncLiveViewReader:
    """Reads SKU snapshots with the view's meta in one round trip; see the module docstring."""

    def __init__(
        self,
        url: str,
        prefix: str = "skuflow",
        *,
        backoff: Backoff | None = None,
        socket_timeout: float | None = 10.0,
    ) -> None:
        self.keys = Keys(prefix)
        self._backoff = backoff or Backoff()
        # Connects on first use; redis-py's own retries are off so that one policy, logged,
        # applies (as in `RedisLiveView`).
        self._client = redis.asyncio.Redis.from_url(
            url,
            decode_responses=True,
            client_name=f"skuflow-live-view-reader:{prefix}",
            socket_timeout=socket_timeout,
            socket_connect_timeout=5.0,
            retry=Retry(NoBackoff(), 0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def read_with_meta(self, skus: Sequence[str]) -> tuple[dict[str, SkuSnapshot], ViewMeta]:
        """The snapshots of those of `skus` the view holds, and the view's meta, read together
        (so the freshness reported is that of the figures read)."""
        wanted = list(dict.fromkeys(skus))
        meta_fields, count, *hashes = await self._with_retries(wanted)
        found = {
            sku: snapshot_from_fields(sku, fields)
            for sku, fields in zip(wanted, hashes, strict=True)
            if fields
        }
        return found, view_meta(meta_fields, int(count))

    async def _read_once(self, skus: list[str]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        pipe.hmget(self.keys.meta, META_FIELDS)
        pipe.zcard(self.keys.skus)
        for sku in skus:
            pipe.hgetall(self.keys.sku(sku))
        replies: list[Any] = await pipe.execute()
        return replies

    async def _with_retries(self, skus: list[str]) -> list[Any]:
        for failures in range(1, self._backoff.attempts):
            try:
                return await self._read_once(skus)
            except RedisError as error:
                if not is_transient(error):
                    raise
                wait = self._backoff.delay(failures)
                log.warning(
                    "Redis read_with_meta failed (%s: %s); retry %d of %d in %.2fs",
                    type(error).__name__,
                    error,
                    failures,
                    self._backoff.attempts - 1,
                    wait,
                )
                await asyncio.sleep(wait)
        return await self._read_once(skus)
