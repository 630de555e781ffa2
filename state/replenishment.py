"""Replenishment of one SKU at each of its sites: demand and lead times learnt, proposals raised.

    replenish(state | None, event, outputs, stock, catalog, config)
        -> (SkuReplenishment, tuple[DemandForecast | ReorderProposed, ...])

The dataflow calls it after `state.apply` with the event, what `apply` emitted and the SKU's stock
after it (same key, same worker, same order). Per event:

1. Demand: each `LineAllocated` adds its ordered units (allocated, backordered or rejected: what
   customers asked for) to the day of the event at the line's site: the site the line asked
   for, else where it was reserved, else `config.default_site`. A cancellation or expiry takes
   the order's units back while its day is open (`state.demand.daily`).
2. The SKU's watermark (newest event time) advances; each day it closes is learnt, in order, by
   the site's forecaster (`state.demand.selector`: weekly-profile smoothing or TSB by pattern);
   with `config.forecasts`, each closed day is published as a `DemandForecast` (its actual
   demand, the forecast made for it, the next day's and a short horizon: `state.demand.published`).
3. Lead times: `PurchaseOrderPlaced` → `AsnReceived` → `ReceiptPosted` feed the SKU's
   `LeadTimeBook` (per supplier).
4. For each site the event touched (or whose days closed), once `min_days` days are learnt: the
   inventory position from the stock, demand over the lead time from the forecaster, the lead
   time from the book (shrunk towards the SKU's prior), the service level set for the SKU or
   else its ABC/XYZ class's; `state.demand.policy.plan` gives safety stock, reorder point and
   quantity, and the site's `ReorderTrigger` decides whether that is a new `ReorderProposed`.

Over the lead time L (days, rounded up to whole days n): Σ forecast(h) for h = 1..n gives mean
μ and variance v; d = μ / n and σd = √(v / n) per day.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from state.allocation import demands_for
from state.catalog import Catalog
from state.demand.daily import DailyDemand
from state.demand.lead_time import LeadTimeBook
from state.demand.policy import (
    SERVICE_LEVELS,
    InventoryPosition,
    PolicySettings,
    plan,
    service_level_for,
)
from state.demand.proposals import ARMED, ReorderProposed, ReorderTrigger, proposal_id
from state.demand.published import HORIZON_DAYS, DemandForecast, learn_days
from state.demand.selector import AdaptiveForecaster, daily_forecaster
from state.demand.smoothing import SmoothingParams
from state.events import (
    AsnReceived,
    Event,
    OrderCancelled,
    OrderPlaced,
    PurchaseOrderPlaced,
    ReceiptPosted,
    ReservationExpired,
)
from state.outputs import LineAllocated, Movement, Output, ReservationShorted
from state.rejections import Rejection
from state.shared import EMPTY, shared_mapping
from state.stock import SkuStock
from state.values import quick_init

REPLENISHMENT_SMOOTHING = SmoothingParams(alpha=0.02, gamma=0.05, beta=0.01, clip=3.0)
ReplenishmentOutput = DemandForecast | ReorderProposed


@dataclass(frozen=True, slots=True)
class ReplenishmentConfig:
    """How demand is bucketed and forecast, and how each SKU is replenished."""

    tz: tzinfo = UTC
    lateness: timedelta = timedelta(hours=6)
    # Measured on the Online Retail year (bench-results/replenishment.md): a slow level and a
    # robust variance (errors clipped at 3σ) hold less stock for the same fill rate.
    smoothing: SmoothingParams = field(default_factory=lambda: REPLENISHMENT_SMOOTHING)
    profile: tuple[float, ...] = ()  # the weekly profile a new site starts from (flat if empty)
    min_days: int = 14  # days learnt before a site's forecast may raise a proposal
    lead_time_days: float = 7.0  # the prior, until receipts teach the supplier's
    lead_time_std_days: float = 2.0
    # SKU → (mean, std) days: the prior quoted for this SKU by its supplier (else the above)
    lead_time_priors: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    suppliers: Mapping[str, str] = field(default_factory=dict)  # SKU → supplier
    default_supplier: str = "default"
    classes: Mapping[str, str] = field(default_factory=dict)  # SKU → "AX" ... "CZ"
    default_class: str = "BY"
    class_levels: Mapping[str, float] = field(default_factory=lambda: dict(SERVICE_LEVELS))
    # SKU → a service level chosen for it, which wins over its class's
    service_levels: Mapping[str, float] = field(default_factory=dict)
    policies: Mapping[str, PolicySettings] = field(default_factory=dict)  # SKU → settings
    default_policy: PolicySettings = field(default_factory=PolicySettings)
    default_site: str | None = None  # for demand that names no site and reserved nothing
    forecasts: bool = True  # publish a `DemandForecast` per closed day (off: learn only)
    horizon_days: int = HORIZON_DAYS  # days of point forecasts on the newest closed day
    # SKU → `policy(sku)`: a memo of a pure function of the fields above, which never change
    _policies: dict[str, tuple[PolicySettings, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def supplier(self, sku: str) -> str:
        return self.suppliers.get(sku, self.default_supplier)

    def lead_time_prior(self, sku: str) -> tuple[float, float]:
        """(mean, std) days the SKU's lead time starts from, until receipts teach it."""
        return self.lead_time_priors.get(sku, (self.lead_time_days, self.lead_time_std_days))

    def policy(self, sku: str) -> tuple[PolicySettings, str]:
        """The SKU's settings, their service level its own (`service_levels`) or else its
        ABC/XYZ class's (`class_levels`). Worked out once per SKU (`_policies`): every event
        that moves a SKU's stock asks again, and building the settings cost more than using
        them."""
        known = self._policies.get(sku)
        if known is None:
            known = self._policies[sku] = self._policy(sku)
        return known

    def _policy(self, sku: str) -> tuple[PolicySettings, str]:
        settings = self.policies.get(sku, self.default_policy)
        cls = self.classes.get(sku, self.default_class)
        level = self.service_levels.get(sku)
        if level is None:
            level = service_level_for(cls, self.class_levels)
        return _with_level(settings, level), cls


def _with_level(settings: PolicySettings, level: float) -> PolicySettings:
    return settings if settings.service_level == level else replace(settings, service_level=level)


@quick_init
@dataclass(frozen=True, slots=True)
class SiteReplenishment:
    demand: DailyDemand
    forecaster: AdaptiveForecaster | None = None  # made when the first day closes
    days_learnt: int = 0
    trigger: ReorderTrigger = ARMED  # shared until the site's first proposal (issue 9)


@quick_init
@dataclass(frozen=True, slots=True)
class SkuReplenishment:
    """One SKU's replenishment state (the dataflow's key is the SKU, and `replenish` is given
    the SKU's stock, which names it: the state does not hold its own copy of the code). Its
    empty mappings are the one shared `EMPTY`, live and when a snapshot is restored: most SKUs
    never hold a backorder (issue 9)."""

    sites: Mapping[str, SiteReplenishment] = field(default_factory=lambda: EMPTY)
    lead_times: LeadTimeBook = field(default_factory=LeadTimeBook)
    backorder_sites: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # order id → site
    watermark: datetime | None = None

    def __getstate__(self) -> list[Any]:
        """The dataclass's own pickled shape (a list of the field values), with `EMPTY`, which
        cannot be pickled, written as `{}`."""
        return [
            dict(value) if value is EMPTY else value
            for value in (self.sites, self.lead_times, self.backorder_sites, self.watermark)
        ]

    def __setstate__(self, state: list[Any]) -> None:
        """Restores a snapshot; one written when the state held its SKU (five values, the SKU
        first) drops it."""
        sites, lead_times, backorder_sites, watermark = state[-4:]
        object.__setattr__(self, "sites", shared_mapping(sites))
        object.__setattr__(self, "lead_times", lead_times)
        object.__setattr__(self, "backorder_sites", shared_mapping(backorder_sites))
        object.__setattr__(self, "watermark", watermark)


def replenish(
    state: SkuReplenishment | None,
    event: Event,
    outputs: Iterable[Output],
    stock: SkuStock,
    catalog: Catalog,
    config: ReplenishmentConfig,
) -> tuple[SkuReplenishment, tuple[ReplenishmentOutput, ...]]:
    """Learn from one applied event: the days it closed published (`config.forecasts`), then a
    proposal for each site that crossed its reorder point.

    Most events change little here (a pick, a put-away, a count: one site touched, no day
    closed), so the mappings are copied only when something in them changes, and an event that
    changes nothing returns `state` itself. Days are closed only when they can be: after every
    step no site has a day its watermark passed, so only a newer watermark, or a site whose
    first open day was just set (by an order, possibly late), can close one."""
    current = state if state is not None else SkuReplenishment()
    outputs = tuple(outputs)
    at = event.occurred_at
    before = current.watermark
    watermark = at if before is None or at > before else before
    sites: Mapping[str, SiteReplenishment] = current.sites
    touched: set[str] = set()
    backordered_at: list[tuple[str, str]] = []
    if isinstance(event, OrderPlaced):
        sites, touched, backordered_at = _learn_orders(
            sites, event, outputs, stock.sku, catalog, config
        )
    if isinstance(event, OrderCancelled | ReservationExpired):
        sites = _cancelled(sites, event.order_id)
    backorder_sites = _backorders(current.backorder_sites, backordered_at, outputs, stock, catalog)
    for output in outputs:
        if isinstance(output, Movement):
            touched.add(_site(output.location, catalog))
    closed_sites: set[str] = set()
    published: list[DemandForecast] = []
    if watermark is not before or sites is not current.sites:
        sites, closed_sites, published = _close_days(stock.sku, sites, watermark, config)
    lead_times = _learn_lead_time(current.lead_times, event)
    considered = (touched | closed_sites) & sites.keys()
    if not considered and not published:
        if (
            sites is current.sites
            and backorder_sites is current.backorder_sites
            and lead_times is current.lead_times
            and watermark is before
        ):
            return current, ()
        return SkuReplenishment(sites, lead_times, backorder_sites, watermark), ()
    learnt = SkuReplenishment(sites, lead_times, backorder_sites, watermark)
    emitted: list[ReplenishmentOutput] = list(published)
    decided: dict[str, SiteReplenishment] | None = None
    for site in sorted(considered):
        held = sites[site]
        if held.forecaster is None or held.days_learnt < config.min_days:
            continue
        trigger, proposal = _consider(learnt, site, held, stock, catalog, config, at)
        if trigger is not held.trigger:
            decided = decided if decided is not None else dict(sites)
            decided[site] = SiteReplenishment(
                held.demand, held.forecaster, held.days_learnt, trigger
            )
        if proposal is not None:
            emitted.append(proposal)
    if decided is None:
        return learnt, tuple(emitted)
    done = SkuReplenishment(decided, lead_times, backorder_sites, watermark)
    return done, tuple(emitted)


def _learn_orders(
    sites: Mapping[str, SiteReplenishment],
    event: OrderPlaced,
    outputs: tuple[Output, ...],
    sku: str,
    catalog: Catalog,
    config: ReplenishmentConfig,
) -> tuple[Mapping[str, SiteReplenishment], set[str], list[tuple[str, str]]]:
    """Add the order's lines to their sites' open days; return the sites, those it touched and
    (order id, site) of each line left backordered."""
    touched: set[str] = set()
    backordered_at: list[tuple[str, str]] = []
    learnt: dict[str, SiteReplenishment] | None = None
    for site, units, order_id, backordered in _demand(event, outputs, sku, catalog, config):
        learnt = learnt if learnt is not None else dict(sites)
        held = learnt.get(site) or SiteReplenishment(DailyDemand(config.tz, config.lateness))
        observed = held.demand.observe(event.occurred_at, units, order_id)
        learnt[site] = SiteReplenishment(observed, held.forecaster, held.days_learnt, held.trigger)
        touched.add(site)
        if backordered:
            backordered_at.append((order_id, site))
    return (sites if learnt is None else learnt), touched, backordered_at


def _cancelled(
    sites: Mapping[str, SiteReplenishment], order_id: str
) -> Mapping[str, SiteReplenishment]:
    """Take an order's units back from the open days of every site that holds it."""
    kept: dict[str, SiteReplenishment] | None = None
    for site, held in sites.items():
        taken = held.demand.cancel(order_id)
        if taken is not held.demand:
            kept = kept if kept is not None else dict(sites)
            kept[site] = SiteReplenishment(taken, held.forecaster, held.days_learnt, held.trigger)
    return sites if kept is None else kept


def _backorders(
    backorders: Mapping[str, str],
    backordered_at: list[tuple[str, str]],
    outputs: tuple[Output, ...],
    stock: SkuStock,
    catalog: Catalog,
) -> Mapping[str, str]:
    """The site of every order still holding a backorder: where its line was demanded, or
    where the count that shorted its reservation was taken; `backorders` if none changed."""
    held = dict(backorders) if backordered_at else None
    for order_id, site in backordered_at:
        assert held is not None
        held[order_id] = site
    for output in outputs:
        if isinstance(output, ReservationShorted):
            held = held if held is not None else dict(backorders)
            held.setdefault(output.order_id, _site(output.location, catalog))
    now = backorders if held is None else held
    reservations = stock.reservations
    if all(order_id in reservations for order_id in now):
        return now
    return shared_mapping({oid: site for oid, site in now.items() if oid in reservations})


def _close_days(
    sku: str,
    sites: Mapping[str, SiteReplenishment],
    watermark: datetime,
    config: ReplenishmentConfig,
) -> tuple[Mapping[str, SiteReplenishment], set[str], list[DemandForecast]]:
    """Close the days the watermark passed; each site's forecaster learns them in order (and,
    with `config.forecasts`, publishes them). Returns the sites (`sites` itself if no day
    closed), those that closed days, and what they published."""
    changed: set[str] = set()
    published: list[DemandForecast] = []
    learnt: dict[str, SiteReplenishment] | None = None
    for site, held in sites.items():
        demand, closed = held.demand.advance(watermark)
        if not closed:
            continue
        forecaster = held.forecaster or daily_forecaster(
            closed[0][0].weekday(), config.smoothing, config.profile
        )
        if config.forecasts:
            forecaster, days = learn_days(
                forecaster,
                closed,
                sku=sku,
                site=site,
                learnt=held.days_learnt,
                horizon_days=config.horizon_days,
            )
            published.extend(days)
        else:
            for _, units in closed:
                forecaster = forecaster.update(units)
        learnt = learnt if learnt is not None else dict(sites)
        learnt[site] = SiteReplenishment(
            demand, forecaster, held.days_learnt + len(closed), held.trigger
        )
        changed.add(site)
    return (sites if learnt is None else learnt), changed, published


def _site(location: str, catalog: Catalog) -> str:
    known = catalog.locations.get(location)
    return known.site if known is not None else location.split("/", 1)[0]


def _demand(
    event: Event,
    outputs: tuple[Output, ...],
    sku: str,
    catalog: Catalog,
    config: ReplenishmentConfig,
) -> Iterable[tuple[str, float, str, bool]]:
    """(site, units, order id, backordered?) per order line of this SKU."""
    if not isinstance(event, OrderPlaced):
        return
    lines = [output for output in outputs if isinstance(output, LineAllocated)]
    if not lines:
        return
    asked: list[str | None] = []
    # The sites the lines asked for; an order that names none (most) asks nothing to look up.
    if any(line.site is not None for line in event.lines):
        try:
            asked = [d.site for d in demands_for(event, catalog.sku(sku), catalog)]
        except Rejection:
            asked = []
    for n, line in enumerate(lines):
        site = asked[n] if n < len(asked) else None
        if site is None and line.reservations:
            site = _site(max(line.reservations, key=lambda r: r.quantity).location, catalog)
        site = site or config.default_site
        if site is not None:
            yield site, float(line.ordered), line.order_id, line.backordered > 0


def _learn_lead_time(book: LeadTimeBook, event: Event) -> LeadTimeBook:
    match event:
        case PurchaseOrderPlaced():
            return book.placed(
                event.purchase_order_id,
                event.supplier,
                event.site,
                event.occurred_at,
                event.expected_date,
            )
        case AsnReceived():
            return book.shipped(event.asn_id, event.purchase_order_id, event.occurred_at)
        case ReceiptPosted():
            learnt, _ = book.received(event.purchase_order_id, event.asn_id, event.occurred_at)
            return learnt
        case _:
            return book


def position_at(
    stock: SkuStock, site: str, catalog: Catalog, backorder_sites: Mapping[str, str]
) -> InventoryPosition:
    """IP's parts at one site: usable on hand (available + allocated), allocated, supply, and
    the backorders of orders that asked for this site."""
    on_hand = allocated = 0
    for (path, _lot), position in stock.positions.pairs():
        if _site(path, catalog) == site:
            on_hand += position.quantities.available + position.quantities.allocated
            allocated += position.quantities.allocated
    in_transit = sum(t.quantity for t in stock.in_transit.values() if t.to_site == site)
    backordered = sum(
        r.backordered
        for oid, r in stock.reservations.items()
        if r.backordered and backorder_sites.get(oid) == site
    )
    return InventoryPosition(on_hand, stock.on_order_at(site), in_transit, allocated, backordered)


def _consider(
    state: SkuReplenishment,
    site: str,
    held: SiteReplenishment,
    stock: SkuStock,
    catalog: Catalog,
    config: ReplenishmentConfig,
    at: datetime,
) -> tuple[ReorderTrigger, ReorderProposed | None]:
    assert held.forecaster is not None
    sku = stock.sku
    supplier = config.supplier(sku)
    lead = state.lead_times.estimate(supplier, *config.lead_time_prior(sku))
    days = max(1, math.ceil(lead.mean))
    horizon = held.forecaster.horizon(days)
    demand, demand_std = horizon.mean / days, math.sqrt(horizon.variance / days)
    settings, cls = config.policy(sku)
    position = position_at(stock, site, catalog, state.backorder_sites)
    decided = plan(demand, demand_std, lead.mean, lead.std, position, settings)
    trigger, propose = held.trigger.consider(decided)
    if not propose:
        return trigger, None
    return trigger, ReorderProposed(
        proposal_id=proposal_id(sku, site, trigger.raised),
        sku=sku,
        site=site,
        supplier=supplier,
        proposed_at=at,
        quantity=decided.quantity,
        forecast_daily=demand,
        forecast_daily_std=demand_std,
        method=held.forecaster.method,
        demand_pattern=held.forecaster.pattern.value,
        lead_time_days=lead.mean,
        lead_time_std_days=lead.std,
        lead_time_receipts=lead.receipts,
        on_time_rate=lead.on_time_rate,
        service_level=settings.service_level,
        abc_xyz=cls,
        z=decided.z,
        safety_stock=decided.safety_stock,
        reorder_point=decided.reorder_point,
        order_up_to=decided.order_up_to,
        position=position.value,
        on_hand=position.on_hand,
        on_order=position.on_order,
        in_transit=position.in_transit,
        allocated=position.allocated,
        backordered=position.backordered,
        pack_size=settings.pack_size,
        moq=settings.moq,
    )
