"""Available to promise (ATP): how many base units of a SKU can still be promised, as of a date.

All figures are in the SKU's base unit, never negative, and computed from one `SkuStock`:

    sellable(site)   = Σ available at the site's bins outside non-sellable zones,
                       over lots that are sellable as of `as_of` (expiry − as_of > min shelf life)
    site ATP         = max(0, sellable(site) − safety_stock(site))
    network ATP      = Σ over sites of site ATP
    channel ATP(c)   = max(0, network ATP − Σ buffer(h) over channels h ranked above c)
                       (h is ranked above c when priority(h) < priority(c))
    kit ATP          = min over components k of ⌊ATP(k) / quantity of k per kit⌋

Notes on the choices:
- Only `available` counts: allocated units are promised already; on hold, quarantined and
  damaged units cannot be sold; in_transit and on_order are future supply, not stock to promise.
- Safety stock is per site, and network ATP sums floored site figures: a site below its safety
  stock does not borrow from another site's stock, nor does it lower another site's ATP. This
  equals "network available − network safety stock" whenever every site is above its safety stock.
- A channel sees the network ATP less what the channels ranked above it hold as buffers
  (priority 1 is the highest; channels of equal priority do not protect from each other). The
  highest-priority channel therefore sees the whole network ATP, and channel ATP ≤ network ATP.
- A kit holds no stock: its ATP is computed from its components' ATP figures (pass the same kind
  of figure for each: site, network or channel), which the caller reads from their own states.
- Allocation (`state.allocation`) never reserves more than these figures allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from state.buckets import Quantities
from state.catalog import Catalog, Channel, Sku
from state.stock import SkuStock
from state.values import quick_init


def sellable_by_site(stock: SkuStock, catalog: Catalog, as_of: date) -> dict[str, int]:
    """sellable(site) for every site holding sellable stock, in one pass (base units).

    `Catalog.is_sellable_location` and `Sku.is_sellable_lot` spelled out: this runs for every
    event that moves stock and for every view, and the calls cost more than the arithmetic."""
    return _sellable(stock, catalog.sku(stock.sku), catalog, as_of)


def sellable_of(stock: SkuStock, sku: Sku, catalog: Catalog, as_of: date) -> dict[str, int]:
    """`sellable_by_site` for a caller that holds the catalog's `Sku` of `stock` already."""
    return _sellable(stock, sku, catalog, as_of)


def _sellable(stock: SkuStock, sku: Sku, catalog: Catalog, as_of: date) -> dict[str, int]:
    locations = catalog.locations
    non_sellable = catalog.non_sellable_zones
    lots = stock.lots
    by_site: dict[str, int] = {}
    for (path, lot), position in stock.positions.pairs():
        available = position.quantities.available
        if not available:
            continue
        location = locations.get(path)
        if location is None or (non_sellable and location.zone_path in non_sellable):
            continue
        expiry = lots.get(lot)
        if expiry is not None and not sku.is_sellable_lot(expiry, as_of):
            continue
        site = location.site
        by_site[site] = by_site.get(site, 0) + available
    return by_site


def sellable_available(stock: SkuStock, catalog: Catalog, site: str, as_of: date) -> int:
    """Σ available over the site's sellable bins and the lots sellable on `as_of` (base units)."""
    return sellable_by_site(stock, catalog, as_of).get(site, 0)


def _floored(sellable: int, sku: Sku, site: str) -> int:
    return max(0, sellable - sku.safety_stock.get(site, 0))


def site_atp(stock: SkuStock, catalog: Catalog, site: str, as_of: date) -> int:
    """max(0, sellable(site) − safety stock(site))."""
    sku = catalog.sku(stock.sku)
    return _floored(sellable_available(stock, catalog, site, as_of), sku, site)


def network_atp(stock: SkuStock, catalog: Catalog, as_of: date) -> int:
    """Σ site ATP over every site (a site without sellable stock contributes 0)."""
    sku = catalog.sku(stock.sku)
    safety = sku.safety_stock
    by_site = _sellable(stock, sku, catalog, as_of)
    network = 0
    for site, sellable in by_site.items():
        atp = sellable - safety.get(site, 0)  # `_floored`, spelled out: once per movement
        if atp > 0:
            network += atp
    return network


def totals_and_network_atp(
    stock: SkuStock, catalog: Catalog, as_of: date
) -> tuple[Quantities, int]:
    """`stock.totals()` and `network_atp(stock, catalog, as_of)` from one pass over the positions:
    both go into the `StockChanged` that ends every event moving stock, and two passes (each
    with its own call and loop) cost half as much again. The same sums, spelled out."""
    sku = catalog.sku(stock.sku)
    locations = catalog.locations
    non_sellable = catalog.non_sellable_zones
    lots = stock.lots
    by_site: dict[str, int] = {}
    available = allocated = on_hold = damaged = quarantined = in_transit = on_order = 0
    for (path, lot), position in stock.positions.pairs():
        q = position.quantities
        here = q.available
        available += here
        allocated += q.allocated
        on_hold += q.on_hold
        damaged += q.damaged
        quarantined += q.quarantined
        in_transit += q.in_transit
        on_order += q.on_order
        if not here:
            continue
        location = locations.get(path)
        if location is None or (non_sellable and location.zone_path in non_sellable):
            continue
        expiry = lots.get(lot)
        if expiry is not None and not sku.is_sellable_lot(expiry, as_of):
            continue
        site = location.site
        by_site[site] = by_site.get(site, 0) + here
    if stock.in_transit:  # (most SKUs have none: no generator for an empty mapping)
        in_transit += sum(t.quantity for t in stock.in_transit.values())
    if stock.inbound:
        on_order += sum(i.quantity for i in stock.inbound.values())
    totals = Quantities(available, allocated, on_hold, damaged, quarantined, in_transit, on_order)
    safety = sku.safety_stock
    network = 0
    for site, sellable in by_site.items():
        atp = sellable - safety.get(site, 0)
        if atp > 0:
            network += atp
    return totals, network


def buffers_above(sku: Sku, catalog: Catalog, channel: Channel) -> int:
    """Σ buffer(h) over channels h ranked above `channel` (a lower priority number)."""
    return sum(
        catalog.buffer(sku, other)
        for other in catalog.channels.values()
        if other.priority < channel.priority
    )


def channel_atp(stock: SkuStock, catalog: Catalog, channel: str, as_of: date) -> int:
    """max(0, network ATP − buffers of the channels ranked above `channel`)."""
    held = buffers_above(catalog.sku(stock.sku), catalog, catalog.channel(channel))
    return max(0, network_atp(stock, catalog, as_of) - held)


def kit_atp(kit: Sku, component_atp: Mapping[str, int]) -> int:
    """min over components of ⌊component ATP / quantity per kit⌋; a missing component has 0."""
    if not kit.is_kit:
        msg = f"{kit.code} is not a kit"
        raise ValueError(msg)
    return min(component_atp.get(c.sku, 0) // c.quantity for c in kit.components)


@quick_init
@dataclass(frozen=True, slots=True)
class AtpReport:
    """Every ATP figure of one SKU on one date, for the live view and the API."""

    sku: str
    as_of: date
    sites: Mapping[str, int]
    network: int
    channels: Mapping[str, int]


def atp_report(stock: SkuStock, catalog: Catalog, as_of: date) -> AtpReport:
    """The same figures as `site_atp`, `network_atp` and `channel_atp`, from one pass over the
    SKU's positions (the live view asks for all of them after every batch)."""
    sku = catalog.sku(stock.sku)
    by_site = _sellable(stock, sku, catalog, as_of)
    # `_floored` and `buffers_above` spelled out (the live view asks after every batch): the
    # buffers are read once as (priority, buffer) pairs, not once per pair of channels.
    safety = sku.safety_stock
    sites: dict[str, int] = {}
    for site in catalog.site_order:
        atp = by_site.get(site, 0) - safety.get(site, 0)
        sites[site] = atp if atp > 0 else 0
    network = 0
    for site, sellable in by_site.items():
        atp = sellable - safety.get(site, 0)
        if atp > 0:
            network += atp
    channels: dict[str, int] = {}
    if not sku.channel_buffers:  # the catalog's buffers, summed per channel once (`Catalog`)
        for code, above in catalog.channel_holds:
            left = network - above
            channels[code] = left if left > 0 else 0
    else:
        by_code = catalog.channels
        held = [(c.priority, catalog.buffer(sku, c)) for c in by_code.values()]
        for code in sorted(by_code):
            priority = by_code[code].priority
            left = network - sum([buffer for above, buffer in held if above < priority])
            channels[code] = left if left > 0 else 0
    return AtpReport(sku=stock.sku, as_of=as_of, sites=sites, network=network, channels=channels)
