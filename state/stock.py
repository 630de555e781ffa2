"""`SkuStock`: everything skuflow knows about one SKU, as one frozen value (the dataflow's state).

The dataflow keys by SKU, so the state is per SKU:

- `positions`: per (location path, lot) the on-hand buckets, the last cycle count there and a
  short journal of the movements applied since (see `state.counting`, `state.journal`). Lot ""
  means no lot. A `PositionMap` (`state.position_map`): two tuples rather than a dict, the
  keys' tuple shared by every SKU in the same bins; snapshots still hold a plain dict.
- `lots`: each lot's expiry date (None when it has none), learnt from receipts and ASNs.
- `reservations`: per order id, where its units are reserved, its backorder and its progress
  (picked ≥ packed, picked ≥ shipped).
- `in_transit`: per (transfer id, lot) the units shipped to another site and not yet received.
- `inbound`: per purchase order or ASN, the units on order and not yet received.
- `seen`: the ids of (at least) the last `window` events applied (idempotency; `SeenIds`). The
  window is bounded so
  the state stays small; beyond it the ledger's unique event id is the durable guard (the
  connector writing movements rejects an id it already holds).

Values are frozen; the mappings inside are never mutated once built (copy-on-write with
`{**old, key: new}`), so a state can be shared, compared and deep-copied at snapshots safely.
What SKUs have in common is held once for all of them (`state.shared`): an empty mapping is the
read-only `EMPTY`, bin keys, their layouts and bucket snapshots are shared, live and when a
snapshot is restored.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from state.buckets import ZERO, Quantities
from state.journal import entries, packed
from state.keys import PACKED_KEY, key64, key_offset
from state.position_map import NO_POSITIONS, PositionMap
from state.shared import EMPTY, position_key, shared_mapping, shared_quantities
from state.values import quick_init

NO_LOT = ""
DEFAULT_WINDOW = 1024
PositionKey = tuple[str, str]  # (location path, lot)
InboundKind = Literal["purchase_order", "asn"]


@dataclass(frozen=True, slots=True)
class CountRecord:
    """The last cycle count at a position: true at `counted_at`; variance = counted − book."""

    counted_at: datetime
    event_id: str
    counted: int
    book: int
    variance: int


@quick_init
@dataclass(frozen=True, slots=True)
class Position:
    """Stock of one SKU at one bin and lot. Invariant: no bucket negative.

    `journal` holds (occurred_at, Δon_hand) of the movements since the count, packed 16 bytes an
    entry (`state.journal`; read it with `entries`).
    """

    quantities: Quantities = ZERO
    last_count: CountRecord | None = None
    journal: bytes = b""
    horizon: datetime | None = None  # newest occurred_at dropped from a full journal

    @property
    def entries(self) -> tuple[tuple[datetime, int], ...]:
        """The journal as (occurred_at in UTC, Δon_hand) pairs, oldest first."""
        return entries(self.journal)

    def shared(self) -> Position:
        """This position on the shared bucket snapshot equal to its own (`state.shared`)."""
        quantities = shared_quantities(self.quantities)
        if quantities is self.quantities:
            return self
        return Position(quantities, self.last_count, self.journal, self.horizon)

    def __getstate__(self) -> list[Any]:
        return [self.quantities, self.last_count, self.journal, self.horizon]

    def __setstate__(self, state: list[Any]) -> None:
        """Restores a snapshot; a journal written as a tuple of pairs (before it was packed) is
        packed."""
        quantities, last_count, journal, horizon = state
        object.__setattr__(self, "quantities", quantities)
        object.__setattr__(self, "last_count", last_count)
        object.__setattr__(
            self, "journal", packed(journal) if isinstance(journal, tuple) else journal
        )
        object.__setattr__(self, "horizon", horizon)


NO_STOCK = Position()  # a position nothing has moved at yet: one value, never changed in place


@quick_init
@dataclass(frozen=True, slots=True)
class Reserved:
    """`quantity` base units reserved for an order at a location and lot."""

    location: str
    lot: str
    quantity: int


@quick_init
@dataclass(frozen=True, slots=True)
class Reservation:
    """One order's claim on this SKU. Units picked have left on hand; shipped, packed ≤ picked."""

    order_id: str
    channel: str
    priority: int
    placed_at: datetime
    lines: tuple[Reserved, ...] = ()
    backordered: int = 0
    picked: int = 0
    packed: int = 0
    shipped: int = 0

    @property
    def reserved(self) -> int:
        # A loop, not `sum` over a generator: asked for every pick and shipment (`is_open`),
        # of a line or two, where making the generator cost more than the sum.
        total = 0
        for line in self.lines:
            total += line.quantity
        return total

    @property
    def is_open(self) -> bool:
        """Still something to reserve, pick or ship."""
        return self.backordered > 0 or self.shipped < self.picked or self.reserved > 0


@dataclass(frozen=True, slots=True)
class InTransit:
    transfer_id: str
    lot: str
    from_site: str
    to_site: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Inbound:
    """Units on a purchase order or an ASN, not yet received, for `site`."""

    kind: InboundKind
    document_id: str
    site: str
    expected_date: date
    quantity: int
    purchase_order_id: str | None = None


SEEN_CHUNK = 64
NO_KEYS = b""  # an empty generation, shared
_last_key = [("", 0)]  # the last id keyed, with its key (see `id_key`)


def id_key(event_id: str) -> int:
    """An event id's 64-bit key (`state.keys.key64`).

    The fold asks for an event's key twice in a row (`SkuStock.has_seen`, then `remember`), so
    the last id's key is kept: the second is a comparison. (One tuple, read and replaced whole,
    so a thread never pairs an id with another id's key.)"""
    last_id, key = _last_key[0]
    if event_id == last_id:
        return key
    key = key64(event_id)
    _last_key[0] = (event_id, key)
    return key


def _holds(generation: bytes, key: int) -> bool:
    """Whether the sorted packed keys hold `key` (a binary search in C)."""
    keys = memoryview(generation).cast("Q")
    i = bisect_left(keys, key)
    return i < len(keys) and keys[i] == key


def _among(recent: bytes, key: int) -> bool:
    """Whether the unsorted packed keys hold `key` (`bytes.find`, in C; a match must start on
    a key's boundary)."""
    return key_offset(recent, key) >= 0


def _merged(generation: bytes, keys: list[int]) -> bytes:
    """The sorted packed keys with `keys` added (Timsort merges the two sorted runs)."""
    if generation:
        keys = [*memoryview(generation).cast("Q"), *keys]
    keys.sort()
    return array("Q", keys).tobytes()


def _keyed(recent: str) -> bytes:
    """A snapshot's `recent` from before it held keys ("\0a\0b\0": whole ids), as keys."""
    ids = recent[1:-1].split("\0") if recent else []
    return b"".join(PACKED_KEY.pack(id_key(i)) for i in ids)


@quick_init
@dataclass(frozen=True, slots=True)
class SeenIds:
    """The ids of the events most recently applied to a SKU, for idempotency.

    Each id is held as its 64-bit key (`id_key`), packed 8 bytes each. The newest are appended
    to `recent` as they come, and a lookup there is `bytes.find`; a quiet SKU, fewer than
    `SEEN_CHUNK` events, holds nothing else. Once `recent` holds a chunk, its keys move into
    `current`, sorted, so a lookup is a binary search in C; once `current` holds `window` keys
    it becomes `previous` and the previous generation is forgotten. So at least the last
    `window` ids are always remembered, and at most about 2 × (`window` + chunk) of them (2,173
    for the default 1,024), in about 17 KB.

    Keeping the older ids as sets of strings cost about 100 bytes an id (the string, the set's
    slots): after the Online Retail year the windows were 92% of the fold's state, 35 KB a SKU.
    The newest ids were once kept whole, in one string (an id and a separator, 19-37 bytes an
    id): as keys they take 8, and an id is hashed once, not once when looked up and again when
    its chunk moved into `current` (issue 9: state in use 657 → 610 B per SKU-location).

    A key stands for its id with a 2⁻⁶⁴ chance that a different id has the same key: a new
    event is taken for one of the ≤ 2,173 remembered with odds about 10⁻¹⁶ (a retailer applying
    a thousand events a second would meet it once in 3 million years), and even then it is
    not lost but reported as a `Duplicate`, and the ledger's unique event id is the durable guard.
    """

    recent: bytes = NO_KEYS
    current: bytes = NO_KEYS
    previous: bytes = NO_KEYS

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        key = id_key(event_id)
        recent, current, previous = self.recent, self.current, self.previous
        return (
            (bool(recent) and _among(recent, key))
            or (bool(current) and _holds(current, key))
            or (bool(previous) and _holds(previous, key))
        )

    def __len__(self) -> int:
        return (len(self.recent) + len(self.current) + len(self.previous)) // 8

    def add(self, event_id: str, window: int) -> SeenIds:
        recent = self.recent + PACKED_KEY.pack(id_key(event_id))
        if len(recent) // 8 < min(SEEN_CHUNK, window):
            return SeenIds(recent, self.current, self.previous)
        current = _merged(self.current, list(memoryview(recent).cast("Q")))
        if len(current) // 8 < window:
            return SeenIds(NO_KEYS, current, self.previous)
        return SeenIds(NO_KEYS, NO_KEYS, current)

    def __setstate__(self, state: tuple[Any, ...] | list[Any]) -> None:
        """Restores a snapshot. One written before the ids were keys (`recent` a string of
        whole ids, or a tuple of them; before the generations, a tuple of sets of whole ids
        beside it) has its ids keyed."""
        if len(state) == 3:
            recent, current, previous = state
        else:
            recent, older = state
            ids = [i for chunk in older for i in chunk]
            current = _merged(NO_KEYS, [id_key(i) for i in ids]) if ids else NO_KEYS
            previous = NO_KEYS
        if isinstance(recent, tuple):
            recent = "".join(f"\0{i}" for i in recent) + "\0" if recent else ""
        if isinstance(recent, str):
            recent = _keyed(recent)
        object.__setattr__(self, "recent", recent or NO_KEYS)
        object.__setattr__(self, "current", current or NO_KEYS)
        object.__setattr__(self, "previous", previous or NO_KEYS)

    def __getstate__(self) -> list[Any]:
        return [self.recent, self.current, self.previous]


def _empty() -> Mapping[Any, Any]:
    return EMPTY


def _no_positions() -> PositionMap:
    return NO_POSITIONS


def shared_positions(positions: Mapping[PositionKey, Position]) -> PositionMap:
    """The same positions on shared keys, a shared layout and shared values (`state.shared`,
    `state.position_map`)."""
    if not positions:
        return NO_POSITIONS
    return PositionMap.of(
        {position_key(*key): position.shared() for key, position in positions.items()}
    )


@quick_init
@dataclass(frozen=True, slots=True)
class SkuStock:
    """The state of one SKU. Build the first one with `SkuStock.empty(sku)`."""

    sku: str
    positions: PositionMap = field(default_factory=_no_positions)
    lots: Mapping[str, date | None] = field(default_factory=_empty)
    reservations: Mapping[str, Reservation] = field(default_factory=_empty)
    in_transit: Mapping[tuple[str, str], InTransit] = field(default_factory=_empty)
    inbound: Mapping[tuple[InboundKind, str], Inbound] = field(default_factory=_empty)
    seen: SeenIds = SeenIds()
    window: int = DEFAULT_WINDOW
    # EPC -> (zone, time of the last read that was a sighting): RFID readers report a tag many
    # times a second; only a read in a new zone, or after `REPEAT_READ_SECONDS`, is news.
    tag_reads: Mapping[str, tuple[str, datetime]] = field(default_factory=_empty)
    # How many events this SKU has taken in (every one `remember`ed: applied or refused, never a
    # duplicate). It only grows, and the same sequenced log gives the same numbers on any
    # replay, so a view carries it and a store keeps the higher of two versions: after a
    # restart, a view the crashed run had already replaced is not written over the newer one.
    version: int = 0

    # Snapshots (Bytewax pickles the state): the shared `EMPTY` is written as `{}` and the
    # positions as a dict, and restoring shares again what `state.shared` shares, so a restored
    # state is as small as a live one. The pickled shape is the dataclass default's (a list of
    # the field values), so snapshots written before these methods existed restore too.
    def __getstate__(self) -> list[Any]:
        return [
            dict(value) if value is EMPTY or value is self.positions else value
            for value in (
                self.sku, self.positions, self.lots, self.reservations, self.in_transit,
                self.inbound, self.seen, self.window, self.tag_reads, self.version,
            )
        ]  # fmt: skip

    def __setstate__(self, state: list[Any]) -> None:
        # (snapshots written before `version` existed have nine fields: their version is 0)
        sku, positions, lots, reservations, in_transit, inbound, seen, window, tag_reads = state[:9]
        version = state[9] if len(state) > 9 else 0
        restored = {
            "sku": sku,
            "positions": shared_positions(positions),
            "lots": shared_mapping(lots),
            "reservations": shared_mapping(reservations),
            "in_transit": shared_mapping(in_transit),
            "inbound": shared_mapping(inbound),
            "seen": seen,
            "window": DEFAULT_WINDOW if window == DEFAULT_WINDOW else window,  # one int, shared
            "tag_reads": shared_mapping(tag_reads),
            "version": version,
        }
        for name, value in restored.items():
            object.__setattr__(self, name, value)  # frozen: the dataclass's own way in

    @classmethod
    def empty(cls, sku: str, *, window: int = DEFAULT_WINDOW) -> SkuStock:
        return cls(sku=sku, window=window)

    def position(self, key: PositionKey) -> Position:
        held = self.positions.get(key)
        return NO_STOCK if held is None else held

    def quantities_at(self, location: str, lot: str = NO_LOT) -> Quantities:
        return self.position((location, lot)).quantities

    # The three copies below run for nearly every event: each builds the new value with the
    # constructor directly, which costs half of what `dataclasses.replace` does.
    def with_position(self, key: PositionKey, position: Position) -> SkuStock:
        positions = self.positions.with_position(key, position)
        return SkuStock(
            self.sku, positions, self.lots, self.reservations, self.in_transit,
            self.inbound, self.seen, self.window, self.tag_reads, self.version,
        )  # fmt: skip

    def with_reservation(self, reservation: Reservation) -> SkuStock:
        """Stores the reservation, or forgets it once nothing is left open."""
        others = dict(self.reservations)
        others.pop(reservation.order_id, None)
        if reservation.is_open:
            others[reservation.order_id] = reservation
        return SkuStock(
            self.sku, self.positions, self.lots, shared_mapping(others), self.in_transit,
            self.inbound, self.seen, self.window, self.tag_reads, self.version,
        )  # fmt: skip

    def expiry(self, lot: str) -> date | None:
        return self.lots.get(lot)

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen

    def remember(self, event_id: str) -> SkuStock:
        """Adds an event id to the window; the oldest are forgotten once over `window` ids."""
        seen = self.seen.add(event_id, self.window)
        return SkuStock(
            self.sku, self.positions, self.lots, self.reservations, self.in_transit,
            self.inbound, seen, self.window, self.tag_reads, self.version + 1,
        )  # fmt: skip

    def in_transit_to(self, site: str, lot: str) -> int:
        return sum(
            t.quantity for t in self.in_transit.values() if t.to_site == site and t.lot == lot
        )

    def on_order_at(self, site: str) -> int:
        return sum(i.quantity for i in self.inbound.values() if i.site == site)

    def totals(self) -> Quantities:
        """All buckets summed over positions, transfers and inbound documents.

        Spelled out bucket by bucket: every event that moves stock asks for it (`StockChanged`),
        and adding `Quantities` values position by position built a new value per position."""
        available = allocated = on_hold = damaged = quarantined = in_transit = on_order = 0
        for position in self.positions.held():
            q = position.quantities
            available += q.available
            allocated += q.allocated
            on_hold += q.on_hold
            damaged += q.damaged
            quarantined += q.quarantined
            in_transit += q.in_transit
            on_order += q.on_order
        in_transit += sum(t.quantity for t in self.in_transit.values())
        on_order += sum(i.quantity for i in self.inbound.values())
        return Quantities(available, allocated, on_hold, damaged, quarantined, in_transit, on_order)
