"""The live view in process memory: the embedded demo's stand-in for Redis, and a test double.

`MemoryLiveView` keeps the `connectors.view_protocol.LiveView` contract exactly as
`RedisLiveView` does (the contract tests run against both): absolute values per SKU, the last
view of a SKU in a batch wins, one change notice per SKU whose ATP changed, ids "<n>-0" in write
order, and at most `max_changes` notices kept (older ones drop off, as with `XADD MAXLEN`). It is
thread-safe: one lock guards everything, and readers blocked in `changes` wake on each write.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import islice

from bytewax.outputs import DynamicSink

from connectors.view_protocol import (
    DEFAULT_MAX_CHANGES,
    AtpChange,
    LiveViewPartition,
    SkuSnapshot,
    ViewMeta,
    latest_views,
    snapshot_of,
)
from state.views import SkuView


def sequence_of(change_id: str | None) -> int:
    """The n of an id "<n>-0" (None reads from the start)."""
    return 0 if change_id is None else int(change_id.split("-", 1)[0])


def _change(seq: int, snapshot: SkuSnapshot) -> AtpChange:
    return AtpChange(
        id=f"{seq}-0",
        sku=snapshot.sku,
        network=snapshot.atp_network,
        sites=snapshot.atp_sites,
        channels=snapshot.atp_channels,
        updated_at=snapshot.updated_at,
        version=snapshot.version,
    )


class MemoryLiveView:
    """The live view as dictionaries behind a lock; `clock` gives wall-clock epoch seconds."""

    def __init__(
        self, *, max_changes: int = DEFAULT_MAX_CHANGES, clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self._skus: dict[str, SkuSnapshot] = {}
        self._changes: deque[AtpChange] = deque(maxlen=max_changes)
        self._last_seq = 0  # never reset, so a reader's after_id stays valid across `clear`
        self._last_write_at: float | None = None
        self._last_event_at: datetime | None = None
        self._writes = 0
        self._complete = True  # an in-process view starts with its engine: nothing to miss

    def write(self, views: Sequence[SkuView]) -> None:
        snapshots = [snapshot_of(view) for view in latest_views(views)]
        if not snapshots:
            return
        with self._changed:
            for snapshot in snapshots:
                self._store(snapshot)
            newest = max(s.updated_at for s in snapshots).astimezone(UTC)
            if self._last_event_at is None or newest > self._last_event_at:
                self._last_event_at = newest
            self._last_write_at = self._clock()
            self._writes += 1
            self._changed.notify_all()

    def _store(self, snapshot: SkuSnapshot) -> None:
        before = self._skus.get(snapshot.sku)
        if before is not None and before.version > snapshot.version:
            return  # a newer view of the SKU is held: this one is older (see `SkuView.version`)
        self._skus[snapshot.sku] = snapshot
        if before is None or before.atp_key() != snapshot.atp_key():
            self._last_seq += 1
            self._changes.append(_change(self._last_seq, snapshot))

    def read(self, sku: str) -> SkuSnapshot | None:
        with self._changed:
            return self._skus.get(sku)

    def read_many(self, skus: Iterable[str]) -> dict[str, SkuSnapshot]:
        with self._changed:
            return {sku: self._skus[sku] for sku in dict.fromkeys(skus) if sku in self._skus}

    def skus(self) -> list[str]:
        with self._changed:
            return sorted(self._skus)

    def changes(
        self, after_id: str | None = None, count: int = 100, block_ms: int | None = None
    ) -> list[AtpChange]:
        after = sequence_of(after_id)
        with self._changed:
            if block_ms is not None and self._last_seq <= after:
                timeout = None if block_ms == 0 else block_ms / 1000
                self._changed.wait_for(lambda: self._last_seq > after, timeout)
            return self._after(after, count)

    def _after(self, after: int, count: int) -> list[AtpChange]:
        """Ids are consecutive within the deque, so the first one after `after` is at an index."""
        oldest = self._last_seq - len(self._changes) + 1
        start = max(0, after - oldest + 1)
        return list(islice(self._changes, start, start + count))

    def meta(self) -> ViewMeta:
        with self._changed:
            written = self._last_write_at
            return ViewMeta(
                last_write_at=None if written is None else datetime.fromtimestamp(written, UTC),
                last_event_at=self._last_event_at,
                skus=len(self._skus),
                writes=self._writes,
                complete=self._complete,
            )

    def mark_complete(self) -> None:
        with self._changed:
            self._complete = True

    def clear(self) -> None:
        with self._changed:
            self._skus.clear()
            self._changes.clear()
            self._last_write_at = None
            self._last_event_at = None
            self._writes = 0
            self._complete = False


class MemoryLiveViewSink(DynamicSink[SkuView]):
    """A Bytewax sink writing into one shared `MemoryLiveView` (every worker is in this process)."""

    def __init__(self, view: MemoryLiveView) -> None:
        self.view = view

    def build(self, step_id: str, worker_index: int, worker_count: int) -> LiveViewPartition:
        return LiveViewPartition(self.view)
