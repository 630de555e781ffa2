"""Order routing: which site ships each line of an order, chosen by cost, with the reasons.

    plan(order, picture, policy) -> RoutingPlan

`order` is an `OrderToRoute` (base units), `picture` a `NetworkPicture` (what the network looks
like now: site ATP per SKU, daily demand, backlog, shipments already open), `policy` a
`state.routing_policy.RoutingPolicy`. The plan gives every line a primary site and the sources
it expects to allocate from, the cost breakdown and the alternatives that were priced. The
planner only proposes: the keyed commit (`state.allocation.allocate`) is the truth. It prefers
the plan's site (`OrderLine.site`), takes what that site lost meanwhile from the plan's other
sites in the plan's order (`OrderLine.fallback_sites`), and never reserves more than is
available anywhere.

Pricing a candidate (a primary site per line; formulas in `state.routing_policy`):

    sources(line)  = min(q, atp left at the primary site), then the rest from the other sites
                     with stock in the line's fallback order (what the commit will do)
    cost           = Σ_s shipment(s, zone, kg_s) + split(#sites) + Σ_s overflow(s, units_s)
                     + Σ_(line,s) depletion(k, s, units) + unfilled(Σ units with no source)

A shipment whose (site, zone) is already open (`picture.open_shipments`: another order of the
same batch window ships there) costs only its kilograms: that is how batching lowers cost. The
plan names those sites (`joined`), so the decision's committed cost does not charge them again.

Fallback order: candidates are priced with every line's other sites cheapest lane first; the
chosen plan then ranks, per line, every other site shipping to the zone by its marginal cost
for that line (what shipping the whole line from there would add to the plan as it stands:

    marginal(line, s) = lane(s, zone).per_kg × kg(line) + per_shipment unless s already ships
                        + split_penalty if s is a new site + overflow(s) + depletion(line, s)

ties by site name) and is priced again with that order, which the commit follows.

Candidates: for each site, "consolidate there" (every line it can fill whole goes there, every
other line to the cheapest site that can fill it); "cheapest lane per line"; and, when
sites^lines ≤ `policy.exhaustive_limit`, every site-per-line combination among sites with stock.
The cheapest candidate wins (ties: fewer sites, then site names), so consolidation is preferred
exactly when a split costs more. A line the customer pinned to a site (`site` set) stays there.

Baselines for the benchmark: `plan_nearest` (each line from the nearest site, by its lane price,
that can fill it, else the nearest with any stock) and `plan_largest_stock` (each line from the
site holding the most of it). Both are priced with the same cost model.

Scarcity: `plan_batch` plans a window's orders one after the other in priority order
(`priority_key`), each against the picture left by the ones before, so the batch never plans a
unit twice and the most urgent orders are served first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from state.catalog import Catalog
from state.events import OrderPlaced
from state.routing_policy import Lane, RoutingPolicy
from state.values import quick_init

EMPTY_ATP: Mapping[str, int] = {}  # never written: the picture of a SKU it knows nothing of
Assignment = tuple[str | None, ...]  # a primary site per line (None: nowhere to ship from)
PriorityKey = tuple[int, int, datetime, str]


@quick_init
@dataclass(frozen=True, slots=True)
class LineToRoute:
    """One order line in base units (a kit line counts kits: the picture holds kit ATP)."""

    sku: str
    quantity: int
    site: str | None = None  # pinned by the customer


@quick_init
@dataclass(frozen=True, slots=True)
class OrderToRoute:
    order_id: str
    event_id: str
    region: str
    channel: str
    placed_at: datetime
    lines: tuple[LineToRoute, ...]
    channel_priority: int = 1
    customer_tier: str = "standard"
    priority: int = 0


def order_to_route(order: OrderPlaced, catalog: Catalog) -> OrderToRoute:
    """The order in base units, its channel's priority from the catalog (unknown: last)."""
    lines = []
    for line in order.lines:
        sku = catalog.skus.get(line.sku)
        quantity = line.quantity
        if sku is not None and line.unit is not None and line.unit != sku.units.base:
            quantity = sku.units.to_base(line.quantity, line.unit)
        lines.append(LineToRoute(line.sku, quantity, line.site))
    channel = catalog.channels.get(order.channel)
    return OrderToRoute(
        order_id=order.order_id,
        event_id=order.event_id,
        region=order.ship_to.region,
        channel=order.channel,
        placed_at=order.occurred_at,
        lines=tuple(lines),
        channel_priority=channel.priority if channel is not None else 1 << 30,
        customer_tier=order.customer_tier,
        priority=order.priority,
    )


@dataclass(frozen=True, slots=True)
class NetworkPicture:
    """What the planner believes about the network; approximate, the commit is the truth."""

    atp: Mapping[str, Mapping[str, int]]  # SKU -> site -> site ATP (base units)
    daily_demand: Mapping[tuple[str, str], float] = field(default_factory=dict)  # (SKU, site)
    backlog: Mapping[str, int] = field(default_factory=dict)  # site -> units in today's work
    open_shipments: frozenset[tuple[str, str]] = frozenset()  # (site, zone) already paid for

    def site_atp(self, sku: str, site: str) -> int:
        return self.atp.get(sku, {}).get(site, 0)

    def after(self, plan: RoutingPlan) -> NetworkPicture:
        """The picture once `plan` has taken its units and opened its shipments."""
        atp = {sku: dict(sites) for sku, sites in self.atp.items()}
        backlog = dict(self.backlog)
        opened = set(self.open_shipments)
        for line in plan.lines:
            for source in line.sources:
                by_site = atp.setdefault(line.sku, {})
                by_site[source.site] = max(0, by_site.get(source.site, 0) - source.quantity)
                backlog[source.site] = backlog.get(source.site, 0) + source.quantity
                opened.add((source.site, plan.zone))
        return replace(self, atp=atp, backlog=backlog, open_shipments=frozenset(opened))


@quick_init
@dataclass(frozen=True, slots=True)
class Source:
    site: str
    quantity: int


@quick_init
@dataclass(frozen=True, slots=True)
class PlannedLine:
    sku: str
    quantity: int
    site: str | None  # the primary site the commit will prefer
    sources: tuple[Source, ...]  # where the plan expects the units to come from
    fallback: tuple[str, ...] = ()  # the other sites, in the order the commit takes from them

    @property
    def unfilled(self) -> int:
        return self.quantity - sum(source.quantity for source in self.sources)


@quick_init
@dataclass(frozen=True, slots=True)
class CostBreakdown:
    shipping: float = 0.0
    split: float = 0.0
    overflow: float = 0.0
    depletion: float = 0.0
    unfilled: float = 0.0

    @property
    def total(self) -> float:
        return self.shipping + self.split + self.overflow + self.depletion + self.unfilled


@quick_init
@dataclass(frozen=True, slots=True)
class Alternative:
    """A candidate that was priced and not chosen."""

    label: str
    sites: tuple[str | None, ...]  # primary site per line
    cost: CostBreakdown


@quick_init
@dataclass(frozen=True, slots=True)
class RoutingPlan:
    order_id: str
    event_id: str
    zone: str
    strategy: str
    lines: tuple[PlannedLine, ...]
    cost: CostBreakdown
    alternatives: tuple[Alternative, ...] = ()
    joined: tuple[str, ...] = ()  # sites whose shipment to the zone an earlier order opened
    batch: str | None = None  # the batch window it was planned in (`plan_batch`)

    @property
    def sites(self) -> tuple[str, ...]:
        """The sites the plan ships from, in a stable order."""
        return tuple(sorted({s.site for line in self.lines for s in line.sources}))

    def copied(
        self,
        *,
        lines: tuple[PlannedLine, ...] | None = None,
        alternatives: tuple[Alternative, ...] | None = None,
    ) -> RoutingPlan:
        """`dataclasses.replace(self, lines=..., alternatives=...)` through the quick `__init__`
        (a fifth of the time: the planner makes two copies an order). A field added to the class
        must be added here (`tests/unit/test_routing.py` checks)."""
        return RoutingPlan(
            order_id=self.order_id,
            event_id=self.event_id,
            zone=self.zone,
            strategy=self.strategy,
            lines=self.lines if lines is None else lines,
            cost=self.cost,
            alternatives=self.alternatives if alternatives is None else alternatives,
            joined=self.joined,
            batch=self.batch,
        )

    @property
    def label(self) -> str:
        return label_of(self.sites)


def label_of(sites: Sequence[str]) -> str:
    if not sites:
        return "nothing to ship"
    return f"single site {sites[0]}" if len(sites) == 1 else "split " + "+".join(sites)


# ---- pricing --------------------------------------------------------------------------------


def _lane_price(policy: RoutingPolicy, site: str, zone: str, kilograms: float) -> float | None:
    lane = policy.lane(site, zone)
    return None if lane is None else lane.price(kilograms)


def _shipping_sites(policy: RoutingPolicy, zone: str) -> tuple[str, ...]:
    return tuple(site for site, _ in policy.lanes_to(zone))


def _by_lane(
    policy: RoutingPolicy, zone: str, sku: str, units: int, sites: Iterable[str]
) -> list[str]:
    """Sites by the price of shipping these units alone from each, cheapest first."""
    weight = policy.weight(sku, units)
    priced = [(_lane_price(policy, site, zone, weight), site) for site in sites]
    return [site for price, site in sorted((p, s) for p, s in priced if p is not None)]


def lane_orders(order: OrderToRoute, zone: str, policy: RoutingPolicy) -> list[list[str]]:
    """Per line, the sites shipping to `zone` by the price of shipping that line alone from
    each, cheapest first (`_by_lane`). It depends on the order alone, not on a candidate, so
    `plan` works it out once and every candidate it prices shares it."""
    sites = _shipping_sites(policy, zone)
    return [_by_lane(policy, zone, line.sku, line.quantity, sites) for line in order.lines]


def price(
    order: OrderToRoute,
    assignment: Assignment,
    picture: NetworkPicture,
    policy: RoutingPolicy,
    strategy: str = "cost",
    fallbacks: Sequence[Sequence[str]] | None = None,
) -> RoutingPlan:
    """The plan an assignment of primary sites leads to, with its cost (module doc); each
    line's other sites in `fallbacks`' order when given, else cheapest lane first."""
    zone = policy.zone(order.region)
    if fallbacks is None:
        fallbacks = lane_orders(order, zone, policy)
    left: dict[tuple[str, str], int] = {}
    lines: list[PlannedLine] = []
    depletion = 0.0
    unfilled = 0
    for index, (line, primary) in enumerate(zip(order.lines, assignment, strict=True)):
        wanted = line.quantity
        sources: list[Source] = []
        others = fallbacks[index]
        fallback = tuple([s for s in others if s != primary])
        order_of_sites = [primary, *fallback] if primary is not None else fallback
        pictured = picture.atp.get(line.sku, EMPTY_ATP)  # `site_atp`, looked up once a line
        for site in order_of_sites:
            if wanted <= 0:
                break
            atp = left.get((line.sku, site))
            if atp is None:
                atp = pictured.get(site, 0)
            take = min(wanted, atp)
            if take <= 0:
                continue
            demand = picture.daily_demand.get((line.sku, site), 0.0)
            if demand > 0:  # else `depletion` is 0.0: no call for the many SKUs with no demand
                depletion += policy.depletion(site, atp, demand, take)
            left[(line.sku, site)] = atp - take
            sources.append(Source(site, take))
            wanted -= take
        unfilled += wanted  # = the line's `unfilled`: its quantity less what it sourced
        lines.append(PlannedLine(line.sku, line.quantity, primary, tuple(sources), fallback))
    units: dict[str, int] = {}
    kilograms: dict[str, float] = {}
    for planned in lines:
        for source in planned.sources:
            units[source.site] = units.get(source.site, 0) + source.quantity
            kilograms[source.site] = kilograms.get(source.site, 0.0) + policy.weight(
                planned.sku, source.quantity
            )
    cost = CostBreakdown(
        shipping=shipping_cost(policy, zone, kilograms, picture.open_shipments),
        split=policy.split_penalty * max(0, len(units) - 1),
        overflow=sum(
            policy.overflow(site, picture.backlog.get(site, 0), n) for site, n in units.items()
        ),
        depletion=depletion,
        unfilled=policy.unfilled_cost * unfilled,
    )
    joined = tuple(sorted(s for s in kilograms if (s, zone) in picture.open_shipments))
    return RoutingPlan(
        order.order_id, order.event_id, zone, strategy, tuple(lines), cost, joined=joined
    )


def shipping_cost(
    policy: RoutingPolicy,
    zone: str,
    kilograms: Mapping[str, float],
    open_shipments: frozenset[tuple[str, str]] = frozenset(),
) -> float:
    """Σ over sites shipped from: the lane's fixed part (unless already open) + per kg."""
    total = 0.0
    for site, weight in kilograms.items():
        lane = policy.lane(site, zone)
        if lane is None:
            continue  # a site without a lane is never a source (see _by_lane)
        fixed = 0.0 if (site, zone) in open_shipments else lane.per_shipment
        total += fixed + lane.per_kg * weight
    return total


# ---- candidates -----------------------------------------------------------------------------


def _fills(picture: NetworkPicture, line: LineToRoute, site: str) -> bool:
    return picture.site_atp(line.sku, site) >= line.quantity


def _best_alone(line: LineToRoute, sites: Sequence[str], picture: NetworkPicture) -> str | None:
    """The cheapest site that can fill the line alone, else the one holding most of it
    (`sites`: the line's lane order)."""
    if line.site is not None:
        return line.site
    for site in sites:
        if _fills(picture, line, site):
            return site
    stocked = [s for s in sites if picture.site_atp(line.sku, s) > 0]
    if not stocked:
        return sites[0] if sites else None
    return max(stocked, key=lambda s: picture.site_atp(line.sku, s))  # first max: cheapest


def candidates(
    order: OrderToRoute,
    picture: NetworkPicture,
    policy: RoutingPolicy,
    lanes: Sequence[Sequence[str]] | None = None,
) -> list[Assignment]:
    """The assignments worth pricing (module doc); `lanes`: `lane_orders` of the order."""
    zone = policy.zone(order.region)
    sites = _shipping_sites(policy, zone)
    if lanes is None:
        lanes = lane_orders(order, zone, policy)
    alone = tuple(
        _best_alone(line, by_lane, picture)
        for line, by_lane in zip(order.lines, lanes, strict=True)
    )
    found: dict[Assignment, None] = {alone: None}
    for site in sites:
        found[
            tuple(
                line.site or (site if _fills(picture, line, site) else best)
                for line, best in zip(order.lines, alone, strict=True)
            )
        ] = None
    choices: list[tuple[str | None, ...]] = []
    for line, best in zip(order.lines, alone, strict=True):
        stocked = tuple(s for s in sites if picture.site_atp(line.sku, s) > 0)
        choices.append((line.site,) if line.site is not None else (stocked or (best,)))
    size = 1
    for options in choices:
        size *= len(options)
        if size > policy.exhaustive_limit:
            break
    if size <= policy.exhaustive_limit:
        found.update(dict.fromkeys(itertools.product(*choices)))
    return list(found)


def _rank(plan: RoutingPlan) -> tuple[float, int, tuple[str, ...]]:
    sites = plan.sites
    return (round(plan.cost.total, 9), len(sites), sites)


def _units_elsewhere(chosen: RoutingPlan, index: int, totals: Mapping[str, int]) -> dict[str, int]:
    """Units per site of every line of `chosen` but line `index` (`totals`: of every line)."""
    others = dict(totals)
    for source in chosen.lines[index].sources:
        others[source.site] -= source.quantity
    return {site: n for site, n in others.items() if n > 0}


def _site_totals(chosen: RoutingPlan) -> dict[str, int]:
    totals: dict[str, int] = {}
    for planned in chosen.lines:
        for source in planned.sources:
            totals[source.site] = totals.get(source.site, 0) + source.quantity
    return totals


def _marginal(
    line: LineToRoute,
    zone: str,
    others: Mapping[str, int],
    site: str,
    picture: NetworkPicture,
    policy: RoutingPolicy,
) -> float:
    lane = policy.lane(site, zone)
    assert lane is not None, "rank only the sites that ship to the zone"
    kilograms = policy.weight(line.sku, line.quantity)
    return _marginal_on(lane, kilograms, line, zone, others, site, picture, policy)


def _marginal_on(
    lane: Lane,
    kilograms: float,
    line: LineToRoute,
    zone: str,
    others: Mapping[str, int],
    site: str,
    picture: NetworkPicture,
    policy: RoutingPolicy,
) -> float:
    """`_marginal` with the site's lane and the line's weight already looked up (the ranking
    asks for every line × site of an order)."""
    opened = site in others or (site, zone) in picture.open_shipments
    cost = lane.per_kg * kilograms
    cost += 0.0 if opened else lane.per_shipment
    cost += policy.split_penalty if others and site not in others else 0.0
    backlog = picture.backlog.get(site, 0) + others.get(site, 0)
    cost += policy.overflow(site, backlog, line.quantity)
    demand = picture.daily_demand.get((line.sku, site), 0.0)
    if demand <= 0:  # `depletion` is 0.0: no ATP lookup and call for the many SKUs with no demand
        return cost + 0.0
    return cost + policy.depletion(site, picture.site_atp(line.sku, site), demand, line.quantity)


def marginal_cost(
    order: OrderToRoute,
    chosen: RoutingPlan,
    index: int,
    site: str,
    picture: NetworkPicture,
    policy: RoutingPolicy,
) -> float:
    """What shipping line `index` whole from `site` adds to `chosen`'s other lines (module
    doc); `site` must have a lane to the plan's zone."""
    others = _units_elsewhere(chosen, index, _site_totals(chosen))
    return _marginal(order.lines[index], chosen.zone, others, site, picture, policy)


def with_ranked_fallbacks(
    order: OrderToRoute, chosen: RoutingPlan, picture: NetworkPicture, policy: RoutingPolicy
) -> RoutingPlan:
    """`chosen` priced again with each line's other sites by marginal cost (module doc)."""
    zone = chosen.zone
    lanes = policy.lanes_to(zone)
    totals = _site_totals(chosen)
    fallbacks = []
    for n, (line, planned) in enumerate(zip(order.lines, chosen.lines, strict=True)):
        others = _units_elsewhere(chosen, n, totals)
        kilograms = policy.weight(line.sku, line.quantity)
        costs = [
            (_marginal_on(lane, kilograms, line, zone, others, site, picture, policy), site)
            for site, lane in lanes
            if site != planned.site
        ]
        fallbacks.append([site for _, site in sorted(costs)])
    if all(_filled_by_primary(planned) for planned in chosen.lines):
        # Priced again, no line would reach its fallbacks: the same sites visited in the same
        # order give the same sources and cost, so only the fallbacks' new order is written.
        lines = tuple(
            PlannedLine(planned.sku, planned.quantity, planned.site, planned.sources, tuple(ranked))
            for planned, ranked in zip(chosen.lines, fallbacks, strict=True)
        )
        return chosen.copied(lines=lines)
    assignment = tuple(planned.site for planned in chosen.lines)
    return price(order, assignment, picture, policy, chosen.strategy, fallbacks)


def _filled_by_primary(planned: PlannedLine) -> bool:
    """Whether pricing took the whole line from its primary site, or it wanted nothing: either
    way no fallback site was looked at."""
    if planned.quantity <= 0:
        return True
    sources = planned.sources
    return (
        len(sources) == 1
        and sources[0].site == planned.site
        and sources[0].quantity == planned.quantity
    )


def plan(
    order: OrderToRoute, picture: NetworkPicture, policy: RoutingPolicy, *, alternatives: int = 4
) -> RoutingPlan:
    """The cheapest candidate, with up to `alternatives` others (the best of each label)."""
    lanes = lane_orders(order, policy.zone(order.region), policy)
    ranked = sorted(
        (
            _ranked(price(order, a, picture, policy, fallbacks=lanes))
            for a in candidates(order, picture, policy, lanes)
        ),
        key=_first,
    )
    chosen = with_ranked_fallbacks(order, ranked[0][1], picture, policy)
    seen = {chosen.label}
    others: list[Alternative] = []
    for (_, _, sites), other in ranked[1:]:
        if len(others) >= alternatives:
            break
        label = label_of(sites)
        if label in seen:
            continue
        seen.add(label)
        others.append(Alternative(label, tuple(line.site for line in other.lines), other.cost))
    return chosen.copied(alternatives=tuple(others))


Rank = tuple[float, int, tuple[str, ...]]


def _ranked(plan: RoutingPlan) -> tuple[Rank, RoutingPlan]:
    """`plan` with its `_rank`, worked out once (its sites are sorted from its sources)."""
    return _rank(plan), plan


def _first(item: tuple[Rank, RoutingPlan]) -> Rank:
    return item[0]


def plan_nearest(
    order: OrderToRoute, picture: NetworkPicture, policy: RoutingPolicy
) -> RoutingPlan:
    """Baseline: each line from the nearest site (cheapest lane) that can fill it alone, else
    the nearest site with any of it."""
    zone = policy.zone(order.region)
    sites = _shipping_sites(policy, zone)
    assignment: list[str | None] = []
    for line in order.lines:
        near = _by_lane(policy, zone, line.sku, line.quantity, sites)
        whole = [s for s in near if _fills(picture, line, s)]
        some = [s for s in near if picture.site_atp(line.sku, s) > 0]
        assignment.append(line.site or next(iter(whole or some or near), None))
    return price(order, tuple(assignment), picture, policy, strategy="nearest")


def plan_largest_stock(
    order: OrderToRoute, picture: NetworkPicture, policy: RoutingPolicy
) -> RoutingPlan:
    """Baseline: each line from the site holding the most of its SKU (ties: nearest)."""
    zone = policy.zone(order.region)
    sites = _shipping_sites(policy, zone)
    assignment: list[str | None] = []
    for line in order.lines:
        near = _by_lane(policy, zone, line.sku, line.quantity, sites)
        most = max(near, key=lambda s: picture.site_atp(line.sku, s), default=None)
        assignment.append(line.site or most)
    return price(order, tuple(assignment), picture, policy, strategy="largest_stock")


Planner = Callable[[OrderToRoute, NetworkPicture, RoutingPolicy], RoutingPlan]


def priority_key(order: OrderToRoute, policy: RoutingPolicy) -> PriorityKey:
    """Lower is served first: channel priority, customer tier rank, order age, then the id."""
    return (
        order.channel_priority,
        policy.tier_rank(order.customer_tier),
        order.placed_at,
        order.order_id,
    )


def plan_batch(
    orders: Iterable[OrderToRoute],
    picture: NetworkPicture,
    policy: RoutingPolicy,
    planner: Planner = plan,
    *,
    batch: str | None = None,
) -> tuple[list[RoutingPlan], NetworkPicture]:
    """Plan a window's orders in priority order; returns the plans and the picture after them.
    Each plan joins the shipments the ones before it opened, and is labelled with `batch`.

    Invariant: Σ over the batch's plans of the units sourced from a (SKU, site) never exceeds
    the picture's ATP there.
    """
    plans = []
    for order in sorted(orders, key=lambda o: priority_key(o, policy)):
        chosen = planner(order, picture, policy)
        plans.append(chosen if batch is None else replace(chosen, batch=batch))
        picture = picture.after(chosen)
    return plans, picture


def with_sites(order: OrderPlaced, chosen: RoutingPlan) -> OrderPlaced:
    """The order with each line's site set to the plan's primary site and its fallback sites
    to the plan's order (what the customer pinned stays); the order itself when nothing changes.
    Lines are compared by the two fields a copy would change (pydantic's `==` on whole lines was
    a tenth of routing an order)."""
    lines = []
    changed = False
    for line, planned in zip(order.lines, chosen.lines, strict=True):
        site = line.site or planned.site
        fallback = line.fallback_sites or planned.fallback
        if site == line.site and fallback == line.fallback_sites:
            lines.append(line)
            continue
        lines.append(line.model_copy(update={"site": site, "fallback_sites": fallback}))
        changed = True
    return order.model_copy(update={"lines": tuple(lines)}) if changed else order
