"""The buckets a quantity of stock can be in, in base units.

At a position (a bin and a lot) stock is in exactly one of five on-hand buckets:

    on_hand = available + allocated + on_hold + damaged + quarantined

`on_hand` is derived, never stored, so it cannot drift from its parts. Two more buckets are not
on hand and are kept per SKU rather than per bin: `in_transit` (shipped by one site to another,
not yet received) and `on_order` (on a purchase order or ASN, not yet received).

`Quantities` holds all seven; it is both a signed change (a `Movement`'s deltas) and a snapshot.
Invariant kept by every rule: no bucket is ever negative.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from state.values import quick_init

ON_HAND_BUCKETS = ("available", "allocated", "on_hold", "damaged", "quarantined")
ALL_BUCKETS = (*ON_HAND_BUCKETS, "in_transit", "on_order")


@quick_init
@dataclass(frozen=True, slots=True)
class Quantities:
    """Base units per bucket: a change (may be negative) or a snapshot (never negative)."""

    available: int = 0
    allocated: int = 0
    on_hold: int = 0
    damaged: int = 0
    quarantined: int = 0
    in_transit: int = 0
    on_order: int = 0

    @classmethod
    def of(cls, **by_bucket: int) -> Quantities:
        """`Quantities.of(available=-3, on_hold=3)`; a bucket named twice is an error."""
        return cls(**by_bucket)

    @property
    def on_hand(self) -> int:
        """available + allocated + on_hold + damaged + quarantined."""
        return self.available + self.allocated + self.on_hold + self.damaged + self.quarantined

    # Spelled out field by field: these run several times per event on the hot path, and a loop
    # over ALL_BUCKETS with getattr costs four times as much.
    def __add__(self, other: Quantities) -> Quantities:
        return Quantities(
            self.available + other.available,
            self.allocated + other.allocated,
            self.on_hold + other.on_hold,
            self.damaged + other.damaged,
            self.quarantined + other.quarantined,
            self.in_transit + other.in_transit,
            self.on_order + other.on_order,
        )

    def __neg__(self) -> Quantities:
        return Quantities(
            -self.available,
            -self.allocated,
            -self.on_hold,
            -self.damaged,
            -self.quarantined,
            -self.in_transit,
            -self.on_order,
        )

    def __bool__(self) -> bool:
        """True when any bucket is non-zero."""
        return bool(
            self.available
            or self.allocated
            or self.on_hold
            or self.damaged
            or self.quarantined
            or self.in_transit
            or self.on_order
        )

    def negative_buckets(self) -> tuple[str, ...]:
        if min(
            self.available, self.allocated, self.on_hold, self.damaged,
            self.quarantined, self.in_transit, self.on_order,
        ) >= 0:  # fmt: skip
            return ()
        return tuple(f for f in ALL_BUCKETS if getattr(self, f) < 0)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


ZERO = Quantities()
