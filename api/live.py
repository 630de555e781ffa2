"""The live view as the API serves it: ATP (kits included), positions, and the view's freshness.

Every figure comes from the view the dataflow writes; nothing is recomputed from stock here
except a kit's ATP, which the core defines from its components' figures (`state.atp.kit_atp`).
A SKU the catalog knows but the view has never held reads as zeros at every site and channel.

The ATP routes read through `read_with_meta`: with the Redis view, one pipelined round trip on
the event loop (the figures and the view's freshness together); with any other view, its
blocking calls in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from starlette.concurrency import run_in_threadpool

from api.schemas import AtpPublic, PositionPublic, StockPublic, ViewStatus
from connectors.view_protocol import LiveView, SkuSnapshot, ViewMeta
from state.atp import kit_atp
from state.catalog import Catalog, Sku


def view_status(meta: ViewMeta, now: datetime) -> ViewStatus:
    written, newest = meta.last_write_at, meta.last_event_at
    return ViewStatus(
        written_at=written,
        newest_event_at=newest,
        seconds_since_write=None if written is None else max(0.0, (now - written).total_seconds()),
        lag_seconds=None if newest is None else max(0.0, (now - newest).total_seconds()),
        # Stale: never written, or emptied (a Redis flush or restart) and not yet rebuilt from the
        # ledger. Zeros from such a view would be wrong numbers presented as fresh.
        stale=written is None or not meta.complete,
    )


def _zeros(names: frozenset[str] | Mapping[str, object]) -> dict[str, int]:
    return dict.fromkeys(sorted(names), 0)


class ViewReader(Protocol):
    """Reads the view without blocking the event loop (`connectors.redis.live_reader`)."""

    async def read_with_meta(
        self, skus: Sequence[str]
    ) -> tuple[dict[str, SkuSnapshot], ViewMeta]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class HasViewReader(Protocol):
    """A view that can make a `ViewReader` for the server's event loop (the Redis view)."""

    def async_reader(self) -> ViewReader: ...


async def read_with_meta(
    reader: ViewReader | None, view: LiveView, skus: Sequence[str]
) -> tuple[dict[str, SkuSnapshot], ViewMeta]:
    """The snapshots of `skus` the view holds, and its meta: through `reader` in one round trip
    when the app has one (the Redis view, once the server started), else from `view` in a worker
    thread (the in-memory view; an app whose lifespan did not run)."""
    if reader is not None:
        return await reader.read_with_meta(skus)
    return await run_in_threadpool(_read_with_meta, view, skus)


def _read_with_meta(view: LiveView, skus: Sequence[str]) -> tuple[dict[str, SkuSnapshot], ViewMeta]:
    meta = view.meta()  # first, as before: the status never claims fresher than the figures
    return view.read_many(skus), meta


def atp_codes(skus: Iterable[Sku]) -> list[str]:
    """The SKUs whose figures the ATP of `skus` needs: a kit's components, not the kit."""
    wanted = {s.code for s in skus if not s.is_kit} | {
        c.sku for s in skus if s.is_kit for c in s.components
    }
    return sorted(wanted)


def atp_from(
    sku: Sku, found: Mapping[str, SkuSnapshot], catalog: Catalog, status: ViewStatus
) -> AtpPublic:
    """One SKU's ATP from the snapshots `atp_codes` asked for; a kit's from its components."""
    if sku.is_kit:
        return _kit(sku, found, catalog, status)
    return _stocked(sku.code, found.get(sku.code), catalog, status)


def atp_many(
    skus: list[Sku], view: LiveView, catalog: Catalog, status: ViewStatus
) -> list[AtpPublic]:
    found = view.read_many(atp_codes(skus))
    return [atp_from(s, found, catalog, status) for s in skus]


def _stocked(
    code: str, snapshot: SkuSnapshot | None, catalog: Catalog, status: ViewStatus
) -> AtpPublic:
    sites, channels = _zeros(catalog.sites), _zeros(catalog.channels)
    if snapshot is None:
        return AtpPublic(
            sku=code,
            kit=False,
            as_of=None,
            updated_at=None,
            network=0,
            sites=sites,
            channels=channels,
            in_transit=0,
            on_order=0,
            version=0,
            view=status,
        )
    return AtpPublic(
        sku=code,
        kit=False,
        as_of=snapshot.as_of,
        updated_at=snapshot.updated_at,
        network=snapshot.atp_network,
        sites=sites | dict(snapshot.atp_sites),
        channels=channels | dict(snapshot.atp_channels),
        in_transit=snapshot.in_transit,
        on_order=snapshot.on_order,
        version=snapshot.version,
        view=status,
    )


def _kit(
    kit: Sku, parts: Mapping[str, SkuSnapshot], catalog: Catalog, status: ViewStatus
) -> AtpPublic:
    snapshots = [parts[c.sku] for c in kit.components if c.sku in parts]

    def figure(read: Callable[[SkuSnapshot], int]) -> int:
        return kit_atp(kit, {snap.sku: read(snap) for snap in snapshots})

    def at_site(site: str) -> int:
        return figure(lambda snap: snap.atp_sites.get(site, 0))

    def for_channel(channel: str) -> int:
        return figure(lambda snap: snap.atp_channels.get(channel, 0))

    as_of: date | None = min((s.as_of for s in snapshots), default=None)
    updated: datetime | None = max((s.updated_at for s in snapshots), default=None)
    return AtpPublic(
        sku=kit.code,
        kit=True,
        as_of=as_of,
        updated_at=updated,
        network=figure(lambda snap: snap.atp_network),
        sites={site: at_site(site) for site in sorted(catalog.sites)},
        channels={code: for_channel(code) for code in sorted(catalog.channels)},
        in_transit=0,
        on_order=0,
        version=sum(snap.version for snap in snapshots),
        view=status,
    )


def live_stock(code: str, snapshot: SkuSnapshot | None, status: ViewStatus) -> StockPublic:
    positions = [
        PositionPublic(
            location=p.location,
            site=p.location.split("/", 1)[0],
            lot=p.lot,
            available=p.available,
            allocated=p.allocated,
            on_hold=p.on_hold,
            damaged=p.damaged,
            quarantined=p.quarantined,
            on_hand=p.on_hand,
        )
        for p in (snapshot.positions if snapshot is not None else ())
    ]
    return StockPublic(
        sku=code,
        source="live_view",
        as_of=None,
        updated_at=None if snapshot is None else snapshot.updated_at,
        positions=positions,
        on_hand=sum(p.on_hand for p in positions),
        in_transit=0 if snapshot is None else snapshot.in_transit,
        on_order=0 if snapshot is None else snapshot.on_order,
        version=0 if snapshot is None else snapshot.version,
        view=status,
    )
