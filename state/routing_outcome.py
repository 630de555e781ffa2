"""`OrderRouted`: one explained decision per order, from its plan and the per-SKU commits.

    order_routed(plan, order, outcomes, policy) -> OrderRouted | None

The plan (`state.routing.RoutingPlan`) says where each line should come from and why; the
commits are what each SKU's single writer did with the order (`LineAllocated` per line, or a
`Rejected` refusing the SKU whole). The decision reports, per line and SKU, what was allocated
where, what was backordered or rejected, and whether the commit fell back from the plan (the
planned site lost the stock meanwhile, or a short line's rest came from other sites than the
plan's). Invariant, per line: allocated + backordered + rejected = ordered; a SKU refused whole
counts its lines as rejected. None when every SKU answered `Duplicate` (the order was already
decided: a redelivery decides nothing).

    committed cost = shipment(s, zone, kg) over the sites actually reserved at
                     + split(#those sites) + the plan's overflow and depletion estimates
                     + unfilled_cost × (backordered + rejected units)

A shipment from a site the plan joined (`RoutingPlan.joined`: an earlier order of the same batch
window opened that site's shipment to the zone) costs only its kilograms; the decision lists
those sites in `shared_shipments`, and its batch. (The plan is what says a shipment is open: if
the earlier order's commit fell back elsewhere, the saving is overstated by that fixed part.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from state.outputs import Duplicate, LineAllocated, Rejected
from state.routing import (
    Alternative,
    CostBreakdown,
    OrderToRoute,
    RoutingPlan,
    Source,
    shipping_cost,
)
from state.routing_policy import RoutingPolicy
from state.values import quick_init

Outcome = LineAllocated | Rejected | Duplicate


def site_of(location: str) -> str:
    """The site of a bin path "SITE/ZONE/...": its first part."""
    return location.split("/", 1)[0]


@quick_init
@dataclass(frozen=True, slots=True)
class RoutedLine:
    """One order line's outcome for one SKU (a kit line has one per component)."""

    sku: str
    ordered_sku: str
    planned_site: str | None
    ordered: int
    allocated: int
    backordered: int
    rejected: int
    sources: tuple[Source, ...]  # allocated units per site, as committed
    fell_back: bool  # some units came from a site the plan did not expect them from
    refusal: str | None = None  # the rejection code when the SKU was refused whole


@quick_init
@dataclass(frozen=True, slots=True)
class OrderRouted:
    event_id: str
    order_id: str
    region: str
    zone: str
    strategy: str
    decided_at: datetime  # event time of the OrderPlaced
    lines: tuple[RoutedLine, ...]
    sites: tuple[str, ...]  # sites actually reserved at
    cost: CostBreakdown  # as committed (module doc)
    planned_sites: tuple[str, ...]
    planned_cost: CostBreakdown
    alternatives: tuple[Alternative, ...]
    batch: str | None = None  # the batch window the order was planned in
    shared_shipments: tuple[str, ...] = ()  # sites whose fixed shipping part it did not pay

    @property
    def ordered(self) -> int:
        return sum(line.ordered for line in self.lines)

    @property
    def allocated(self) -> int:
        return sum(line.allocated for line in self.lines)

    @property
    def backordered(self) -> int:
        return sum(line.backordered for line in self.lines)

    @property
    def rejected(self) -> int:
        return sum(line.rejected for line in self.lines)

    @property
    def split(self) -> bool:
        return len(self.sites) > 1


def _sources(outcome: LineAllocated) -> tuple[Source, ...]:
    by_site: dict[str, int] = {}
    for reserved in outcome.reservations:
        site = site_of(reserved.location)
        by_site[site] = by_site.get(site, 0) + reserved.quantity
    return tuple(Source(site, n) for site, n in sorted(by_site.items()))


def order_routed(
    plan: RoutingPlan,
    order: OrderToRoute,
    outcomes: Iterable[Outcome],
    policy: RoutingPolicy,
) -> OrderRouted | None:
    """The decision on `order` (see the module doc); `outcomes` are every SKU's answers."""
    answers = list(outcomes)
    if answers and all(isinstance(a, Duplicate) for a in answers):
        return None
    planned = {line.sku: line.site for line in plan.lines}
    expected: dict[str, set[str | None]] = {}
    for step in plan.lines:
        expected.setdefault(step.sku, {step.site}).update(s.site for s in step.sources)
    lines: list[RoutedLine] = []
    for outcome in answers:
        if isinstance(outcome, LineAllocated):
            sources = _sources(outcome)
            site = planned.get(outcome.ordered_sku)
            lines.append(
                RoutedLine(
                    sku=outcome.sku,
                    ordered_sku=outcome.ordered_sku,
                    planned_site=site,
                    ordered=outcome.ordered,
                    allocated=outcome.allocated,
                    backordered=outcome.backordered,
                    rejected=outcome.rejected,
                    sources=sources,
                    fell_back=any(
                        s.site not in expected.get(outcome.ordered_sku, {site}) for s in sources
                    ),
                )
            )
        elif isinstance(outcome, Rejected):
            for asked in order.lines:
                if asked.sku == outcome.sku:
                    lines.append(_refused(asked.sku, asked.quantity, planned, outcome))
    lines.sort(key=lambda line: (line.ordered_sku, line.sku))
    kilograms: dict[str, float] = {}
    for line in lines:
        for source in line.sources:
            kilograms[source.site] = kilograms.get(source.site, 0.0) + policy.weight(
                line.sku, source.quantity
            )
    unfilled = sum(line.backordered + line.rejected for line in lines)
    shared = tuple(site for site in sorted(kilograms) if site in plan.joined)
    cost = CostBreakdown(
        shipping=shipping_cost(
            policy, plan.zone, kilograms, frozenset((site, plan.zone) for site in shared)
        ),
        split=policy.split_penalty * max(0, len(kilograms) - 1),
        overflow=plan.cost.overflow,
        depletion=plan.cost.depletion,
        unfilled=policy.unfilled_cost * unfilled,
    )
    return OrderRouted(
        event_id=plan.event_id,
        order_id=plan.order_id,
        region=order.region,
        zone=plan.zone,
        strategy=plan.strategy,
        decided_at=order.placed_at,
        lines=tuple(lines),
        sites=tuple(sorted(kilograms)),
        cost=cost,
        planned_sites=plan.sites,
        planned_cost=plan.cost,
        alternatives=plan.alternatives,
        batch=plan.batch,
        shared_shipments=shared,
    )


def _refused(
    sku: str, quantity: int, planned: dict[str, str | None], outcome: Rejected
) -> RoutedLine:
    return RoutedLine(
        sku=sku,
        ordered_sku=sku,
        planned_site=planned.get(sku),
        ordered=quantity,
        allocated=0,
        backordered=0,
        rejected=quantity,
        sources=(),
        fell_back=False,
        refusal=outcome.code.value,
    )
