"""Replenishment policy math: inventory position, safety stock, reorder point, order quantity.

Units: demand d in units per day, its standard deviation σd in units per day (per-day errors
taken as independent), lead time L in days with standard deviation σL in days.

    inventory position  IP = on hand + on order + in transit − allocated − backordered
    safety stock        SS = z · √(L·σd² + d²·σL²)          (units; z = Φ⁻¹(service level))
    reorder point       ROP = d·L + SS                       (units)
                        or, for a lognormal lead-time demand (skewed, as lumpy demand is), its
                        quantile at the service level, with SS = ROP − d·L (`lognormal_quantile`)
    order-up-to level   S = ROP + d·R                        (R: review cycle, days)
    order quantity      Q = S − IP   (order-up-to)   or   Q = EOQ = √(2·A·K / (h·c))
                        (A: annual demand, units; K: cost per order; h: holding rate per year;
                         c: unit cost), then rounded up to whole packs, and at least the MOQ

`on hand` here is usable stock: available plus allocated (allocated units are on the shelf and
are subtracted again as allocated); on hold, damaged and quarantined units are not supply.

Service spread by cycle (`PolicySettings.allocate_by_cycle`): the fill rate that counts is
unit-weighted over all SKUs, so safety stock goes where a unit of it fills the most units. An item
reordered every T days meets 365/T reorder points a year; holding each item's units filled per
unit of safety stock equal (the multi-item system optimum) makes its stock-out risk per cycle
proportional to T (`service_level_for_cycle`). With order-up-to every item's cycle is R and
nothing changes; with EOQ (cycles ∝ 1/√demand: fast movers are reordered often) it does.

ABC / XYZ set the service level: ABC ranks SKUs by the value of their demand (A: the SKUs making
the first 80% of value, B: the next 15%, C: the rest); XYZ by the coefficient of variation of
demand per period (X: CV < 0.5, Y: < 1.0, Z: ≥ 1.0). `SERVICE_LEVELS` protects valuable, steady
SKUs most; erratic, cheap SKUs cost the most safety stock per unit of service, so they get less.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist
from types import MappingProxyType
from typing import Literal

Abc = Literal["A", "B", "C"]
Xyz = Literal["X", "Y", "Z"]
OrderRule = Literal["order_up_to", "eoq"]
ServiceMeasure = Literal["cycle", "fill_rate"]
LeadTimeDemand = Literal["normal", "lognormal"]
_NORMAL = NormalDist()

SERVICE_LEVELS: Mapping[str, float] = MappingProxyType(
    {
        "AX": 0.98,
        "AY": 0.97,
        "AZ": 0.95,
        "BX": 0.96,
        "BY": 0.95,
        "BZ": 0.93,
        "CX": 0.94,
        "CY": 0.92,
        "CZ": 0.90,
    }
)


@dataclass(frozen=True, slots=True)
class InventoryPosition:
    """Units of one SKU at one site; `value` is the position the reorder point is compared to."""

    on_hand: int = 0
    on_order: int = 0
    in_transit: int = 0
    allocated: int = 0
    backordered: int = 0

    @property
    def value(self) -> int:
        return self.on_hand + self.on_order + self.in_transit - self.allocated - self.backordered


@cache
def z_for(service_level: float) -> float:
    """Φ⁻¹(service level): the safety factor for a cycle service level in (0, 1)."""
    if not 0.0 < service_level < 1.0:
        msg = f"a service level is strictly between 0 and 1, got {service_level}"
        raise ValueError(msg)
    return _NORMAL.inv_cdf(service_level)


def expected_shortage(k: float) -> float:
    """The standard normal loss G(k) = φ(k) − k·(1 − Φ(k)): expected units short per σ."""
    return _NORMAL.pdf(k) - k * (1.0 - _NORMAL.cdf(k))


def fill_rate_factor(fill_rate: float, cycle_units: float, lead_time_std: float) -> float:
    """The k with σ_L·G(k) = (1 − fill rate)·Q: expected shortage per cycle a share of the order.

    Q (`cycle_units`) is what one order brings, σ_L the standard deviation of demand over the
    lead time (units). Found by bisection on k ∈ [−4, 8]; G is decreasing in k.
    """
    if not 0.0 < fill_rate < 1.0:
        msg = f"a fill rate is strictly between 0 and 1, got {fill_rate}"
        raise ValueError(msg)
    if lead_time_std <= 0:
        return 0.0
    target = (1.0 - fill_rate) * max(cycle_units, 0.0) / lead_time_std
    low, high = -4.0, 8.0
    for _ in range(60):
        middle = (low + high) / 2
        if expected_shortage(middle) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def safety_stock(
    z: float, demand: float, demand_std: float, lead_time: float, lead_time_std: float
) -> float:
    """SS = z·√(L·σd² + d²·σL²), units; 0 when z ≤ 0 would make it negative."""
    spread = lead_time * demand_std**2 + demand**2 * lead_time_std**2
    return max(0.0, z * math.sqrt(max(0.0, spread)))


def lognormal_quantile(mean: float, std: float, level: float) -> float:
    """The `level` quantile of a lognormal with this mean and standard deviation (units).

    Lumpy demand over a lead time is skewed: most lead times see little, a few see a big order.
    A lognormal with the same mean μ and σ has  s² = ln(1 + σ²/μ²),  m = ln μ − s²/2,  and
    quantile(p) = exp(m + Φ⁻¹(p)·s): below the mean for middling p when σ/μ is large (the
    usual lead time is quieter than the average one), above the normal's for high p. 0 without
    demand; μ itself without spread.
    """
    if mean <= 0:
        return 0.0
    if std <= 0:
        return mean
    spread = math.log1p((std / mean) ** 2)
    return math.exp(math.log(mean) - spread / 2 + z_for(level) * math.sqrt(spread))


def service_level_for_cycle(level: float, cycle_days: float, reference_days: float) -> float:
    """The cycle service level of an item reordered every T days, for `level` at T_ref days.

    A unit more of safety stock saves P(short) units per cycle, (365/T)·P(short) units a year.
    Holding that saving equal across items (Lagrange; Hadley-Whitin's multi-item allocation)
    gives P(short) ∝ T:

        P(short) = (1 − level) · T / T_ref,   level(T) = 1 − P(short), clipped to [0.5, 0.9999]

    e.g. level 0.95 at T_ref = 14 days: T = 7 → 0.975, T = 28 → 0.90, T ≥ 140 → 0.5 (no safety
    stock). Below 0.5 the safety stock would be negative; the floor keeps it at zero.
    """
    if cycle_days <= 0 or reference_days <= 0:
        msg = f"cycles are positive numbers of days, got {cycle_days} and {reference_days}"
        raise ValueError(msg)
    short = (1.0 - level) * cycle_days / reference_days
    return min(0.9999, max(0.5, 1.0 - short))


def reorder_point(demand: float, lead_time: float, safety: float) -> float:
    """ROP = d·L + SS, units."""
    return demand * lead_time + safety


def round_to_pack(quantity: float, pack_size: int = 1, moq: int = 1) -> int:
    """Whole packs covering `quantity`, and at least the MOQ (itself rounded up to packs).

    0 stays 0 (nothing to order); any positive quantity orders at least max(MOQ, one pack).
    """
    if pack_size < 1 or moq < 0:
        msg = f"pack size ≥ 1 and MOQ ≥ 0, got {pack_size} and {moq}"
        raise ValueError(msg)
    if quantity <= 0:
        return 0
    packs = math.ceil(quantity / pack_size - 1e-9)
    minimum_packs = math.ceil(moq / pack_size)
    return max(packs, minimum_packs, 1) * pack_size


def eoq(annual_demand: float, order_cost: float, holding_rate: float, unit_cost: float) -> float:
    """Economic order quantity √(2·A·K / (h·c)), units; 0 without demand."""
    if annual_demand <= 0:
        return 0.0
    holding = holding_rate * unit_cost
    if holding <= 0:
        msg = f"holding cost per unit and year must be positive, got {holding}"
        raise ValueError(msg)
    return math.sqrt(2.0 * annual_demand * order_cost / holding)


def abc_classes(values: Mapping[str, float], a: float = 0.80, b: float = 0.95) -> dict[str, Abc]:
    """Pareto classes by value: A up to `a` of the cumulative value, B up to `b`, C the rest.

    A SKU is A when the value of the SKUs ranked before it is below `a` of the total (so the SKU
    that crosses 80% is still A). Ties are broken by SKU code, so the result is deterministic.
    """
    total = sum(max(0.0, v) for v in values.values())
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    classes: dict[str, Abc] = {}
    before = 0.0
    for sku, value in ranked:
        share = before / total if total > 0 else 1.0
        classes[sku] = "A" if share < a else "B" if share < b else "C"
        before += max(0.0, value)
    return classes


def xyz_class(mean: float, std: float) -> Xyz:
    """X when CV = σ/μ < 0.5, Y when < 1.0, Z otherwise (no demand is Z)."""
    if mean <= 0:
        return "Z"
    cv = std / mean
    return "X" if cv < 0.5 else "Y" if cv < 1.0 else "Z"


def service_level_for(abc_xyz: str, table: Mapping[str, float] = SERVICE_LEVELS) -> float:
    """The service level of a class such as "AX"; ValueError for a class the table lacks."""
    try:
        return table[abc_xyz]
    except KeyError:
        msg = f"no service level for class {abc_xyz!r}; classes: {sorted(table)}"
        raise ValueError(msg) from None


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """How one SKU at one site is replenished."""

    service_level: float = 0.95
    measure: ServiceMeasure = "cycle"  # what service_level means: P(no stock-out in a cycle),
    # or the share of units served from stock (then z solves σ_L·G(z) = (1 − level)·Q, Q = d·R
    # or the EOQ)
    review_days: float = 14.0  # R: the cycle an order-up-to order covers beyond the ROP
    rule: OrderRule = "order_up_to"
    # service_level is for a cycle of review_days; each item's is scaled to its own cycle
    # (EOQ / d days under EOQ), see service_level_for_cycle. No change under order-up-to.
    allocate_by_cycle: bool = False
    # The shape of demand over the lead time: "normal" (SS = z·σ_L), or "lognormal" (the ROP is
    # the lognormal's quantile at the service level, same mean and σ_L; SS = ROP − d·L, below
    # zero for erratic items at middling levels). "lognormal" works with the cycle measure only.
    lead_time_demand: LeadTimeDemand = "normal"
    pack_size: int = 1
    moq: int = 1
    order_cost: float = 50.0  # K, per order (EOQ only)
    holding_rate: float = 0.25  # h, per year (EOQ only)
    unit_cost: float = 1.0  # c (EOQ only)


@dataclass(frozen=True, slots=True)
class ReorderPlan:
    """The numbers behind a reorder decision, all in units (days for lead times)."""

    demand: float  # d, units/day over the lead time
    demand_std: float  # σd, units/day
    lead_time: float  # L, days
    lead_time_std: float  # σL, days
    service_level: float
    z: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    position: int
    quantity: int  # what to order now: 0 unless the position is at or below the ROP

    @property
    def due(self) -> bool:
        return self.position <= self.reorder_point


def plan(
    demand: float,
    demand_std: float,
    lead_time: float,
    lead_time_std: float,
    position: InventoryPosition,
    settings: PolicySettings,
) -> ReorderPlan:
    """Safety stock, ROP and order-up-to level; the rounded quantity when IP ≤ ROP."""
    level = settings.service_level
    cycle_units = demand * settings.review_days
    if settings.rule == "eoq":
        cycle_units = eoq(
            demand * 365.0, settings.order_cost, settings.holding_rate, settings.unit_cost
        )
    if settings.allocate_by_cycle and demand > 0:
        level = service_level_for_cycle(level, cycle_units / demand, settings.review_days)
    spread = math.sqrt(max(0.0, lead_time * demand_std**2 + demand**2 * lead_time_std**2))
    if settings.lead_time_demand == "lognormal":
        if settings.measure != "cycle":
            msg = "a lognormal lead-time demand sets the ROP for a cycle service level only"
            raise ValueError(msg)
        z = z_for(level)
        rop = lognormal_quantile(demand * lead_time, spread, level)
        safety = rop - demand * lead_time
    else:
        if settings.measure == "fill_rate":
            z = fill_rate_factor(level, cycle_units, spread)
        else:
            z = z_for(level)
        safety = safety_stock(z, demand, demand_std, lead_time, lead_time_std)
        rop = reorder_point(demand, lead_time, safety)
    up_to = rop + demand * settings.review_days
    ip = position.value
    quantity = 0
    if ip <= rop and demand > 0:
        raw = max(cycle_units, rop - ip) if settings.rule == "eoq" else up_to - ip
        quantity = round_to_pack(raw, settings.pack_size, settings.moq)
    return ReorderPlan(
        demand=demand,
        demand_std=demand_std,
        lead_time=lead_time,
        lead_time_std=lead_time_std,
        service_level=level,
        z=z,
        safety_stock=safety,
        reorder_point=rop,
        order_up_to=up_to,
        position=ip,
        quantity=quantity,
    )
