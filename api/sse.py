"""Server-sent events of ATP changes, read from the live view's change list.

Each change the view records (one per SKU whose ATP figures moved in a write) becomes

    id: <change id>
    event: atp
    data: {"sku": ..., "network": ..., "sites": {...}, "channels": {...}, "updated_at": ...}

A client resumes after a disconnect by sending the last id back as `Last-Event-ID`; without one
the stream starts at the newest change, and `after=0-0` replays everything the view retains.
Filtered by SKU, only those SKUs' changes are sent; filtered by site, `sites` holds that site alone
and a change is sent only when that site's figure moved (the first one seen for a SKU always
is). A comment line every `heartbeat` seconds keeps proxies from closing a quiet stream. The
stream ends after `limit` changes or `max_seconds`, whichever comes first.

If the view fails mid-stream, an `event: error` frame ends the stream (the client reconnects
with its last id). Reads block in a worker thread (`changes(..., block_ms=...)`) for at most a
second, so the loop notices a client gone, a heartbeat due or the end of the stream promptly.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from connectors.view_protocol import AtpChange, LiveView

log = logging.getLogger(__name__)

PAGE = 10_000
BLOCK_MS = 1000


@dataclass(frozen=True, slots=True)
class StreamRequest:
    after: str | None
    skus: frozenset[str]
    site: str | None
    limit: int | None
    max_seconds: float
    heartbeat: float


def latest_change_id(view: LiveView) -> str:
    """The id of the newest retained change ("0-0" when there is none).

    The view's contract has no "newest id" call, so this pages through what it retains.
    """
    after = "0-0"
    while True:
        page = view.changes(after, count=PAGE)
        if not page:
            return after
        after = page[-1].id
        if len(page) < PAGE:
            return after


def _frame(change: AtpChange, site: str | None) -> str:
    sites = dict(change.sites) if site is None else {site: change.sites.get(site, 0)}
    data = {
        "sku": change.sku,
        "network": change.network,
        "sites": sites,
        "channels": dict(change.channels),
        "updated_at": change.updated_at.isoformat(),
        "version": change.version,
    }
    return f"id: {change.id}\nevent: atp\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class _SiteFilter:
    """Passes a change when the site's figure differs from the last one sent for that SKU."""

    def __init__(self, site: str) -> None:
        self.site = site
        self._sent: dict[str, int] = {}

    def passes(self, change: AtpChange) -> bool:
        figure = change.sites.get(self.site, 0)
        if self._sent.get(change.sku) == figure:
            return False
        self._sent[change.sku] = figure
        return True


async def atp_stream(view: LiveView, request: StreamRequest) -> AsyncIterator[str]:
    """The stream's frames; `request.after` must be set (the route resolves "newest" first)."""
    after = request.after or "0-0"
    site_filter = None if request.site is None else _SiteFilter(request.site)
    began = last_beat = time.monotonic()
    sent = 0
    yield f": streaming ATP changes after {after}\n\n"
    while request.limit is None or sent < request.limit:
        now = time.monotonic()
        left = request.max_seconds - (now - began)
        if left <= 0:
            return
        if now - last_beat >= request.heartbeat:
            yield ": heartbeat\n\n"
            last_beat = now
        wait = min(left, request.heartbeat - (now - last_beat), BLOCK_MS / 1000)
        try:
            changes = await run_in_threadpool(view.changes, after, 100, max(1, int(wait * 1000)))
        except Exception as exc:  # the view went away mid-stream: say so, and end
            log.warning("ATP stream ends: the live view failed (%s: %s)", type(exc).__name__, exc)
            yield 'event: error\ndata: {"detail":"the live view did not answer; reconnect"}\n\n'
            return
        for change in changes:
            after = change.id
            if request.skus and change.sku not in request.skus:
                continue
            if site_filter is not None and not site_filter.passes(change):
                continue
            yield _frame(change, request.site)
            sent += 1
            if request.limit is not None and sent >= request.limit:
                return
