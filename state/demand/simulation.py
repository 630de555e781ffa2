"""A year of replenishment, simulated day by day: skuflow's policy against a static min/max rule.

Every SKU-site series is replayed on one calendar; each policy keeps its own stock of it, and all
policies meet the same demand and the same supplier lead times (common random numbers: the n-th
order of a series takes the n-th drawn lead time, whichever policy places it). A day:

1. orders due today arrive (on hand + q);
2. backorders are served first, then today's demand from what is on hand; the rest is
   backordered (customers wait; nothing is lost). Fill rate counts only units served the day they
   were asked for:  fill rate = Σ served at once / Σ demand  (units, over all series);
3. the forecaster learns today's demand (it never sees a day before forecasting it);
4. each policy compares the inventory position IP = on hand + on order − backorders with its
   reorder level and, at or below it, orders up to its order-up-to level (an order arrives
   after the drawn lead time);
5. on hand at the end of the day is the day's stock: average inventory = Σ stock / days, in units
   and in value (units × the SKU's unit price).

Nothing is scored during a series' first `warmup` days (from its first demand): the forecaster
learns, and then each policy starts with its own order-up-to level on hand.

- Static min/max (what ERPs ship), set once with hindsight, from the series' average daily demand
  d̄ over the scored days (a generous baseline: it knows the year's average in advance):
  min = d̄·(L + safety days), max = min + d̄·review days, with L the nominal lead time.
- skuflow: the forecaster (`state.demand.smoothing`, pooled weekly profile; any `LevelModel`,
  e.g. behind `state.demand.level_shift`) gives d and σd over the learnt lead time, the
  `LeadTimeBook` learns L and σL from the receipts, and
  `state.demand.policy.plan` sets SS, ROP = d·L + SS and S = ROP + d·review days, every day.
  The service level is fixed, or set by ABC/XYZ class, recomputed every `reclassify_days` from
  the trailing demand (ABC by value, XYZ by the CV of weekly demand).
- skuflow with EOQ: the same, but an order brings the position to ROP + EOQ (in units of stock:
  unit cost 1, so cycles ∝ 1/√d: the square-root law, the fewest stock-days for a number of
  orders), and the service level is for a 14-day cycle, scaled to each SKU's own EOQ / d days
  (`service_level_for_cycle`). Compare it only with rules placing at least as many orders: any
  policy holds less stock by ordering more often.
- skuflow with a lognormal lead-time demand (`Skuflow.lead_time_demand`): the reorder point is
  the quantile of a lognormal with the forecast's mean and σ over the lead time, not d·L + z·σ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, Self

from state.demand.forecast import Forecast
from state.demand.lead_time import LeadTimeBook, LeadTimeEstimate
from state.demand.policy import (
    SERVICE_LEVELS,
    InventoryPosition,
    LeadTimeDemand,
    OrderRule,
    PolicySettings,
    ServiceMeasure,
    abc_classes,
    eoq,
    plan,
    service_level_for,
    xyz_class,
)
from state.demand.smoothing import SeasonalSmoothing

SUPPLIER = "supplier"


class LevelModel(Protocol):
    """What the simulation asks of a series' forecaster: a `SeasonalSmoothing`, or a wrapper
    such as `state.demand.level_shift.LevelShift`."""

    def update(self, y: float) -> Self: ...

    def horizon(self, n: int) -> Forecast: ...

    def with_profile(self, profile: tuple[float, ...]) -> Self: ...


DEFAULT_CLASS = "BY"  # until the first classification


@dataclass(frozen=True, slots=True)
class SimSeries:
    key: str  # "SKU@SITE"
    sku: str
    start: int  # calendar day of its first demand
    demand: tuple[float, ...]  # units per day, from `start` to the calendar's end
    phase: int  # weekday of its first day
    unit_value: float
    lead_times: tuple[int, ...]  # days, one per order in the order they are placed


@dataclass(frozen=True, slots=True)
class MinMax:
    """Static min/max from d̄: the scored days' average (hindsight) or the warm-up's."""

    name: str
    safety_days: float = 7.0
    review_days: float = 14.0
    lead_time_days: float = 7.0
    hindsight: bool = True


@dataclass(frozen=True, slots=True)
class Skuflow:
    name: str
    service_level: float | None = None  # None: by ABC/XYZ class
    review_days: float = 14.0
    prior_lead_time_days: float = 7.0
    prior_lead_time_std_days: float = 2.0
    levels: Mapping[str, float] = field(default_factory=lambda: SERVICE_LEVELS)
    measure: ServiceMeasure = "cycle"
    rule: OrderRule = "order_up_to"
    order_cost: float = 50.0  # K per order, in units of stock held a year × holding_rate (EOQ)
    holding_rate: float = 0.25  # h per year (EOQ; unit cost 1: stock is counted in units)
    allocate_by_cycle: bool = False  # see state.demand.policy.service_level_for_cycle
    lead_time_demand: LeadTimeDemand = "normal"  # see state.demand.policy.lognormal_quantile


Policy = MinMax | Skuflow


@dataclass(frozen=True, slots=True)
class Outcome:
    """One policy over the panel: units demanded and served at once, stock-days, orders."""

    policy: str
    demand: float
    served: float
    stock_days: float  # Σ end-of-day on hand (units × days)
    value_days: float  # Σ end-of-day on hand × unit value
    days: int  # series-days scored
    orders: int
    calendar_days: int

    @property
    def fill_rate(self) -> float:
        return self.served / self.demand if self.demand > 0 else math.nan

    @property
    def average_units(self) -> float:
        """Average units on hand across the panel (Σ over series of each one's daily mean)."""
        return self.stock_days / self.calendar_days

    @property
    def average_value(self) -> float:
        return self.value_days / self.calendar_days


@dataclass(slots=True)
class _Stock:
    """One policy's stock of one series (mutable bookkeeping of the simulation)."""

    on_hand: float = 0.0
    backorders: float = 0.0
    pipeline: list[tuple[int, float, str]] = field(default_factory=list)  # (day, units, PO)
    book: LeadTimeBook = field(default_factory=LeadTimeBook)
    placed: int = 0
    minimum: float = 0.0
    maximum: float = 0.0
    lead: LeadTimeEstimate | None = None  # the book's estimate, until the next receipt

    @property
    def position(self) -> float:
        return self.on_hand + sum(units for _, units, _ in self.pipeline) - self.backorders


@dataclass(slots=True)
class _Totals:
    demand: float = 0.0
    served: float = 0.0
    stock_days: float = 0.0
    value_days: float = 0.0
    days: int = 0
    orders: int = 0


EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # only differences of simulated times matter


def _at(day: int) -> datetime:
    return EPOCH + timedelta(days=day)


def simulate(
    panel: Sequence[SimSeries],
    policies: Sequence[Policy],
    make_forecaster: Callable[[SimSeries], LevelModel],
    pooled: SeasonalSmoothing | None = None,
    warmup: int = 28,
    reclassify_days: int = 28,
) -> list[Outcome]:
    """Run every policy on every series over the calendar; see the module doc."""
    end = max((s.start + len(s.demand) for s in panel), default=0)
    models: list[LevelModel | None] = [None] * len(panel)
    stocks = [[_Stock() for _ in policies] for _ in panel]
    totals = [_Totals() for _ in policies]
    classes: dict[str, str] = {}
    weekly = [_WeeklyStats() for _ in panel]
    for t in range(end):
        if t % reclassify_days == 0 and t > 0:
            classes = _classify(panel, weekly)
        for i, series in enumerate(panel):
            k = t - series.start
            if k < 0 or k >= len(series.demand):
                continue
            y = series.demand[k]
            model = models[i] or make_forecaster(series)
            if pooled is not None:
                model = model.with_profile(pooled.profile)
            if k == warmup:
                _open(series, policies, stocks[i], model, warmup)
            if k >= warmup:
                for stock, total in zip(stocks[i], totals, strict=True):
                    _serve(t, y, series, stock, total)
            models[i] = model = model.update(y)
            weekly[i].add(y)
            if k >= warmup:
                cls = classes.get(series.key, DEFAULT_CLASS)
                rates = _Rates(model)
                for policy, stock, total in zip(policies, stocks[i], totals, strict=True):
                    _decide(t, series, policy, stock, total, rates, cls)
        if pooled is not None:
            pooled = pooled.update(sum(_demand_at(s, t) for s in panel))
    return [
        Outcome(p.name, x.demand, x.served, x.stock_days, x.value_days, x.days, x.orders, end)
        for p, x in zip(policies, totals, strict=True)
    ]


def _demand_at(series: SimSeries, t: int) -> float:
    k = t - series.start
    return series.demand[k] if 0 <= k < len(series.demand) else 0.0


def _open(
    series: SimSeries,
    policies: Sequence[Policy],
    stocks: list[_Stock],
    model: LevelModel,
    warmup: int,
) -> None:
    """Each policy starts with its order-up-to level on hand (min/max: its max; EOQ: ROP + EOQ)."""
    scored, seen = series.demand[warmup:], series.demand[:warmup]
    for policy, stock in zip(policies, stocks, strict=True):
        if isinstance(policy, MinMax):
            basis = scored if policy.hindsight else seen
            average = sum(basis) / len(basis)
            stock.minimum = math.ceil(average * (policy.lead_time_days + policy.safety_days))
            stock.maximum = stock.minimum + math.ceil(average * policy.review_days)
            stock.on_hand = stock.maximum
        else:
            level = policy.service_level or service_level_for(DEFAULT_CLASS, policy.levels)
            stock.on_hand = math.ceil(_skuflow_plan(policy, stock, _Rates(model), 0.0, level)[1])


def _serve(t: int, y: float, series: SimSeries, stock: _Stock, total: _Totals) -> None:
    arrived = [item for item in stock.pipeline if item[0] <= t]
    if arrived:
        stock.pipeline = [item for item in stock.pipeline if item[0] > t]
        for _, units, po in arrived:
            stock.on_hand += units
            stock.book, _ = stock.book.received(po, None, _at(t))
            stock.lead = None
    late = min(stock.on_hand, stock.backorders)
    stock.on_hand -= late
    stock.backorders -= late
    served = min(stock.on_hand, y)
    stock.on_hand -= served
    stock.backorders += y - served
    total.demand += y
    total.served += served
    total.stock_days += stock.on_hand
    total.value_days += stock.on_hand * series.unit_value
    total.days += 1


def _decide(
    t: int,
    series: SimSeries,
    policy: Policy,
    stock: _Stock,
    total: _Totals,
    rates: _Rates,
    cls: str,
) -> None:
    position = stock.position
    if isinstance(policy, MinMax):
        quantity = math.ceil(stock.maximum - position) if position <= stock.minimum else 0
    else:
        level = policy.service_level or service_level_for(cls, policy.levels)
        quantity = _skuflow_plan(policy, stock, rates, position, level)[0]
    if quantity <= 0:
        return
    lead = series.lead_times[stock.placed % len(series.lead_times)]
    po = f"{series.key}-{stock.placed}"
    stock.book = stock.book.placed(po, SUPPLIER, series.key, _at(t), date.min)
    stock.pipeline.append((t + lead, float(quantity), po))
    stock.placed += 1
    total.orders += 1


def _skuflow_plan(
    policy: Skuflow, stock: _Stock, rates: _Rates, position: float, level: float
) -> tuple[int, float]:
    """(units to order now, the level an order brings the position to: S, or ROP + EOQ) from
    the forecast and the learnt lead time."""
    if stock.lead is None:
        stock.lead = stock.book.estimate(
            SUPPLIER, policy.prior_lead_time_days, policy.prior_lead_time_std_days
        )
    lead = stock.lead
    demand, demand_std = rates.over(max(1, math.ceil(lead.mean)))
    settings = PolicySettings(
        service_level=level,
        measure=policy.measure,
        review_days=policy.review_days,
        rule=policy.rule,
        order_cost=policy.order_cost,
        holding_rate=policy.holding_rate,
        allocate_by_cycle=policy.allocate_by_cycle,
        lead_time_demand=policy.lead_time_demand,
    )
    ip = InventoryPosition(on_hand=math.floor(position))
    decided = plan(demand, demand_std, lead.mean, lead.std, ip, settings)
    if policy.rule == "eoq":
        return decided.quantity, decided.reorder_point + eoq(
            demand * 365.0, policy.order_cost, policy.holding_rate, 1.0
        )
    return decided.quantity, decided.order_up_to


class _Rates:
    """d and σd per day over n days from one day's forecaster, computed once per n."""

    def __init__(self, model: LevelModel) -> None:
        self._model = model
        self._by_days: dict[int, tuple[float, float]] = {}

    def over(self, days: int) -> tuple[float, float]:
        found = self._by_days.get(days)
        if found is None:
            horizon = self._model.horizon(days)
            found = (horizon.mean / days, math.sqrt(horizon.variance / days))
            self._by_days[days] = found
        return found


@dataclass(slots=True)
class _WeeklyStats:
    """Weekly demand sums, exponentially weighted (about a quarter), for ABC and XYZ."""

    week: float = 0.0
    days: int = 0
    weight: float = 0.0
    total: float = 0.0
    squares: float = 0.0

    def add(self, y: float, keep: float = 12 / 13) -> None:
        self.week += y
        self.days += 1
        if self.days == 7:
            self.weight = keep * self.weight + 1
            self.total = keep * self.total + self.week
            self.squares = keep * self.squares + self.week * self.week
            self.week, self.days = 0.0, 0

    def moments(self) -> Forecast:
        if self.weight <= 0:
            return Forecast(0.0, 0.0)
        mean = self.total / self.weight
        return Forecast(mean, max(0.0, self.squares / self.weight - mean * mean))


def _classify(panel: Sequence[SimSeries], weekly: Sequence[_WeeklyStats]) -> dict[str, str]:
    values = {s.key: w.moments().mean * s.unit_value for s, w in zip(panel, weekly, strict=True)}
    abc = abc_classes(values)
    return {
        s.key: abc[s.key] + xyz_class(w.moments().mean, w.moments().std)
        for s, w in zip(panel, weekly, strict=True)
    }
