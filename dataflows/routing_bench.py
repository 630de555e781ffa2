"""`skuflow bench routing`: the routing strategies on the Online Retail orders, in one process.

No Kafka and no Bytewax: every event is folded through the pure core (`state.apply`) exactly as
the flow keys it, one `SkuStock` per SKU, so the stock each strategy sees is the core's own and
nothing can be oversold. Each strategy gets the same inbound supply and the same orders:

- **Orders**: the replay's `OrderPlaced` events with their sites removed (the replay pins every
  line to its country's site; here the strategy chooses), Country as the ship-to region.
- **Supply**: the replay's synthesised receipts (same units, same times), each sent whole to one
  site: the site furthest below its share of the SKU's supply so far, a site's share being its
  share of the SKU's units ordered under the replay's own country → site rule (`Supply`), so in
  the long run every site receives what its own customers order. `supply="spread"` splits every
  receipt across the sites by those shares instead (largest remainder). Received and put away at
  once.
- **Picks**: every reservation is picked and shipped 2 hours after its order (the replay's
  `PICK_DELAY`); the replay's own picks and shipments are dropped. Cancellations, returns and
  write-offs are the replay's (a write-off of stock that is not at its site is refused by the
  core and counted).
- **Picture**: exact site ATP from the core; daily demand per (SKU, site) = the SKU's units
  ordered over the trailing 28 days / 28 × the site's demand share; backlog = units committed to
  the site on the order's day.

Strategies: `nearest` (nearest site that can fill each line), `largest_stock` (the site holding
most of each line's SKU), `cost` (`state.routing.plan`), and `cost_batched` (the cost model on
windows of `window` minutes per zone, as the flow batches with `--batch-minutes`: the same
`state.routing_window` rule, advanced by every event's time, and the same `plan_batch`, so a
window's orders are planned in priority order and join the shipments already open to their zone).
A line's rest, when its planned site is short, comes from the plan's ranked fallback sites.

Metrics: shipping cost (a shipment's fixed part is paid once per (order, site), or once per
(window, site, zone) for the batched strategy, plus its kilograms), split-shipment rate (orders
shipped from more than one site / orders with anything allocated), unfilled rate (backordered +
rejected units / units ordered), and misplaced stock: at each month end, ½ Σ_s |share of the
SKU's available units at s − share of its demand at s|, averaged over SKUs weighted by their
available units (0: stock sits exactly where its demand is; 1: all of it in the wrong places).
"""

from __future__ import annotations

import heapq
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from connectors.replay.online_retail import PICK_DELAY, SITES, dock, pick_bin
from state.apply import apply
from state.atp import sellable_by_site
from state.catalog import Catalog
from state.events import (
    Event,
    OrderLine,
    OrderPlaced,
    Picked,
    PutAway,
    ReceiptLine,
    ReceiptPosted,
    Shipped,
    StockAdjusted,
    narrowed,
    skus_of,
)
from state.outputs import Duplicate, LineAllocated, Output, Rejected
from state.routing import (
    NetworkPicture,
    OrderToRoute,
    Planner,
    RoutingPlan,
    order_to_route,
    plan,
    plan_batch,
    plan_largest_stock,
    plan_nearest,
    with_sites,
)
from state.routing_outcome import OrderRouted, order_routed
from state.routing_policy import RoutingPolicy
from state.routing_window import BatchWindow, admit, advance
from state.stock import SkuStock

STRATEGIES: Mapping[str, Planner] = {
    "nearest": plan_nearest,
    "largest_stock": plan_largest_stock,
    "cost": plan,
    "cost_batched": plan,
}
DEMAND_DAYS = 28
SupplyRule = Literal["whole", "spread"]


def demand_shares(events: Iterable[Event]) -> dict[str, dict[str, float]]:
    """Per SKU, each site's share of its units ordered under the replay's own site rule."""
    units: dict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        if isinstance(event, OrderPlaced):
            for line in event.lines:
                units[line.sku][line.site or SITES[0]] += line.quantity
    return {
        sku: {site: n / sum(by_site.values()) for site, n in by_site.items()}
        for sku, by_site in units.items()
    }


class Supply:
    """Sends each receipt whole to the site furthest below its demand share of the SKU's supply:
    the site s maximising share_s × (received + q) − received_s (ties: the site order), so over
    time each site receives its share of every SKU, one whole receipt at a time."""

    def __init__(self, shares: Mapping[str, Mapping[str, float]]) -> None:
        self._shares = shares
        self._received: dict[str, Counter[str]] = defaultdict(Counter)

    def site_for(self, sku: str, quantity: int) -> str:
        shares = self._shares.get(sku) or {SITES[0]: 1.0}
        got = self._received[sku]
        after = sum(got.values()) + quantity
        site = max(SITES, key=lambda s: (shares.get(s, 0.0) * after - got[s], -SITES.index(s)))
        got[site] += quantity
        return site


def spread(quantity: int, shares: Mapping[str, float]) -> dict[str, int]:
    """`quantity` split by `shares` with the largest-remainder rule (Σ = quantity)."""
    if not shares:
        return {SITES[0]: quantity}
    exact = {site: quantity * share for site, share in shares.items()}
    whole = {site: int(x) for site, x in exact.items()}
    left = quantity - sum(whole.values())
    for site in sorted(exact, key=lambda s: (whole[s] - exact[s], s))[:left]:
        whole[site] += 1
    return {site: n for site, n in whole.items() if n}


@dataclass
class BenchResult:
    strategy: str
    orders: int = 0
    orders_with_stock: int = 0
    split_orders: int = 0
    units_ordered: int = 0
    units_allocated: int = 0
    units_unfilled: int = 0
    shipments: int = 0
    shipping_cost: float = 0.0
    fallbacks: int = 0
    refused_writeoffs: int = 0
    misplaced_samples: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def split_rate(self) -> float:
        return self.split_orders / self.orders_with_stock if self.orders_with_stock else 0.0

    @property
    def unfilled_rate(self) -> float:
        return self.units_unfilled / self.units_ordered if self.units_ordered else 0.0

    @property
    def misplaced(self) -> float:
        samples = self.misplaced_samples
        return sum(samples) / len(samples) if samples else 0.0

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out.pop("misplaced_samples")
        return out | {
            "split_rate": self.split_rate,
            "unfilled_rate": self.unfilled_rate,
            "misplaced_stock": self.misplaced,
        }


class Simulation:
    """One strategy's run: the network's states, pending picks, the demand it has seen."""

    def __init__(
        self,
        catalog: Catalog,
        policy: RoutingPolicy,
        strategy: str,
        shares: Mapping[str, Mapping[str, float]],
        window: timedelta,
        supply: SupplyRule = "whole",
    ) -> None:
        self.catalog, self.policy, self.strategy = catalog, policy, strategy
        self.planner = STRATEGIES[strategy]
        self.shares = shares
        self.window = window if strategy == "cost_batched" else timedelta(0)
        self.states: dict[str, SkuStock] = {}
        self.picks: list[tuple[datetime, int, Picked | Shipped]] = []
        self.seq = 0
        self.ordered: dict[str, deque[tuple[date, int]]] = defaultdict(deque)
        self.backlog_day: date | None = None
        self.backlog: Counter[str] = Counter()
        self.windows: dict[str, BatchWindow] = {}  # zone -> its open window
        self.charged: set[tuple[str, str, str]] = set()
        self.month: tuple[int, int] | None = None
        self.result = BenchResult(strategy)
        self.supply_rule = supply
        self.supply = Supply(shares)

    # -- the core ------------------------------------------------------------------------------

    def fold(self, event: Event) -> list[Output]:
        outputs: list[Output] = []
        for sku, part in self.parts(event):
            self.states[sku], emitted = apply(self.states.get(sku), part, self.catalog, sku=sku)
            outputs.extend(emitted)
        return outputs

    def parts(self, event: Event) -> list[tuple[str, Event]]:
        """Each SKU's part of the event, as the flow keys it (`narrowed`, in one pass for an
        order without kits: narrowing a 500-line order line by line costs 500²)."""
        skus = skus_of(event, self.catalog)
        if len(skus) == 1:
            return [(skus[0], event)]
        if isinstance(event, OrderPlaced) and not any(
            self.catalog.sku(code).is_kit for code in skus
        ):
            lines: dict[str, list[OrderLine]] = defaultdict(list)
            for line in event.lines:
                lines[line.sku].append(line)
            return [(sku, event.model_copy(update={"lines": tuple(lines[sku])})) for sku in skus]
        return [(sku, narrowed(event, sku, self.catalog)) for sku in skus]

    def site_atp(self, sku: str, as_of: date) -> dict[str, int]:
        stock = self.states.get(sku)
        if stock is None:
            return {}
        safety = self.catalog.sku(sku).safety_stock
        by_site = sellable_by_site(stock, self.catalog, as_of)
        return {site: max(0, n - safety.get(site, 0)) for site, n in by_site.items()}

    # -- the event stream ----------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        self.picks_due(event.occurred_at)
        self.sample(event.occurred_at)
        self.close_windows(event.occurred_at)
        match event:
            case Picked() | Shipped() | PutAway():
                return  # picks come from this run's reservations; put-aways with the receipts
            case ReceiptPosted():
                self.receive(event)
            case OrderPlaced():
                lines = tuple(line.model_copy(update={"site": None}) for line in event.lines)
                unpinned = event.model_copy(update={"lines": lines})
                if self.window:
                    zone = self.policy.zone(unpinned.ship_to.region)
                    held = self.windows.get(zone)
                    self.windows[zone], _ = admit(held, zone, unpinned, self.window)
                else:
                    self.decide(unpinned)
            case StockAdjusted() if event.reason != "returned":
                refused = any(isinstance(o, Rejected) for o in self.fold(event))
                self.result.refused_writeoffs += refused
            case _:
                self.fold(event)

    def finish(self) -> BenchResult:
        self.close_windows(None)
        self.picks_due(None)
        return self.result

    def close_windows(self, now: datetime | None) -> None:
        """Decide every window `now` closes (None: the end of the input), oldest first."""
        closed = []
        for zone, window in list(self.windows.items()):
            still, done = advance(window, now) if now is not None else (None, window)
            if done is not None:
                del self.windows[zone]
                closed.append(done)
            elif still is not None:
                self.windows[zone] = still
        for window in sorted(closed, key=lambda w: (w.opened, w.zone)):
            self.decide_window(window)

    def receive(self, receipt: ReceiptPosted) -> None:
        for line in receipt.lines:
            if self.supply_rule == "spread":
                sites = spread(line.quantity, self.shares.get(line.sku, {}))
            else:
                sites = {self.supply.site_for(line.sku, line.quantity): line.quantity}
            for site, quantity in sites.items():
                base = f"{receipt.event_id}-{site}"
                at = receipt.occurred_at
                self.fold(
                    ReceiptPosted(
                        event_id=base,
                        occurred_at=at,
                        source="bench",
                        location=dock(site),
                        lines=(ReceiptLine(sku=line.sku, quantity=quantity),),
                    )
                )
                self.fold(
                    PutAway(
                        event_id=f"{base}-putaway",
                        occurred_at=at,
                        source="bench",
                        sku=line.sku,
                        quantity=quantity,
                        from_location=dock(site),
                        to_location=pick_bin(site),
                    )
                )

    def picks_due(self, before: datetime | None) -> None:
        while self.picks and (before is None or self.picks[0][0] < before):
            _, _, picked = heapq.heappop(self.picks)
            self.fold(picked)

    # -- routing -------------------------------------------------------------------------------

    def picture(self, order: OrderToRoute) -> NetworkPicture:
        today = order.placed_at.date()
        if today != self.backlog_day:
            self.backlog_day, self.backlog = today, Counter()
        atp, demand = {}, {}
        for line in order.lines:
            atp[line.sku] = self.site_atp(line.sku, today)
            days = self.ordered[line.sku]
            while days and (today - days[0][0]).days >= DEMAND_DAYS:
                days.popleft()
            daily = sum(n for _, n in days) / DEMAND_DAYS
            for site, share in self.shares.get(line.sku, {}).items():
                demand[(line.sku, site)] = daily * share
        return NetworkPicture(atp=atp, daily_demand=demand, backlog=dict(self.backlog))

    def decide(self, order: OrderPlaced) -> None:
        to_route = order_to_route(order, self.catalog)
        chosen = self.planner(to_route, self.picture(to_route), self.policy)
        self.commit(order, to_route, chosen, order.event_id)

    def decide_window(self, window: BatchWindow) -> None:
        routed = {o.event_id: order_to_route(o, self.catalog) for o in window.orders}
        by_id = {order.event_id: order for order in window.orders}
        merged: NetworkPicture | None = None
        for to_route in routed.values():
            more = self.picture(to_route)
            merged = (
                more
                if merged is None
                else NetworkPicture(
                    atp={**merged.atp, **more.atp},
                    daily_demand={**merged.daily_demand, **more.daily_demand},
                    backlog=merged.backlog,
                )
            )
        assert merged is not None, "a window holds at least one order"
        plans, _ = plan_batch(
            routed.values(), merged, self.policy, self.planner, batch=window.batch
        )
        for chosen in plans:
            self.commit(by_id[chosen.event_id], routed[chosen.event_id], chosen, window.batch)

    def commit(
        self, order: OrderPlaced, to_route: OrderToRoute, chosen: RoutingPlan, batch: str
    ) -> None:
        outputs = self.fold(with_sites(order, chosen))
        answers = [o for o in outputs if isinstance(o, LineAllocated | Rejected | Duplicate)]
        decision = order_routed(chosen, to_route, answers, self.policy)
        for line in to_route.lines:
            self.ordered[line.sku].append((to_route.placed_at.date(), line.quantity))
        if decision is not None:
            self.account(decision, batch)
        for outcome in answers:
            if isinstance(outcome, LineAllocated):
                for reserved in outcome.reservations:
                    self.seq += 1
                    picked = Picked(
                        event_id=f"bench-pick-{order.order_id}-{outcome.sku}-{self.seq}",
                        occurred_at=order.occurred_at + PICK_DELAY,
                        source="bench",
                        order_id=order.order_id,
                        sku=outcome.sku,
                        quantity=reserved.quantity,
                        location=reserved.location,
                        lot=reserved.lot or None,
                    )
                    heapq.heappush(self.picks, (picked.occurred_at, self.seq, picked))
                    shipped = Shipped(
                        event_id=f"bench-ship-{order.order_id}-{outcome.sku}-{self.seq}",
                        occurred_at=picked.occurred_at,
                        source="bench",
                        order_id=order.order_id,
                        sku=outcome.sku,
                        quantity=reserved.quantity,
                    )
                    self.seq += 1
                    heapq.heappush(self.picks, (picked.occurred_at, self.seq, shipped))

    def account(self, decision: OrderRouted, batch: str) -> None:
        result = self.result
        result.orders += 1
        result.units_ordered += decision.ordered
        result.units_allocated += decision.allocated
        result.units_unfilled += decision.backordered + decision.rejected
        result.fallbacks += sum(line.fell_back for line in decision.lines)
        if decision.allocated:
            result.orders_with_stock += 1
            result.split_orders += decision.split
        kilograms: dict[str, float] = defaultdict(float)
        for line in decision.lines:
            for source in line.sources:
                kilograms[source.site] += self.policy.weight(line.sku, source.quantity)
                self.backlog[source.site] += source.quantity
        for site, weight in kilograms.items():
            lane = self.policy.lane(site, decision.zone)
            if lane is None:
                continue
            key = (batch, site, decision.zone)
            if key not in self.charged:
                self.charged.add(key)
                result.shipments += 1
                result.shipping_cost += lane.per_shipment
            result.shipping_cost += lane.per_kg * weight
        if not self.window:
            self.charged.clear()

    # -- balance -------------------------------------------------------------------------------

    def sample(self, now: datetime) -> None:
        month = (now.year, now.month)
        if self.month is None:
            self.month = month
        if month == self.month:
            return
        self.month = month
        weighted = total = 0.0
        for sku, stock in self.states.items():
            shares = self.shares.get(sku)
            by_site = sellable_by_site(stock, self.catalog, now.date()) if shares else {}
            units = sum(by_site.values())
            if not units or not shares:
                continue
            sites = set(by_site) | set(shares)
            distance = 0.5 * sum(abs(by_site.get(s, 0) / units - shares.get(s, 0.0)) for s in sites)
            weighted += distance * units
            total += units
        if total:
            self.result.misplaced_samples.append(weighted / total)


def simulate(
    events: Sequence[Event],
    catalog: Catalog,
    policy: RoutingPolicy,
    strategy: str,
    *,
    shares: Mapping[str, Mapping[str, float]] | None = None,
    window: timedelta = timedelta(minutes=60),
    supply: SupplyRule = "whole",
) -> BenchResult:
    """One strategy over the events (module doc); deterministic."""
    began = time.perf_counter()
    run = Simulation(catalog, policy, strategy, shares or demand_shares(events), window, supply)
    for event in events:
        run.feed(event)
    result = run.finish()
    result.seconds = time.perf_counter() - began
    return result


def run_all(
    events: Sequence[Event],
    catalog: Catalog,
    policy: RoutingPolicy,
    strategies: Iterable[str] = tuple(STRATEGIES),
    window: timedelta = timedelta(minutes=60),
    supply: SupplyRule = "whole",
) -> Iterator[BenchResult]:
    shares = demand_shares(events)
    for strategy in strategies:
        yield simulate(
            events, catalog, policy, strategy, shares=shares, window=window, supply=supply
        )


def table_markdown(results: Sequence[BenchResult]) -> str:
    head = (
        "| strategy | orders | shipping cost (£) | £ per order | shipments | split-shipment rate "
        "| unfilled rate | misplaced stock | fell back | seconds |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.strategy} | {r.orders:,} | {r.shipping_cost:,.0f} | "
        f"{r.shipping_cost / max(1, r.orders):.2f} | {r.shipments:,} | {r.split_rate:.2%} | "
        f"{r.unfilled_rate:.2%} | {r.misplaced:.3f} | {r.fallbacks:,} | {r.seconds:.0f} |"
        for r in results
    ]
    return head + "\n".join(rows) + "\n"
