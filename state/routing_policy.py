"""What routing may cost: the rate table, the penalties and the sites' limits, as one value.

A `RoutingPolicy` is configuration (built once where the program is wired, like the catalog);
`state.routing` prices candidate plans with it. Money is in one currency (the benchmark states
pounds), weights in kilograms, time in days, quantities in base units.

    zone(region)            = zones[region], else default_zone
    shipment(s, z, w)       = lane(s, z).per_shipment + lane(s, z).per_kg × w
                              (w = Σ units × unit weight of the lines shipped from s)
    split(n)                = split_penalty × (n − 1)            n = sites an order ships from
    overflow(s, q)          = overflow_cost × (max(0, B_s + q − C_s) − max(0, B_s − C_s))
                              B_s = the site's backlog, C_s = its capacity per day: the units of
                              this order that fall beyond what the site can process today
    depletion(k, s, q)      = depletion_cost × min(q, max(0, d_ks × L_s − (atp_ks − q)))
                              d_ks = daily demand for SKU k at s, L_s = the site's lead time:
                              the units this order takes that the site is forecast to need
                              before its next replenishment (cover after the order < lead time)
    unfilled(q)             = unfilled_cost × units the plan expects nobody can ship

A lane that is missing means the site does not ship to that zone. Every term is ≥ 0, so a plan's
total is too. Priority under scarcity ranks orders by (channel priority, customer tier rank,
placed_at, order id): lower is served first (`tier_ranks`, unknown tiers rank last).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Lane:
    """The carrier's price from one site to one zone: a fixed part and a part per kilogram."""

    per_shipment: float
    per_kg: float = 0.0

    def __post_init__(self) -> None:
        if self.per_shipment < 0 or self.per_kg < 0:
            msg = f"a lane's rates cannot be negative: {self}"
            raise ValueError(msg)

    def price(self, kilograms: float) -> float:
        return self.per_shipment + self.per_kg * kilograms


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """The cost model's parameters (see the module doc for the formulas)."""

    lanes: Mapping[tuple[str, str], Lane]  # (site, zone) -> lane
    zones: Mapping[str, str] = field(default_factory=dict)  # ship-to region -> zone
    default_zone: str = "ROW"
    unit_weight_kg: float = 0.25
    weights_kg: Mapping[str, float] = field(default_factory=dict)  # SKU -> kg per base unit
    split_penalty: float = 5.0
    capacity: Mapping[str, int] = field(default_factory=dict)  # site -> units per day
    overflow_cost: float = 1.0
    lead_time_days: Mapping[str, float] = field(default_factory=dict)  # site -> days
    default_lead_time_days: float = 7.0
    depletion_cost: float = 0.5
    unfilled_cost: float = 20.0
    tier_ranks: Mapping[str, int] = field(default_factory=dict)  # customer tier -> rank
    exhaustive_limit: int = 256  # evaluate every site-per-line plan when there are this few
    # Worked out once (the planner asks for them several times an order): every site with a
    # lane, sorted, and per zone the sites shipping to it with their lanes.
    _sites: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    _lanes_to: dict[str, tuple[tuple[str, Lane], ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        costs = (self.split_penalty, self.overflow_cost, self.depletion_cost, self.unfilled_cost)
        if min(costs) < 0 or self.unit_weight_kg < 0:
            msg = "routing penalties and weights cannot be negative"
            raise ValueError(msg)
        if any(c <= 0 for c in self.capacity.values()):
            msg = "a site's capacity per day must be positive (leave it out for no limit)"
            raise ValueError(msg)
        if any(days < 0 for days in (*self.lead_time_days.values(), self.default_lead_time_days)):
            msg = "lead times cannot be negative"
            raise ValueError(msg)
        object.__setattr__(self, "_sites", tuple(sorted({site for site, _ in self.lanes})))

    @property
    def sites(self) -> tuple[str, ...]:
        """Every site with at least one lane, in a stable order."""
        return self._sites

    def lanes_to(self, zone: str) -> tuple[tuple[str, Lane], ...]:
        """The sites with a lane to `zone`, in `sites`' order, each with its lane."""
        found = self._lanes_to.get(zone)
        if found is None:
            found = tuple(
                (site, lane)
                for site in self._sites
                if (lane := self.lanes.get((site, zone))) is not None
            )
            self._lanes_to[zone] = found
        return found

    @property
    def zone_names(self) -> tuple[str, ...]:
        """Every zone an order can be bound for or a lane serves, in a stable order."""
        lanes = (zone for _, zone in self.lanes)
        return tuple(sorted({*self.zones.values(), self.default_zone, *lanes}))

    def zone(self, region: str) -> str:
        return self.zones.get(region, self.default_zone)

    def lane(self, site: str, zone: str) -> Lane | None:
        return self.lanes.get((site, zone))

    def weight(self, sku: str, units: int) -> float:
        return self.weights_kg.get(sku, self.unit_weight_kg) * units

    def lead_time(self, site: str) -> float:
        return self.lead_time_days.get(site, self.default_lead_time_days)

    def tier_rank(self, tier: str) -> int:
        return self.tier_ranks.get(tier, len(self.tier_ranks))

    def overflow(self, site: str, backlog: int, units: int) -> float:
        capacity = self.capacity.get(site)
        if capacity is None or units <= 0:
            return 0.0
        beyond = max(0, backlog + units - capacity) - max(0, backlog - capacity)
        return self.overflow_cost * beyond

    def depletion(self, site: str, atp: int, daily_demand: float, units: int) -> float:
        """Units taken that the site is forecast to need before its next replenishment."""
        if daily_demand <= 0 or units <= 0:
            return 0.0
        needed = daily_demand * self.lead_time(site)
        short = min(float(units), max(0.0, needed - (atp - units)))
        return self.depletion_cost * short
