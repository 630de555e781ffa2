"""Units of measure: every quantity skuflow stores is an integer count of the SKU's base unit.

Events carry `quantity` + `unit` as the floor or the customer said it ("2 case"); the core converts
once, at the edge of each rule, with `UnitsOfMeasure.to_base`:

    base quantity = quantity × factor(unit)        (unit: base units per `unit`, an integer ≥ 1)

The base unit is the smallest unit handled (usually "each"), so factors are whole numbers and no
rounding ever happens. A unit without a conversion is a rejection (`unknown_unit`), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from state.rejections import Rejection, RejectionCode

EACH = "each"


@dataclass(frozen=True, slots=True)
class UnitsOfMeasure:
    """A SKU's base unit and how many base units each other unit holds (case = 12, pallet = 480)."""

    base: str = EACH
    factors: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for unit, factor in self.factors.items():
            if factor < 1:
                msg = f"unit {unit!r} must hold a whole number ≥ 1 of {self.base!r}, got {factor}"
                raise ValueError(msg)
        if self.factors.get(self.base, 1) != 1:
            msg = f"the base unit {self.base!r} must have factor 1"
            raise ValueError(msg)

    def factor(self, unit: str) -> int:
        """Base units in one `unit`; raises `Rejection(unknown_unit)` without a conversion."""
        if unit == self.base:
            return 1
        if unit not in self.factors:
            raise Rejection(
                RejectionCode.UNKNOWN_UNIT,
                f"no conversion from {unit!r} to the base unit {self.base!r}",
            )
        return self.factors[unit]

    def to_base(self, quantity: int, unit: str) -> int:
        """quantity × factor(unit), in base units. Invariant: sign and zero are preserved."""
        return quantity * self.factor(unit)
