"""The live view as the API serves it: ATP (kits included), positions, and the view's freshness.

Every figure comes from the view the dataflow writes; nothing is recomputed from stock here
except a kit's ATP, which the core defines from its components' figures (`state.atp.kit_atp`).
A SKU the catalog knows but the view has never held reads as zeros at every site and channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

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


def atp_of(sku: Sku, view: LiveView, catalog: Catalog, status: ViewStatus) -> AtpPublic:
    """One SKU's ATP; a kit's from its components (read together, in one round trip)."""
    if sku.is_kit:
        parts = view.read_many(c.sku for c in sku.components)
        return _kit(sku, parts, catalog, status)
    return _stocked(sku.code, view.read(sku.code), catalog, status)


def atp_many(
    skus: list[Sku], view: LiveView, catalog: Catalog, status: ViewStatus
) -> list[AtpPublic]:
    wanted = {s.code for s in skus if not s.is_kit} | {
        c.sku for s in skus if s.is_kit for c in s.components
    }
    found = view.read_many(sorted(wanted))
    return [
        _kit(s, found, catalog, status)
        if s.is_kit
        else _stocked(s.code, found.get(s.code), catalog, status)
        for s in skus
    ]


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
        view=status,
    )
