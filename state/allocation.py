"""Allocation: reserving available units for order lines (FEFO), and giving them back.

Rules, all in base units:
- Never oversell: a line reserves at most min(ordered, channel ATP) units, and at most the site
  ATP at each site (so safety stock and the buffers of higher-priority channels are respected),
  from available units only. Allocated units move available → allocated at their position.
- FEFO: candidates are the SKU's positions in sellable zones holding available units of a lot
  that is sellable on the order's date (an expired lot is never allocated), taken in the order
  (site rank, lot without expiry, expiry date, location path, lot): the line's preferred site
  first, then its fallback sites in the line's order (routing ranks them by cost), then every
  other site; within a rank the lot that expires first, lots without expiry last, and a
  deterministic tie-break by location and lot.
- A line may ask for a lot: only that lot is reserved; asking for an expired lot is refused.
- Shortfall: the rest of the line is backordered or rejected, per the line's policy, else the
  channel's. The outcome is whole: allocated + backordered + rejected = ordered.
- Backorders are recorded on the reservation (they are demand, not stock) and dropped when the
  order is cancelled or its reservation expires; filling them when stock arrives is a decision for
  the layer that re-plans orders.
- A kit line reserves each component: ordered kits × component quantity per kit.
- Release (cancellation, reservation expiry) returns every unpicked reserved unit to available.
- A count that finds fewer units than are reserved at a bin shorts reservations there, lowest
  priority first (highest priority number, then latest placed): those units become backorders.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from state.atp import buffers_above, sellable_of
from state.buckets import Quantities
from state.catalog import Catalog, ShortfallPolicy, Sku
from state.events import OrderPlaced
from state.outputs import Output, Released, ReservationShorted
from state.positions import Stamp, move
from state.rejections import Rejection, RejectionCode
from state.stock import PositionKey, Reservation, Reserved, SkuStock
from state.values import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Demand:
    """One order line as it concerns this SKU, in this SKU's base units."""

    ordered_sku: str
    quantity: int
    site: str | None
    lot: str | None
    shortfall: ShortfallPolicy
    fallback: tuple[str, ...] = ()  # the sites to take what `site` lacks from, in this order

    def site_rank(self, site: str) -> int:
        """0 for the preferred site, then the fallback sites in order, then every other site."""
        ranked = [s for s in (self.site, *self.fallback) if s is not None]
        return ranked.index(site) if site in ranked else len(ranked)


def demands_for(order: OrderPlaced, sku: Sku, catalog: Catalog) -> tuple[Demand, ...]:
    """The order's lines for `sku`, directly or as a component of a kit, converted to base units."""
    channel = catalog.channel(order.channel)
    demands = []
    for line in order.lines:
        if line.site is not None:
            catalog.require_site(line.site)
        policy = line.shortfall or channel.shortfall
        if line.sku == sku.code:
            quantity = sku.units.to_base(line.quantity, line.unit or sku.units.base)
            demands.append(
                Demand(sku.code, quantity, line.site, line.lot, policy, line.fallback_sites)
            )
            continue
        kit = catalog.skus.get(line.sku)
        per_kit = sum(c.quantity for c in kit.components if c.sku == sku.code) if kit else 0
        if kit is not None and per_kit:
            kits = kit.units.to_base(line.quantity, line.unit or kit.units.base)
            demands.append(
                Demand(kit.code, kits * per_kit, line.site, None, policy, line.fallback_sites)
            )
    return tuple(demands)


def demand_counts(order: OrderPlaced, catalog: Catalog) -> dict[str, int]:
    """How many `Demand`s `demands_for` gives each SKU of the order, in one pass over its lines
    (a SKU the catalog does not know counts 1: its key answers once, with a refusal)."""
    counts: dict[str, int] = {}
    for line in order.lines:
        item = catalog.skus.get(line.sku)
        if item is None:
            counts[line.sku] = 1
            continue
        codes = {c.sku for c in item.components if c.quantity} if item.is_kit else {line.sku}
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
    return counts


def _candidates(
    stock: SkuStock, sku: Sku, catalog: Catalog, demand: Demand, as_of: date
) -> list[PositionKey]:
    """Positions that may be allocated from, in FEFO order.

    `Catalog.is_sellable_location`, `Sku.is_sellable_lot` and `Demand.site_rank` spelled out:
    every order line of every SKU comes here."""
    locations, non_sellable, lots, wanted_lot = (
        catalog.locations,
        catalog.non_sellable_zones,
        stock.lots,
        demand.lot,
    )
    keys: list[PositionKey] = []
    for key, position in stock.positions.pairs():
        if position.quantities.available <= 0:
            continue
        path, lot = key
        location = locations.get(path)
        if location is None or (non_sellable and location.zone_path in non_sellable):
            continue
        expiry = lots.get(lot)
        if expiry is not None and not sku.is_sellable_lot(expiry, as_of):
            continue
        if wanted_lot is None or lot == wanted_lot:
            keys.append(key)
    if len(keys) < 2:
        return keys
    ranked = [s for s in (demand.site, *demand.fallback) if s is not None]

    def fefo(key: PositionKey) -> tuple[int, bool, date, str, str]:
        path, lot = key
        expiry = lots.get(lot)
        site = locations[path].site
        rank = ranked.index(site) if site in ranked else len(ranked)
        return (rank, expiry is None, expiry or date.max, path, lot)

    return sorted(keys, key=fefo)


def allocate(
    stock: SkuStock,
    demand: Demand,
    order: OrderPlaced,
    catalog: Catalog,
    stamp: Stamp,
) -> tuple[SkuStock, tuple[Reserved, ...], tuple[Output, ...]]:
    """Reserves up to the demand, FEFO, within channel and site ATP.

    Invariant: Σ reserved ≤ min(demand, channel ATP) and each reserved ≤ available there.
    """
    sku = catalog.sku(stock.sku)
    as_of = stamp.as_of
    if demand.lot is not None and not sku.is_sellable_lot(stock.expiry(demand.lot), as_of):
        raise Rejection(
            RejectionCode.EXPIRED_LOT,
            f"{sku.code}: lot {demand.lot} expires {stock.expiry(demand.lot)}; "
            f"it cannot be sold on {as_of}",
        )
    by_site = sellable_of(stock, sku, catalog, as_of)
    safety = sku.safety_stock
    site_room = {site: max(0, n - safety.get(site, 0)) for site, n in by_site.items()}
    channel = catalog.channel(order.channel)
    held = (
        catalog.channel_held[order.channel]  # the catalog's buffers, summed once (`Catalog`)
        if not sku.channel_buffers
        else buffers_above(sku, catalog, channel)
    )
    channel_room = sum(site_room.values()) - held
    wanted = min(demand.quantity, max(0, channel_room))
    reserved: list[Reserved] = []
    outputs: list[Output] = []
    locations = catalog.locations
    for key in _candidates(stock, sku, catalog, demand, as_of):
        site = locations[key[0]].site
        take = min(wanted, stock.quantities_at(*key).available, site_room.get(site, 0))
        if take <= 0:
            continue
        delta = Quantities(available=-take, allocated=take)
        stock, moved = move(stock, key, delta, stamp, order_id=order.order_id)
        outputs.extend(moved)
        reserved.append(Reserved(location=key[0], lot=key[1], quantity=take))
        site_room[site] -= take
        wanted -= take
    return stock, tuple(reserved), tuple(outputs)


def release(
    stock: SkuStock,
    reservation: Reservation,
    stamp: Stamp,
    reason: Literal["cancelled", "expired"],
) -> tuple[SkuStock, tuple[Output, ...]]:
    """Returns every unpicked reserved unit to available and drops the backorder."""
    outputs: list[Output] = []
    for line in reservation.lines:
        delta = Quantities(available=line.quantity, allocated=-line.quantity)
        stock, moved = move(
            stock, (line.location, line.lot), delta, stamp, order_id=reservation.order_id
        )
        outputs.extend(moved)
    outputs.append(
        Released(
            event_id=stamp.event_id,
            sku=stock.sku,
            order_id=reservation.order_id,
            quantity=reservation.reserved,
            backorder_dropped=reservation.backordered,
            reason=reason,
        )
    )
    stock = stock.with_reservation(replace(reservation, lines=(), backordered=0))
    return stock, tuple(outputs)


def short_reservations(
    stock: SkuStock, key: PositionKey, quantity: int, stamp: Stamp
) -> tuple[SkuStock, tuple[Output, ...]]:
    """Moves `quantity` reserved units at `key` to backorder, lowest priority and latest first.

    The caller moves the buckets (allocated falls by `quantity`); this keeps the reservations in
    step, so that allocated at a position always equals Σ of the reservations there.
    """
    location, lot = key
    outputs: list[Output] = []
    ranked = sorted(
        stock.reservations.values(),
        key=lambda r: (r.priority, r.placed_at, r.order_id),
        reverse=True,
    )
    for reservation in ranked:
        here = sum(r.quantity for r in reservation.lines if (r.location, r.lot) == key)
        take = min(quantity, here)
        if take <= 0:
            continue
        lines, left = [], take
        for line in reservation.lines:
            cut = min(left, line.quantity) if (line.location, line.lot) == key else 0
            left -= cut
            if line.quantity - cut:
                lines.append(replace(line, quantity=line.quantity - cut))
        backordered = reservation.backordered + take
        stock = stock.with_reservation(
            replace(reservation, lines=tuple(lines), backordered=backordered)
        )
        outputs.append(
            ReservationShorted(
                event_id=stamp.event_id,
                sku=stock.sku,
                order_id=reservation.order_id,
                location=location,
                lot=lot,
                quantity=take,
            )
        )
        quantity -= take
    return stock, tuple(outputs)
