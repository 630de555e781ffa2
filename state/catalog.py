"""The catalog: what may be stocked (SKUs, kits), where (locations), and for whom (channels).

The catalog is configuration, not stream state: the wiring layer builds one `Catalog` value and
binds it into `apply` with `functools.partial`. A malformed catalog raises `ValueError` when it is
built (a configuration error should stop start-up); lookups made while applying an event raise
`Rejection` instead (an event naming an unknown SKU is bad data, not a bad program).

- `Sku`: base unit and unit conversions, GTINs (each GTIN-14 names a unit: the case GTIN is a
  case), lot / serial / expiry tracking, minimum remaining shelf life to sell, safety stock per
  site, per-channel buffer overrides, and a bill of materials when the SKU is a kit. Kits are
  virtual: they hold no stock; their ATP comes from their components, and an order line for a kit
  reserves its components.
- `Location`: the hierarchy site / zone / aisle / rack / shelf / bin, written as a path
  "LON/A/01/03/2/B". Stock lives at bins; zones listed as non-sellable (receiving docks, returns,
  quality control) hold stock that counts as on hand but never as available to promise.
- `Channel`: a sales channel with a priority (1 is the highest), a buffer of base units held back
  from every channel of lower priority, and a default shortfall policy (backorder or reject).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from state.rejections import Rejection, RejectionCode
from state.units import UnitsOfMeasure

ShortfallPolicy = Literal["backorder", "reject"]
LEVELS = ("site", "zone", "aisle", "rack", "shelf", "bin")


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A bin, addressed through its hierarchy; `Location.parse("LON/A/01/03/2/B").site == "LON"`."""

    site: str
    zone: str
    aisle: str
    rack: str
    shelf: str
    bin: str

    @classmethod
    def parse(cls, path: str) -> Location:
        """Read "SITE/ZONE/AISLE/RACK/SHELF/BIN"; raises ValueError unless it has six parts."""
        parts = path.split("/")
        if len(parts) != len(LEVELS) or any(not p or p != p.strip() for p in parts):
            msg = f"a location path is {'/'.join(LEVELS)} with six non-empty parts, got {path!r}"
            raise ValueError(msg)
        return cls(*parts)

    @property
    def path(self) -> str:
        return "/".join((self.site, self.zone, self.aisle, self.rack, self.shelf, self.bin))

    @property
    def zone_path(self) -> str:
        return f"{self.site}/{self.zone}"

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True, slots=True)
class KitComponent:
    """`quantity` base units of component `sku` go into one base unit of the kit."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Sku:
    """A stock-keeping unit. Quantities attached to it (safety stock, buffers) are in base units."""

    code: str
    units: UnitsOfMeasure = field(default_factory=UnitsOfMeasure)
    gtins: Mapping[str, str] = field(default_factory=dict)  # GTIN-14 -> unit
    tracks_lot: bool = False
    tracks_serial: bool = False
    tracks_expiry: bool = False
    min_shelf_life_days: int = 0
    safety_stock: Mapping[str, int] = field(default_factory=dict)  # site -> base units
    channel_buffers: Mapping[str, int] = field(default_factory=dict)  # channel -> base units
    components: tuple[KitComponent, ...] = ()

    def __post_init__(self) -> None:
        if self.tracks_expiry and not self.tracks_lot:
            msg = f"{self.code}: expiry belongs to a lot, so tracking expiry needs lot tracking"
            raise ValueError(msg)
        for gtin, unit in self.gtins.items():
            if len(gtin) != 14 or not gtin.isdigit():
                msg = f"{self.code}: GTINs are stored as 14 digits, got {gtin!r}"
                raise ValueError(msg)
            self.units.factor(unit)
        if any(c.quantity < 1 for c in self.components):
            msg = f"{self.code}: a kit component needs a quantity ≥ 1"
            raise ValueError(msg)
        numbers = (self.min_shelf_life_days, *self.safety_stock.values())
        if any(n < 0 for n in (*numbers, *self.channel_buffers.values())):
            msg = f"{self.code}: shelf life, safety stock and buffers cannot be negative"
            raise ValueError(msg)

    @property
    def is_kit(self) -> bool:
        return bool(self.components)

    def is_sellable_lot(self, expiry: date | None, as_of: date) -> bool:
        """A lot can be promised on `as_of` iff it has no expiry or as_of + min shelf life < expiry.

        With no minimum shelf life a lot is sellable up to the day before its expiry date: on the
        expiry date itself it is expired (it could not reach a customer before it expires).
        """
        return expiry is None or as_of + timedelta(days=self.min_shelf_life_days) < expiry

    @staticmethod
    def is_expired(expiry: date | None, as_of: date) -> bool:
        """A lot is expired on and after its expiry date: then it is neither sold nor picked."""
        return expiry is not None and expiry <= as_of


@dataclass(frozen=True, slots=True)
class Channel:
    """A sales channel. Lower `priority` numbers are served first; `buffer` is in base units."""

    code: str
    priority: int = 1
    buffer: int = 0
    shortfall: ShortfallPolicy = "backorder"


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every lookup the rules need; build one with `Catalog.build`."""

    skus: Mapping[str, Sku]
    locations: Mapping[str, Location]
    channels: Mapping[str, Channel]
    non_sellable_zones: frozenset[str]
    by_gtin: Mapping[str, tuple[str, str]]  # GTIN-14 -> (sku, unit)
    # Derived once: rules ask for them on every event.
    sites: frozenset[str] = field(init=False, compare=False, repr=False)
    zones: frozenset[str] = field(init=False, compare=False, repr=False)
    # For the live view's ATP report (`state.atp.atp_report`, once per SKU per batch): the sites
    # sorted, and per channel in code order the Σ of the buffers of the channels ranked above it
    # (what a SKU without buffers of its own holds back from that channel).
    site_order: tuple[str, ...] = field(init=False, compare=False, repr=False)
    channel_holds: tuple[tuple[str, int], ...] = field(init=False, compare=False, repr=False)
    channel_held: Mapping[str, int] = field(init=False, compare=False, repr=False)  # the same

    def __post_init__(self) -> None:
        locations = self.locations.values()
        object.__setattr__(self, "sites", frozenset(loc.site for loc in locations))
        object.__setattr__(self, "zones", frozenset(loc.zone_path for loc in locations))
        object.__setattr__(self, "site_order", tuple(sorted(self.sites)))
        channels = self.channels
        holds = tuple(
            (code, sum(c.buffer for c in channels.values() if c.priority < channels[code].priority))
            for code in sorted(channels)
        )
        object.__setattr__(self, "channel_holds", holds)
        object.__setattr__(self, "channel_held", dict(holds))

    @classmethod
    def build(
        cls,
        *,
        skus: Iterable[Sku] = (),
        locations: Iterable[str] = (),
        channels: Iterable[Channel] = (),
        non_sellable_zones: Iterable[str] = (),
    ) -> Catalog:
        sku_map = {s.code: s for s in skus}
        by_gtin: dict[str, tuple[str, str]] = {}
        for sku in sku_map.values():
            for component in sku.components:
                if component.sku not in sku_map or sku_map[component.sku].is_kit:
                    msg = f"kit {sku.code}: component {component.sku} is not a stocked SKU"
                    raise ValueError(msg)
            for gtin, unit in sku.gtins.items():
                if gtin in by_gtin:
                    msg = f"GTIN {gtin} belongs to both {by_gtin[gtin][0]} and {sku.code}"
                    raise ValueError(msg)
                by_gtin[gtin] = (sku.code, unit)
        parsed = {path: Location.parse(path) for path in locations}
        return cls(
            skus=sku_map,
            locations=parsed,
            channels={c.code: c for c in channels},
            non_sellable_zones=frozenset(non_sellable_zones),
            by_gtin=by_gtin,
        )

    def sku(self, code: str) -> Sku:
        if code not in self.skus:
            raise Rejection(RejectionCode.UNKNOWN_SKU, f"SKU {code!r} is not in the catalog")
        return self.skus[code]

    def sku_for_gtin(self, gtin: str) -> tuple[Sku, str]:
        """The SKU and the unit a GTIN (any length, compared as GTIN-14) stands for."""
        key = gtin.zfill(14)
        if key not in self.by_gtin:
            raise Rejection(RejectionCode.UNKNOWN_GTIN, f"GTIN {gtin} is not in the catalog")
        code, unit = self.by_gtin[key]
        return self.skus[code], unit

    def location(self, path: str) -> Location:
        if path not in self.locations:
            raise Rejection(RejectionCode.UNKNOWN_LOCATION, f"location {path!r} is not known")
        return self.locations[path]

    def require_site(self, site: str) -> str:
        if site not in self.sites:
            raise Rejection(RejectionCode.UNKNOWN_LOCATION, f"site {site!r} is not known")
        return site

    def require_zone(self, zone_path: str) -> str:
        if zone_path not in self.zones:
            raise Rejection(RejectionCode.UNKNOWN_LOCATION, f"zone {zone_path!r} is not known")
        return zone_path

    def channel(self, code: str) -> Channel:
        if code not in self.channels:
            raise Rejection(RejectionCode.UNKNOWN_CHANNEL, f"channel {code!r} is not known")
        return self.channels[code]

    def is_sellable_location(self, path: str) -> bool:
        """Stock at a known location outside the non-sellable zones can be promised."""
        location = self.locations.get(path)
        return location is not None and location.zone_path not in self.non_sellable_zones

    def buffer(self, sku: Sku, channel: Channel) -> int:
        """Base units of `sku` held for `channel`: the SKU's override, else the channel's buffer."""
        return sku.channel_buffers.get(channel.code, channel.buffer)
