"""The live view's contract: what the dataflow writes and what the API reads, whatever holds it.

Two implementations keep the same behaviour (a shared contract test runs against both):
`connectors.redis.live_view.RedisLiveView` in production and `connectors.memory_view.
MemoryLiveView` for the embedded demo and tests.

- `write(views)` stores each SKU's latest `SkuView` as absolute values (a replayed batch can never
  double a number), keeps only the last view of a SKU within a batch, and appends one `AtpChange`
  per SKU whose ATP figures (network, sites, channels) differ from what was stored.
- `read` / `read_many` return `SkuSnapshot`s: the view as the API serves it.
- `changes(after_id, count, block_ms)` lists ATP changes in write order; pass the last id seen to
  resume. `block_ms=None` returns at once, a positive value waits up to that long for a first
  change, 0 waits without limit (as `XREAD BLOCK 0`).
- `meta()` reports the last write (wall clock), the newest event time written, the SKU count and
  the number of non-empty batches written.

Everything here is a plain value, so one Bytewax partition (`LiveViewPartition`) serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bytewax.outputs import StatelessSinkPartition

from state.values import quick_init
from state.views import PositionView, SkuView

DEFAULT_MAX_CHANGES = 100_000


@quick_init
@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """On-hand buckets of one SKU at one bin and lot (lot "" when the SKU has no lots)."""

    location: str
    lot: str
    available: int
    allocated: int
    on_hold: int
    damaged: int
    quarantined: int

    @property
    def on_hand(self) -> int:
        return self.available + self.allocated + self.on_hold + self.damaged + self.quarantined


@quick_init
@dataclass(frozen=True, slots=True)
class SkuSnapshot:
    """One SKU as the live view holds it; `updated_at` is the time of the last event applied."""

    sku: str
    as_of: date
    updated_at: datetime
    last_event_id: str
    positions: tuple[PositionSnapshot, ...]
    in_transit: int
    on_order: int
    atp_network: int
    atp_sites: Mapping[str, int]
    atp_channels: Mapping[str, int]
    version: int = 0  # `SkuView.version`: a store keeps the higher of two (0: written before it)

    def atp_key(self) -> tuple[int, tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
        """The ATP figures as one comparable value: a change notice is due when it changes."""
        return self.atp_network, tuple(self.atp_sites.items()), tuple(self.atp_channels.items())


@quick_init
@dataclass(frozen=True, slots=True)
class AtpChange:
    """A SKU's ATP figures after a write that changed them; `id` orders changes ("<ms>-<seq>")."""

    id: str
    sku: str
    network: int
    sites: Mapping[str, int]
    channels: Mapping[str, int]
    updated_at: datetime
    version: int = 0  # the SKU's `SkuView.version` (0: a notice written before versions)


@dataclass(frozen=True, slots=True)
class ViewMeta:
    """When the view was last written (wall clock) and how fresh its data is (event time)."""

    last_write_at: datetime | None
    last_event_at: datetime | None
    skus: int
    writes: int
    # False when the view may be missing SKUs it should hold (Redis flushed or restarted empty)
    # until `skuflow rebuild-view` (or `skuflow run` at start) has refilled it from the ledger.
    complete: bool = True


class LiveView(Protocol):
    def write(self, views: Sequence[SkuView]) -> None: ...

    def read(self, sku: str) -> SkuSnapshot | None: ...

    def read_many(self, skus: Iterable[str]) -> dict[str, SkuSnapshot]: ...

    def skus(self) -> list[str]: ...

    def changes(
        self, after_id: str | None = None, count: int = 100, block_ms: int | None = None
    ) -> list[AtpChange]: ...

    def meta(self) -> ViewMeta: ...

    def mark_complete(self) -> None: ...

    def clear(self) -> None: ...


def stocked_positions(view: SkuView) -> list[PositionView]:
    """The view's positions with something on hand: an emptied bin leaves the live view."""
    return [p for p in view.positions if p.quantities.on_hand]


def snapshot_of(view: SkuView) -> SkuSnapshot:
    """The read-side value of a view."""
    positions = tuple(
        PositionSnapshot(
            p.location,
            p.lot,
            p.quantities.available,
            p.quantities.allocated,
            p.quantities.on_hold,
            p.quantities.damaged,
            p.quantities.quarantined,
        )
        for p in stocked_positions(view)
    )
    return SkuSnapshot(
        sku=view.sku,
        as_of=view.as_of,
        updated_at=view.updated_at,
        last_event_id=view.last_event_id,
        positions=positions,
        in_transit=view.in_transit,
        on_order=view.on_order,
        atp_network=view.atp.network,
        atp_sites=dict(sorted(view.atp.sites.items())),
        atp_channels=dict(sorted(view.atp.channels.items())),
        version=view.version,
    )


def latest_views(views: Iterable[SkuView]) -> list[SkuView]:
    """The last view of each SKU, ordered by where that last view stood in the batch."""
    last: dict[str, SkuView] = {}
    for view in views:
        last.pop(view.sku, None)  # re-inserting moves the SKU to where its latest view stands
        last[view.sku] = view
    return list(last.values())


class LiveViewPartition(StatelessSinkPartition[SkuView]):
    """Writes each Bytewax batch with one `LiveView.write` (at-least-once: writes are absolute)."""

    def __init__(self, view: LiveView, on_close: Callable[[], None] | None = None) -> None:
        self._view = view
        self._on_close = on_close

    def write_batch(self, items: list[SkuView]) -> None:
        self._view.write(items)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
