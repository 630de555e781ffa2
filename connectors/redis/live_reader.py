"""The API's hot read of the live view: from an in-process copy that Redis keeps current, or
SKU hashes and the view's meta in one round trip, on the event loop, shared by every read
waiting at the time.

`RedisLiveView` (redis-py, blocking) serves every other read. `GET /v1/atp/{sku}` is asked
thousands of times a second. First, `connectors.redis.live_copy` answers the reads it can with
no round trip at all: it holds the SKUs already read and the meta, and Redis's client-side
caching protocol tells it when any of them changes, is flushed or is lost (it then reads them
again, or the reads go to Redis), a few microseconds after Redis answers the writer (its module
docstring says why; `confirm=True` waits for a PING first). On two busy cores, a read answered
in the server's own process no longer waits for Redis to be scheduled, and per read the server
spends about a third less CPU and Redis two thirds less (`skuflow bench latency`).

What the copy does not hold (a SKU not read yet or just changed, the copy connecting) this
reader asks Redis once, on the event loop, through a `redis.asyncio` client: one script
(`READ_SCRIPT`: HMGET of the meta, ZCARD of the SKU set, HGETALL of each SKU), so the request
waits without holding a thread, and the figures and the meta are read at one instant (the
freshness reported is that of the figures read).

Those reads are coalesced: one script call is in flight at a time, and the reads that arrive
meanwhile go together in the next one (each SKU once, the meta once). redis-py spends about 140
µs of CPU on a pipeline of those commands however little it holds (two thirds of a plain ATP
read's CPU when each read sent its own) and about 80 µs on a script call. Per read, snapshots
parsed: one pipeline each, 115-140 µs; four reads waiting together, 62-80 µs by pipeline, 40-50
µs by the script. A lone read waits for nothing (its call leaves on the loop's next turn), and
the busier the server, the more each call carries: a backlog after a pause drains in a few
calls, not one per request.

A `redis.asyncio` connection (and the copy's) belongs to the event loop that opened it: the app
opens one reader when its server starts (the lifespan in `api.app`) and closes it when the
server stops. Transient errors are retried with the view's `Backoff`, as
`connectors.redis.retry` does for blocking calls; what remains is raised as a `RedisError` (the
API answers 503).
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
from connectors.redis.live_copy import LiveViewCopy
from connectors.redis.retry import Backoff, is_transient
from connectors.view_protocol import SkuSnapshot, ViewMeta

log = logging.getLogger(__name__)

META_FIELDS = [LAST_WRITE_AT, LAST_EVENT_AT, WRITES, COMPLETE_SINCE]

READ_SCRIPT = """
local read = {redis.call('HMGET', KEYS[1], unpack(ARGV)), redis.call('ZCARD', KEYS[2])}
for n = 3, #KEYS do read[n] = redis.call('HGETALL', KEYS[n]) end
return read
"""

Read = tuple[dict[str, SkuSnapshot], ViewMeta]
_Waiting = tuple[Sequence[str], "asyncio.Future[Read]"]


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
        copy: bool = True,
        confirm: bool = False,
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
        self._script = self._client.register_script(READ_SCRIPT)
        self._waiting: list[_Waiting] = []  # reads for the next pipeline
        self._reading: asyncio.Task[None] | None = None  # sends pipelines while reads wait
        # Answers the reads it can with no round trip (`connectors.redis.live_copy`).
        self._copy = LiveViewCopy(url, self.keys, META_FIELDS, view_meta) if copy else None
        # Strict: each read from the copy first waits for `caught_up` (a PING's round trip).
        self._confirm = confirm

    async def caught_up(self) -> bool:
        """True once the copy has applied every change Redis made before this call (a PING on
        its connection, shared by the calls waiting at once, has been answered); False when
        there is no copy or it lost its connection meanwhile."""
        return self._copy is not None and await self._copy.confirmed()

    async def aclose(self) -> None:
        if self._copy is not None:
            await self._copy.aclose()
        if self._reading is not None:
            await self._reading  # the reads already asked for get their answers
        await self._client.aclose()

    async def read_with_meta(self, skus: Sequence[str]) -> tuple[dict[str, SkuSnapshot], ViewMeta]:
        """The snapshots of those of `skus` the view holds, and the view's meta, read together
        (so the freshness reported is that of the figures read): from the copy when it holds
        them all, else in the next script call."""
        copy = self._copy
        if copy is not None and (held := copy.read(skus)) is not None:
            if not self._confirm:
                return held
            if await self.caught_up() and (held := copy.read(skus)) is not None:
                return held
        answer: asyncio.Future[Read] = asyncio.get_running_loop().create_future()
        self._waiting.append((skus, answer))
        if self._reading is None:
            self._reading = asyncio.create_task(self._read_while_waiting())
        return await answer

    async def _read_while_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._read_batch(batch)
        except BaseException:  # cancelled (the loop is stopping): so are the reads still waiting
            for _, answer in self._waiting:
                answer.cancel()
            self._waiting = []
            raise
        finally:
            self._reading = None

    async def _read_batch(self, batch: list[_Waiting]) -> None:
        """One pipeline for every read in `batch`; each gets its SKUs, or the pipeline's error."""
        wanted = list(dict.fromkeys(sku for skus, _ in batch for sku in skus))
        try:
            meta_fields, count, *hashes = await self._with_retries(wanted)
            meta = view_meta(meta_fields, int(count))
            held = {
                sku: snapshot_from_fields(sku, fields)
                for sku, fields in zip(wanted, hashes, strict=True)
                if fields
            }
        except BaseException as error:  # every read waiting gets it (a RedisError answers 503)
            for _, answer in batch:
                if answer.done():  # a read whose request was cancelled needs nothing
                    continue
                if isinstance(error, Exception):
                    answer.set_exception(error)
                else:  # the loop is stopping: so are the reads
                    answer.cancel()
            if not isinstance(error, Exception):
                raise
            return
        for skus, answer in batch:
            if not answer.done():
                answer.set_result(({sku: held[sku] for sku in skus if sku in held}, meta))

    async def _read_once(self, skus: list[str]) -> list[Any]:
        keys = [self.keys.meta, self.keys.skus, *(self.keys.sku(sku) for sku in skus)]
        meta_fields, count, *flat = await self._script(keys=keys, args=META_FIELDS)
        return [meta_fields, count, *(dict(zip(f[::2], f[1::2], strict=True)) for f in flat)]

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
