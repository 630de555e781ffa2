"""The live view in Redis: what the dataflow's sink writes and the API reads (issue #4).

Layout, under a prefix (default "skuflow"):

- `{prefix}:sku:{sku}`, a hash per SKU, absolute values only:
  `positions`      compact JSON, one row per bin and lot with stock on hand:
                   [[location, lot, available, allocated, on_hold, damaged, quarantined], ...]
  `in_transit`, `on_order`   base units
  `atp:network`, `atp:site:<SITE>`, `atp:channel:<CHANNEL>`   ATP in base units
  `as_of` (ISO date of the ATP), `updated_at` (ISO time of the last event applied),
  `last_event_id`, `version` (the SKU's `SkuStock.version`: a write never replaces a hash of
  a higher version, so the view never goes back in time, not even when a resumed run writes
  again what the crashed one had already replaced)
- `{prefix}:skus`, a sorted set of every SKU written (all scores 0, so it pages in name order
  with ZRANGE BYLEX).
- `{prefix}:changes`, a stream with one entry per SKU whose ATP figures changed in a write:
  `sku`, `network`, `sites` and `channels` (compact JSON objects), `updated_at`, `version`.
  Trimmed to about `max_changes` entries (XADD MAXLEN ~).
- `{prefix}:meta`, a hash: `last_write_at` (wall-clock epoch seconds of the last write),
  `last_event_at` (the newest `updated_at` written, UTC ISO; it never moves back, even when a
  batch is replayed or another worker writes older events), `writes` (non-empty batches).

A write is ONE pipeline: a MULTI/EXEC transaction by default, so a reader never sees part of a
batch and the meta moves with the data. In it, one `WRITE_SKUS` Lua script call per 500 SKUs
compares each SKU's stored ATP fields and field count with the new ones, XADDs a change notice
when they differ, DELs the hash when its set of fields changed (a site or channel disappeared,
so no stale field survives), HSETs every field and ZADDs the SKU; then one `RECORD_WRITE` call
updates the meta. A script runs
atomically, so even without the transaction no reader ever sees half of a SKU's hash.
Comparing with what is stored (not with what this process remembers) keeps notices right after
a restart, a rebuild, or a retry of a write whose reply was lost: a notice is added exactly
when the stored ATP changes, and replaying a batch rewrites the same values and adds none. The
script touches only the keys it is given, but a batch spans many hash slots: this is for a
single Redis, not Redis Cluster.

The scripts go into the pipeline as `EVALSHA` with their SHA-1 worked out once, not as
redis-py `Script`s: a `Script` called on a pipeline makes `execute()` first send `SCRIPT EXISTS`
and wait for its answer, a second round trip for every write (about 10% of the fold worker's
time in `skuflow bench allocation`; a one-SKU write 225 → 151 µs). A Redis that does not know a
script (restarted, `SCRIPT FLUSH`ed, failed over) answers each call of it `NOSCRIPT`, and EXEC
still runs the other commands of the transaction: that is why the meta too is written by a
script, so a write holds nothing but script calls and, when they all fail, nothing has changed.
The write then loads the scripts and sends again, in one pipeline of the same kind, only the
calls that failed (a call that ran is not repeated, so `writes` counts the batch once).

Transient errors (connection lost, timeout, LOADING, BUSY) are retried with backoff and
logged (`connectors.redis.retry`). Nothing connects at import or construction: the first call
does, with redis-py's own retries off so that one policy, logged, applies.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis
from bytewax.outputs import DynamicSink
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.exceptions import NoScriptError, ResponseError
from redis.retry import Retry

from connectors.background import BackgroundWriter
from connectors.redis.layout import (
    COMPLETE_SINCE,
    LAST_EVENT_AT,
    LAST_WRITE_AT,
    WRITES,
    Keys,
    change_from_entry,
    encode,
    snapshot_from_fields,
    utc_text,
)
from connectors.redis.live_reader import META_FIELDS, AsyncLiveViewReader, view_meta
from connectors.redis.retry import Backoff, with_retries
from connectors.view_protocol import (
    DEFAULT_MAX_CHANGES,
    AtpChange,
    LiveViewPartition,
    SkuSnapshot,
    ViewMeta,
    latest_views,
)
from state.views import SkuView

CHUNK = 500  # SKUs per script call: each call blocks Redis for a few milliseconds at most

# KEYS: [1] the SKU set, [2] the changes stream, [3...] one SKU hash per document in ARGV.
# ARGV: [1] the stream's MAXLEN, [2...] one `layout.Encoded.document()` per SKU:
#       [sku, [field, value, ...], [stream field, value, ...], version]; ATP fields are named
#       "atp:...". A SKU whose stored hash has a higher `version` is left as it is.
# Returns {change notices added, views left alone because the stored one is newer}.
WRITE_SKUS = """
local added, older = 0, 0
for i = 3, #KEYS do
  local sku, fields, change, version = unpack(cjson.decode(ARGV[i - 1]))
  local key = KEYS[i]
  local names, values = {}, {}
  for j = 1, #fields, 2 do
    if string.sub(fields[j], 1, 4) == 'atp:' then
      names[#names + 1] = fields[j]
      values[#values + 1] = fields[j + 1]
    end
  end
  local stored = redis.call('HMGET', key, 'version', unpack(names))
  if stored[1] and tonumber(stored[1]) > version then
    older = older + 1
  else
    local length = redis.call('HLEN', key)
    local same_fields = length == #fields / 2
    local changed = not same_fields
    for j = 1, #names do
      if stored[j + 1] ~= values[j] then
        changed = true
        if not stored[j + 1] then same_fields = false end
      end
    end
    if changed then
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', unpack(change))
      added = added + 1
    end
    if length > 0 and not same_fields then redis.call('DEL', key) end
    redis.call('HSET', key, unpack(fields))
    redis.call('ZADD', KEYS[1], 0, sku)
  end
end
return {added, older}
"""

# Records a write in the meta hash KEYS[1]. ARGV: [1] the `last_event_at` field, [2] the newest
# event time written (raised to it unless the field holds a later, string-greater, time),
# [3] the `last_write_at` field, [4] the wall-clock time to set, [5] the `writes` field (+1).
RECORD_WRITE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or current < ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[1], ARGV[5], 1)
return 0
"""


# Worked out once: EVALSHA needs only the SHA-1 of the script's text (see the module docstring).
SHA = {
    script: hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
    for script in (WRITE_SKUS, RECORD_WRITE)
}


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """One call of one of this module's scripts, kept so that it can be sent again on NOSCRIPT."""

    script: str
    keys: list[str]
    args: list[str | int]

    def queue(self, pipe: Pipeline) -> None:
        pipe.evalsha(SHA[self.script], len(self.keys), *self.keys, *self.args)


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RedisLiveView:
    """The `LiveView` contract on Redis; see the module docstring for the layout."""

    def __init__(
        self,
        url: str,
        prefix: str = "skuflow",
        *,
        transaction: bool = True,
        max_changes: int = DEFAULT_MAX_CHANGES,
        backoff: Backoff | None = None,
        socket_timeout: float | None = 10.0,
    ) -> None:
        self.keys = Keys(prefix)
        self.client_name = f"skuflow-live-view:{prefix}"
        self._url = url
        self._transaction = transaction
        self._max_changes = max_changes
        self._backoff = backoff or Backoff()
        self._socket_timeout = socket_timeout
        self._lock = threading.Lock()
        self._clients: dict[str, redis.Redis] = {}

    def _client(self, kind: str = "main") -> redis.Redis:
        """The client, made on first use; "blocking" has no socket timeout (for XREAD BLOCK)."""
        with self._lock:
            if kind not in self._clients:
                self._clients[kind] = redis.Redis.from_url(
                    self._url,
                    decode_responses=True,
                    client_name=self.client_name,
                    socket_timeout=None if kind == "blocking" else self._socket_timeout,
                    socket_connect_timeout=5.0,
                    retry=Retry(NoBackoff(), 0),
                )
            return self._clients[kind]

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    # ---- write ---------------------------------------------------------------------------

    def write(self, views: Sequence[SkuView]) -> None:
        latest = latest_views(views)
        if not latest:
            return
        documents = [encode(view).document() for view in latest]  # once, outside retries
        keys = [self.keys.sku(view.sku) for view in latest]
        newest = utc_text(max(view.updated_at for view in latest))
        with_retries("write", lambda: self._write_once(keys, documents, newest), self._backoff)

    def _write_once(self, keys: list[str], documents: list[str], newest_event: str) -> None:
        client = self._client()
        calls = [
            ScriptCall(
                WRITE_SKUS,
                [self.keys.skus, self.keys.changes, *chunk_keys],
                [self._max_changes, *chunk_documents],
            )
            for chunk_keys, chunk_documents in zip(_chunks(keys), _chunks(documents), strict=True)
        ]
        calls.append(
            ScriptCall(
                RECORD_WRITE,
                [self.keys.meta],
                [LAST_EVENT_AT, newest_event, LAST_WRITE_AT, f"{time.time():.6f}", WRITES],
            )
        )
        pipe = client.pipeline(transaction=self._transaction)
        for call in calls:
            call.queue(pipe)
        # Errors come back as replies (in MULTI/EXEC too) so that NOSCRIPT can be told apart.
        replies = pipe.execute(raise_on_error=False)
        for reply in replies:
            if isinstance(reply, ResponseError) and not isinstance(reply, NoScriptError):
                raise reply  # BUSY is retried by `with_retries`; anything else is a bug
        unknown = [
            call
            for call, reply in zip(calls, replies, strict=True)
            if isinstance(reply, NoScriptError)
        ]
        if unknown:
            self._load_and_call_again(client, unknown)

    def _load_and_call_again(self, client: redis.Redis, calls: list[ScriptCall]) -> None:
        """Redis lost its script cache: load the scripts, then send the calls that failed.

        A NOSCRIPT here again (flushed once more in between) raises, and `with_retries` runs
        the whole write again.
        """
        for script in dict.fromkeys(call.script for call in calls):
            client.script_load(script)
        pipe = client.pipeline(transaction=self._transaction)
        for call in calls:
            call.queue(pipe)
        pipe.execute()

    # ---- read ----------------------------------------------------------------------------

    def read(self, sku: str) -> SkuSnapshot | None:
        fields = with_retries(
            "read", lambda: self._client().hgetall(self.keys.sku(sku)), self._backoff
        )
        # The client decodes responses, so every field and value is a str.
        return snapshot_from_fields(sku, cast(dict[str, str], fields)) if fields else None

    def read_many(self, skus: Iterable[str]) -> dict[str, SkuSnapshot]:
        wanted = list(dict.fromkeys(skus))
        replies = with_retries("read_many", lambda: self._hgetall_many(wanted), self._backoff)
        return {
            sku: snapshot_from_fields(sku, fields)
            for sku, fields in zip(wanted, replies, strict=True)
            if fields
        }

    def skus(self) -> list[str]:
        """Every SKU the view holds, in name order."""
        members = with_retries(
            "skus", lambda: self._client().zrange(self.keys.skus, 0, -1), self._backoff
        )
        return [str(member) for member in cast(list[str], members)]

    def _hgetall_many(self, skus: list[str]) -> list[dict[str, str]]:
        pipe = self._client().pipeline(transaction=False)
        for sku in skus:
            pipe.hgetall(self.keys.sku(sku))
        return pipe.execute()

    def changes(
        self, after_id: str | None = None, count: int = 100, block_ms: int | None = None
    ) -> list[AtpChange]:
        client = self._client("main" if block_ms is None else "blocking")
        streams: dict[Any, Any] = {self.keys.changes: after_id or "0-0"}
        replies = with_retries(
            "changes", lambda: client.xread(streams, count=count, block=block_ms), self._backoff
        )
        entries_by_stream = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], replies or [])
        return [
            change_from_entry(entry_id, fields)
            for _stream, entries in entries_by_stream
            for entry_id, fields in entries
        ]

    def meta(self) -> ViewMeta:
        meta_fields, skus = with_retries("meta", self._meta_once, self._backoff)
        return view_meta(meta_fields, skus)

    def async_reader(self) -> AsyncLiveViewReader:
        """A reader of this view for an event loop (the API's hot route); the caller closes it."""
        return AsyncLiveViewReader(
            self._url, self.keys.prefix, backoff=self._backoff, socket_timeout=self._socket_timeout
        )

    def mark_complete(self) -> None:
        """Record that the view holds every SKU the ledger does (a flush or restart loses it)."""
        with_retries(
            "mark_complete",
            lambda: self._client().hset(self.keys.meta, COMPLETE_SINCE, f"{time.time():.6f}"),
            self._backoff,
        )

    def _meta_once(self) -> list[Any]:
        pipe = self._client().pipeline(transaction=False)
        pipe.hmget(self.keys.meta, META_FIELDS)
        pipe.zcard(self.keys.skus)
        return pipe.execute()

    # ---- clear ---------------------------------------------------------------------------

    def clear(self) -> None:
        """Removes the live view under this prefix (and nothing else stored under the prefix)."""
        with_retries("clear", self._clear_once, self._backoff)

    def _clear_once(self) -> None:
        client = self._client()
        found = list(client.scan_iter(match=self.keys.sku_pattern, count=CHUNK))
        for chunk in _chunks(found):
            client.unlink(*chunk)
        client.unlink(self.keys.skus, self.keys.changes, self.keys.meta)


class RedisLiveViewSink(DynamicSink[SkuView]):
    """A Bytewax sink: each worker writes its batches through its own `RedisLiveView`."""

    def __init__(self, url: str, prefix: str = "skuflow", *, transaction: bool = True) -> None:
        self.url = url
        self.prefix = prefix
        self.transaction = transaction

    def build(self, step_id: str, worker_index: int, worker_count: int) -> LiveViewPartition:
        view = RedisLiveView(self.url, self.prefix, transaction=self.transaction)
        return BackgroundLiveViewPartition(view, on_close=view.close)


class BackgroundLiveViewPartition(LiveViewPartition):
    """Under a `DurableSink` (`dataflows.durable`): each batch written by a thread of its own, in
    order, so the fold's worker goes on to its next batch while Redis answers (the round trip
    was 5-30 ms a batch on a loaded 2-core machine, a fifth of the worker's time at 2,000
    events/s); batches queued meanwhile are written as one (views are absolute: the newest of
    each SKU). At an epoch's end the views not yet written are *carried* in the snapshot
    (`CarriedPerEpoch`), not waited for: a resumed run writes them first, then the replay
    writes whatever followed them again, as it always has. Alone, `write_batch` writes at once.
    """

    def __init__(self, view: RedisLiveView, on_close: Callable[[], None] | None = None) -> None:
        super().__init__(view, on_close)
        self._background = BackgroundWriter(view.write, "view-writer")
        self.carries = True  # read by `dataflows.durable`

    def write_batch(self, items: list[SkuView]) -> None:
        self._background.confirm()  # batches sent earlier first
        super().write_batch(items)

    def send(self, items: list[SkuView]) -> None:
        self._background.send(items)

    def confirm(self) -> None:
        self._background.confirm()

    def carry(self) -> list[SkuView]:
        return self._background.unwritten()

    def resend(self, items: list[SkuView]) -> None:
        self.send(items)

    def close(self) -> None:
        try:
            self._background.close()
        finally:
            super().close()
