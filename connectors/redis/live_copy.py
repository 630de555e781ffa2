"""An in-process copy of the live view's SKU hashes and meta, kept current by Redis itself.

`GET /v1/atp/{sku}` is asked thousands of times a second and the view changes a few hundred
times a second at most, so most reads would fetch from Redis what the server already read. The
round trip is also what ties every read to a second process being scheduled: on two busy cores
that wait, not Redis's work, is most of the tail. This copy answers a read with no round trip,
kept current through Redis's own client-side caching protocol (`CLIENT TRACKING`, RESP3):

- One connection, RESP3, tracking on. Every key this connection reads (a SKU's hash, the meta,
  the SKU set) is remembered by Redis, and when any client changes it Redis pushes an
  invalidation on this same connection, in order with the replies. A FLUSHALL or FLUSHDB
  pushes a null invalidation (everything).
- Each read first takes in whatever Redis has already sent (`_receive`: one `recv`, which
  usually finds nothing), so a notice that reached this host before the read is applied
  before it. Redis queues the notice while it runs the write and sends it just after its
  reply to the writer: the copy is behind Redis by those few microseconds (a scheduler slice
  if Redis is preempted in between), as a read that reached Redis just before the write would
  be. `confirmed()` (the reader's `confirm=True`) waits for a PING instead, for reads that must
  follow every change made before them; it costs a round trip again.
- An invalidated SKU is dropped from the copy and read again at once (a background fetch on
  this connection); meanwhile its reads go to Redis (`AsyncLiveViewReader`'s script call).
- The meta is re-read at once too. Until the new meta arrives the copy keeps answering with the
  meta it has, which is older than the figures: the status never claims fresher than the
  figures (as `api.live` promises), it only says the view is older than it is. A SKU fetched
  after the meta was invalidated is not answered from the copy until the meta is current again,
  so every figure answered is at least as new as the status answered with it.
- A flush drops everything; so does a lost connection (Redis stopped or restarted), after
  which the copy connects again after `reconnect_after` seconds, starting empty. Meanwhile
  reads go to Redis: 503 while it is down, `stale` once it is back empty.

The copy holds at most `max_skus` SKUs (the oldest read is dropped first, and read again from
Redis when next asked for), so a server's memory does not grow with the catalog: Redis's own
tracking table is bounded the same way (`tracking-table-max-keys`), and a key it stops tracking
is invalidated, never left stale.

The copy answers only when it holds every SKU asked for and its meta; the caller falls back to
Redis otherwise (`read` gives None) and the copy fetches what was missing for the next read.
Replies and pushes are parsed by hiredis (`hiredis.PushNotification` tells a push from a reply).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import hiredis
from redis.asyncio.connection import parse_url

from connectors.redis.layout import Keys, snapshot_from_fields
from connectors.view_protocol import SkuSnapshot, ViewMeta

log = logging.getLogger(__name__)

Held = tuple[dict[str, SkuSnapshot], ViewMeta]
_Reply = Callable[[Any], None]
RECEIVE_BYTES = 1 << 16
MAX_SKUS = 100_000  # SKUs held at most; a few hundred bytes each
_ABSENT = None  # a SKU the view does not hold (its hash is empty): held as known-absent


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


class LiveViewCopy:
    """The copy; see the module docstring. Call `start()` on the loop that will read it."""

    def __init__(
        self,
        url: str,
        keys: Keys,
        meta_fields: Sequence[str],
        view_meta: Callable[[Sequence[str | None], int], ViewMeta],
        *,
        reconnect_after: float = 0.5,
        max_skus: int = MAX_SKUS,
    ) -> None:
        self.keys = keys
        self._max_skus = max_skus
        self._address = parse_url(url)
        self._meta_fields = list(meta_fields)
        self._view_meta = view_meta
        self._reconnect_after = reconnect_after
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket: socket.socket | None = None
        self._outgoing = bytearray()  # commands not yet taken by the socket
        self._pinged: asyncio.Future[bool] | None = None  # the PING in flight
        self._next_ping: asyncio.Future[bool] | None = None  # the next one, not sent yet
        self._reader = hiredis.Reader(notEnoughData=False)
        self._replies: deque[_Reply] = deque()  # what to do with each reply, in order
        self._connecting: asyncio.Task[None] | None = None
        self._closed = False
        self._reset()

    def _reset(self) -> None:
        """A new connection: nothing held, nothing in flight."""
        for waiting in (self._pinged, self._next_ping):
            if waiting is not None and not waiting.done():
                waiting.set_result(False)  # not confirmed: those reads go to Redis
        self._pinged = self._next_ping = None
        self._live = False  # connected, tracking on, and not lost since
        self._fetching: set[str] = set()
        self._meta_fields_read: list[str | None] | None = None
        self._meta_fetching = False
        self._generation = 0  # +1 at every invalidation of the meta or the SKU set
        self._forget()

    def _forget(self) -> None:
        """Drop every figure and the meta (what is in flight still lands: it was read later)."""
        self._held: dict[str, SkuSnapshot | None] = {}  # SKU -> snapshot, or _ABSENT
        self._fetched_at: dict[str, int] = {}  # SKU -> the generation when it arrived
        self._meta: ViewMeta | None = None
        self._generation += 1
        self._meta_generation = -1  # the generation the meta held was asked for in

    # ---- reading ------------------------------------------------------------------------

    def read(self, skus: Sequence[str]) -> Held | None:
        """Every one of `skus` the view holds and the meta, from the copy; None when the copy
        cannot answer (not connected, meta not read yet, a SKU not held): then read Redis.

        It first takes in whatever Redis has already sent (`_receive`, one `recv` that usually
        finds nothing), so an invalidation that reached this host before the read is applied
        before it, not on the loop's next turn."""
        if not self._live:
            self.start()
            return None
        self._receive()
        meta = self._meta
        if not self._live or meta is None:
            return None
        held, fetched_at, current = self._held, self._fetched_at, self._meta_generation
        found: dict[str, SkuSnapshot] = {}
        for sku in skus:
            if sku not in held:
                self._fetch([code for code in skus if code not in held])
                return None
            if fetched_at[sku] > current:  # newer than the meta: wait for the meta
                return None
            snapshot = held[sku]
            if snapshot is not None:
                found[sku] = snapshot
        return found, meta

    def start(self) -> None:
        """Connect in the background (once at a time) unless closed or connected."""
        if self._closed or self._connecting is not None or self._socket is not None:
            return
        self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def confirmed(self) -> bool:
        """True once Redis has answered a PING sent after this call: every invalidation Redis
        queued for this copy before it (a write, a flush) has then been applied, so what the
        copy holds is at least as new as the moment of the call. False if the connection was
        lost meanwhile. Calls waiting at once share one PING; one PING is in flight at a time."""
        if self._socket is None:
            return False
        waiting = self._next_ping
        if waiting is None:
            waiting = self._next_ping = asyncio.get_running_loop().create_future()
            if self._pinged is None:
                self._ping()
        return await waiting

    def _ping(self) -> None:
        self._pinged, self._next_ping = self._next_ping, None
        self._send(["PING"], self._ponged)

    def _ponged(self, reply: Any) -> None:
        pinged, self._pinged = self._pinged, None
        if pinged is not None and not pinged.done():
            pinged.set_result(not isinstance(reply, Exception))
        if self._next_ping is not None:
            self._ping()

    async def _connect(self) -> None:
        address = self._address
        try:
            if "path" in address or address.get("connection_class") is not None:
                return  # a Unix socket or TLS: not supported here; reads go to Redis
            loop = asyncio.get_running_loop()
            host, port = address.get("host", "localhost"), address.get("port", 6379)
            family, kind, proto, _, where = (await loop.getaddrinfo(host, port))[0]
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, where)
            except BaseException:
                sock.close()
                raise
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connected(loop, sock)
        except Exception as error:  # whatever it is, the reads go to Redis: never fail them
            log.warning("live view copy: cannot connect (%r); reading Redis meanwhile", error)
            await asyncio.sleep(self._reconnect_after)
        finally:
            self._connecting = None

    async def aclose(self) -> None:
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        self._disconnect()

    # ---- the connection -----------------------------------------------------------------

    def _connected(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self._loop, self._socket = loop, sock
        self._reset()
        self._reader = hiredis.Reader(notEnoughData=False)
        self._replies.clear()
        self._outgoing = bytearray()
        loop.add_reader(sock.fileno(), self._receive)
        address = self._address
        hello: list[Any] = ["HELLO", 3]
        if address.get("password") is not None:
            hello += ["AUTH", address.get("username") or "default", address["password"]]
        self._send(hello, self._expect_ok)
        if address.get("db"):
            self._send(["SELECT", address["db"]], self._expect_ok)
        self._send(["CLIENT", "SETNAME", f"skuflow-live-view-copy:{self.keys.prefix}"], _ignore)
        self._send(["CLIENT", "TRACKING", "ON"], self._tracking_on)

    def _disconnect(self) -> None:
        sock, self._socket = self._socket, None
        self._reset()
        self._replies.clear()
        if sock is None or self._loop is None:
            return
        self._loop.remove_reader(sock.fileno())
        self._loop.remove_writer(sock.fileno())
        sock.close()

    def _lost(self, why: object) -> None:
        if self._socket is None:
            return
        if not self._closed:
            log.warning("live view copy: connection lost (%s); reading Redis meanwhile", why)
        self._disconnect()
        if not self._closed and self._loop is not None:
            self._loop.call_later(self._reconnect_after, self.start)

    def _receive(self) -> None:
        """Take in and apply everything Redis has sent so far (never waits)."""
        sock = self._socket
        while sock is not None and sock is self._socket:
            try:
                data = sock.recv(RECEIVE_BYTES)
            except BlockingIOError:
                return
            except OSError as error:
                self._lost(error)
                return
            if not data:
                self._lost("closed by Redis")
                return
            self._reader.feed(data)
            while (reply := self._reader.gets()) is not False:
                if isinstance(reply, hiredis.PushNotification):
                    self._pushed(reply)
                elif self._replies:
                    self._replies.popleft()(reply)
            if len(data) < RECEIVE_BYTES:
                return

    def _send(self, command: list[Any], on_reply: _Reply) -> None:
        if self._socket is None:
            return
        self._replies.append(on_reply)
        pending = not self._outgoing
        self._outgoing += hiredis.pack_command(tuple(command))
        if pending:
            self._flush()

    def _flush(self) -> None:
        sock, loop = self._socket, self._loop
        if sock is None or loop is None:
            return
        try:
            sent = sock.send(self._outgoing)
        except BlockingIOError:
            sent = 0
        except OSError as error:
            self._lost(error)
            return
        del self._outgoing[:sent]
        if self._outgoing:
            loop.add_writer(sock.fileno(), self._flush)
        else:
            loop.remove_writer(sock.fileno())

    def _expect_ok(self, reply: Any) -> None:
        if isinstance(reply, Exception):
            self._give_up(f"Redis refused the copy's connection ({reply})")

    def _tracking_on(self, reply: Any) -> None:
        if isinstance(reply, Exception):
            self._give_up(f"Redis refused CLIENT TRACKING ({reply})")
            return
        self._live = True
        self._fetch_meta()

    def _lose(self, why: str) -> None:
        self._lost(why)

    def _give_up(self, why: str) -> None:
        """This Redis cannot keep a copy current (older than 6, or not allowed): stop trying."""
        log.warning("live view copy: %s; every read goes to Redis", why)
        self._closed = True
        self._disconnect()

    # ---- invalidations and fetches ------------------------------------------------------

    def _pushed(self, push: Any) -> None:
        if len(push) < 2 or push[0] != b"invalidate":
            return
        keys = push[1]
        if keys is None:  # FLUSHALL / FLUSHDB: everything this connection read is gone
            log.warning("live view copy: Redis was flushed; reading Redis until read again")
            self._forget()
            self._fetch_meta()
            return
        prefix = f"{self.keys.prefix}:sku:".encode()
        meta, skus = self.keys.meta.encode(), self.keys.skus.encode()
        refetch = []
        for key in keys:
            if key in (meta, skus):
                self._generation += 1
                self._fetch_meta()
            elif key.startswith(prefix):
                sku = key[len(prefix) :].decode()
                if sku in self._held:
                    del self._held[sku], self._fetched_at[sku]
                    refetch.append(sku)
        if refetch:
            self._fetch(refetch)

    def _fetch_meta(self) -> None:
        """Read the meta and the SKU count again (one at a time; one more if invalidated while
        in flight, since the generation moved)."""
        if self._meta_fetching:
            return
        self._meta_fetching = True
        generation = self._generation
        self._send(["HMGET", self.keys.meta, *self._meta_fields], self._got_meta_fields)
        self._send(["ZCARD", self.keys.skus], lambda reply: self._got_meta(reply, generation))

    def _got_meta_fields(self, reply: Any) -> None:
        self._meta_fields_read = None if isinstance(reply, Exception) else [_text(v) for v in reply]

    def _got_meta(self, reply: Any, generation: int) -> None:
        self._meta_fetching = False
        fields = self._meta_fields_read
        if isinstance(reply, Exception) or fields is None:
            self._lose(f"reading the meta failed: {reply}")
            return
        self._meta = self._view_meta(fields, int(reply))
        self._meta_generation = generation
        if generation != self._generation:  # invalidated again while in flight
            self._fetch_meta()

    def _fetch(self, skus: Sequence[str]) -> None:
        for sku in skus:
            if sku in self._fetching:
                continue
            self._fetching.add(sku)
            self._send(["HGETALL", self.keys.sku(sku)], functools.partial(self._got_sku, sku))

    def _got_sku(self, sku: str, reply: Any) -> None:
        self._fetching.discard(sku)
        if isinstance(reply, Exception):
            self._lose(f"reading {sku} failed: {reply}")
            return
        fields = {name.decode(): value.decode() for name, value in reply.items()}
        held = self._held
        if sku not in held and len(held) >= self._max_skus:
            oldest = next(iter(held))  # dicts keep insertion order: the longest held
            del held[oldest], self._fetched_at[oldest]
        held[sku] = snapshot_from_fields(sku, fields) if fields else _ABSENT
        self._fetched_at[sku] = self._generation  # answered once the meta is this recent


def _ignore(reply: Any) -> None:
    del reply
