"""`skuflow bench replenishment`: the Online Retail year, replenished by skuflow and by min/max.

`state.demand.simulation` plays every SKU-site series with demand on at least `min_days` days
(each from its first demand to 2011-12-09; the first `warmup` days learnt, not scored). Supplier
lead times are drawn per order, the same draws for every policy: round(N(7, 2)) days, clipped to
2..14, seeded by the series' name (deterministic). Pack size and MOQ are 1 (the data has none).

Policies:
- static min/max with hindsight: d̄ is the series' average over the scored days (an oracle no
  planner has: it knows the year's demand in advance); safety 3, 7 or 14 days;
- static min/max set at the end of the warm-up from the warm-up's average (what a planner could
  have known then); safety 7 or 14 days;
- skuflow: pooled weekly-profile smoothing (α = 0.02, robust variance: errors clipped at 3σ),
  with `--level-shift` behind a level-shift detector per series (`state.demand.level_shift`: a
  fast level, α_f = 0.2, learning demand clipped at 3σ; the slow level jumps to it when they
  differ by 2.5σ of their difference: an option measured here, not yet the flow's forecaster),
  learnt lead times,
  order-up-to with a 14-day review like the min/max rules; at cycle service levels from 0.5
  to 0.999 (the trade-off curve) and by ABC/XYZ class;
- skuflow with EOQ: orders of ROP + EOQ in units (cycles ∝ 1/√demand, the square-root law) and
  the service level spread by cycle (`state.demand.policy.service_level_for_cycle`), one curve
  per order cost K: K = 0.35 places fewer orders than the hindsight min/max, K = 0.18 fewer than
  the warm-up min/max; and at K = 0.18 with the reorder point at the quantile of a lognormal
  lead-time demand (`PolicySettings.lead_time_demand`: lumpy demand is skewed).

A bound: skuflow's policy fed each series' average over the scored days from the start (what the
hindsight min/max knows), to tell the forecast's share of the gap from the policy's; and the share
of units that come on days bigger than 7, 14 or 28 days of the series' average demand. And the
least stock for a fill rate when days cannot be foreseen (`state.demand.fill_bound`: no lead
time, an order a day, each series' year of daily demand sizes known but not their order).

The comparison at equal fill rate interpolates a skuflow curve (stock against fill rate) linearly
between the service levels that bracket the baseline's fill rate. Only curves that place no more
orders than the baseline compete (fewer stock-days for more orders is no saving), and the one
holding the least stock there is reported. The other way round, at each baseline's average stock,
the highest fill rate such a curve reaches (`fill_at_stock`): how far from 95% fill it is.
"""

from __future__ import annotations

import json
import math
import random
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from api.forecast_bench import machine
from connectors.replay.demand_history import RetailDemand, online_retail_demand
from state.demand.fill_bound import least_stock_days
from state.demand.forecast import ErrorVariance
from state.demand.level_shift import LevelShift, ShiftParams
from state.demand.simulation import LevelModel, MinMax, Outcome, SimSeries, Skuflow, simulate
from state.demand.smoothing import SeasonalSmoothing, SmoothingParams

FORECASTER = SmoothingParams(alpha=0.02, gamma=0.0, beta=0.01, clip=3.0)
SHIFT = ShiftParams(fast_alpha=0.2, threshold=2.5, clip=3.0)  # the level-shift detector
POOLED_PROFILE = SmoothingParams(alpha=0.1, gamma=0.1)
LEVELS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
ORDER_UP_TO = "skuflow, service level"  # the prefix of the order-up-to curve's policies
# K per order, in units of stock (h = 0.25 a year, unit cost 1): 0.35 places fewer orders than the
# hindsight min/max, 0.18 spends most of the warm-up min/max's allowance (0.2 left ~5% unused).
EOQ_COSTS = (0.35, 0.18)
LOGNORMAL_COST = 0.18  # the EOQ curve with a lognormal lead-time demand
LOGNORMAL_LEVELS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99, 0.999)
# Dense between 0.5 and 0.8, where the warm-up min/max's fill rate falls: the curve is convex, so
# interpolating across a wide gap overstates the stock there (and understates the cut).
EOQ_LEVELS = (0.5, 0.6, 0.65, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
ABC_XYZ = "skuflow, service level by ABC/XYZ"
ERP = "min/max, 7 days safety"
WARM_UP = "min/max set from the warm-up, 7 days safety"
BASELINES = (ERP, WARM_UP, "min/max set from the warm-up, 14 days safety")
STOCK_CUT = 0.40  # at the baseline's fill rate, at least 40% less average stock
FILL_TARGET = 0.95
BOUND_LEVELS = (0.5, 0.8, 0.95, 0.99)
# The bound's forecaster never moves its level (α ≈ 0) but learns its error variance like skuflow's.
KNOWN_LEVEL = SmoothingParams(alpha=1e-9, gamma=0.0, beta=0.01, clip=3.0)
BIG_DAYS = (7, 14, 28)  # a day bigger than this many days of the series' average demand


@dataclass(frozen=True)
class Options:
    min_days: int = 50
    warmup: int = 56
    lead_time_mean: float = 7.0
    lead_time_std: float = 2.0
    seed: int = 7
    level_shift: bool = False  # skuflow's forecaster behind `state.demand.level_shift`


def lead_times(key: str, options: Options, count: int = 128) -> tuple[int, ...]:
    rng = random.Random(zlib.crc32(key.encode()) ^ options.seed)
    return tuple(
        max(2, min(14, round(rng.gauss(options.lead_time_mean, options.lead_time_std))))
        for _ in range(count)
    )


def panel(demand: RetailDemand, options: Options) -> list[SimSeries]:
    series = []
    for (sku, site), days in sorted(demand.by_sku_site.items()):
        if len(days) < options.min_days:
            continue
        start = min(days)
        values = tuple(days.get(day, 0.0) for day in range(start, demand.days))
        if len(values) <= options.warmup + 28:
            continue
        key = f"{sku}@{site}"
        weekday = (demand.first_day + timedelta(days=start)).weekday()
        price = demand.unit_price.get(sku, 1.0)
        series.append(SimSeries(key, sku, start, values, weekday, price, lead_times(key, options)))
    return series


def policies() -> list[MinMax | Skuflow]:
    return [
        MinMax("min/max, 3 days safety", 3.0),
        MinMax(ERP, 7.0),
        MinMax("min/max, 14 days safety", 14.0),
        MinMax("min/max set from the warm-up, 7 days safety", 7.0, hindsight=False),
        MinMax("min/max set from the warm-up, 14 days safety", 14.0, hindsight=False),
        *(Skuflow(f"{ORDER_UP_TO} {level:g}", level) for level in LEVELS),
        Skuflow(ABC_XYZ),
        *(
            Skuflow(
                f"{eoq_curve(cost)} {level:g}",
                level,
                rule="eoq",
                order_cost=cost,
                allocate_by_cycle=True,
            )
            for cost in EOQ_COSTS
            for level in EOQ_LEVELS
        ),
        *(
            Skuflow(
                f"{LOGNORMAL} {level:g}",
                level,
                rule="eoq",
                order_cost=LOGNORMAL_COST,
                allocate_by_cycle=True,
                lead_time_demand="lognormal",
            )
            for level in LOGNORMAL_LEVELS
        ),
    ]


LOGNORMAL = (
    f"skuflow EOQ (K {LOGNORMAL_COST:g}), lognormal lead-time demand, service level by cycle"
)


def eoq_curve(cost: float) -> str:
    """The prefix of the EOQ curve's policies at order cost K."""
    return f"skuflow EOQ (K {cost:g}), service level by cycle"


def bound_policies() -> list[MinMax | Skuflow]:
    """skuflow's policy fed the year's average (what the hindsight min/max knows): the bound on
    what any forecast of the level could give this policy."""
    return [
        Skuflow(
            f"bound: skuflow's policy, the year's average known, service level {level:g}", level
        )
        for level in BOUND_LEVELS
    ]


def forecaster(series: SimSeries, options: Options) -> LevelModel:
    """skuflow's forecaster of one series: the smoothing, behind the level-shift detector."""
    smoothing = SeasonalSmoothing.starting(FORECASTER, (), series.phase)
    return LevelShift(smoothing, SHIFT) if options.level_shift else smoothing


def known_level(series: SimSeries, warmup: int) -> SeasonalSmoothing:
    """A forecaster that knows the scored days' average demand from the start (hindsight)."""
    scored = series.demand[warmup:]
    average = sum(scored) / len(scored)
    errors = ErrorVariance(KNOWN_LEVEL.beta)
    return SeasonalSmoothing(KNOWN_LEVEL, (), series.phase % 7, average, 1.0, errors)


def big_day_shares(series: Sequence[SimSeries], warmup: int) -> dict[str, float]:
    """Share of the scored units that come on days bigger than k days of the series' average."""
    total = 0.0
    big = dict.fromkeys(BIG_DAYS, 0.0)
    for one in series:
        scored = one.demand[warmup:]
        average = sum(scored) / len(scored)
        total += sum(scored)
        for days in BIG_DAYS:
            big[days] += sum(y for y in scored if y > days * average)
    return {str(days): units / total if total > 0 else math.nan for days, units in big.items()}


def fill_bound(
    series: Sequence[SimSeries], outcomes: Sequence[Outcome], warmup: int
) -> list[dict[str, Any]]:
    """`state.demand.fill_bound`'s least average stock at each baseline's fill rate and at 95%,
    beside what the baseline holds (None at 95%)."""
    days = [one.demand[warmup:] for one in series]
    end = max((one.start + len(one.demand) for one in series), default=1)
    rows: list[dict[str, Any]] = []
    named = [(o.policy, o.fill_rate, o.average_units) for o in outcomes if o.policy in BASELINES]
    for name, fill, held in [*named, ("95% fill rate", FILL_TARGET, None)]:
        least = least_stock_days(days, fill)
        rows.append(
            {
                "at": name,
                "fill_rate": fill,
                "held": held,
                "least_units": None if least is None else least / end,
            }
        )
    return rows


def stock_at_fill(curve: Sequence[Outcome], fill: float) -> tuple[float, float] | None:
    """skuflow's (units, value) at `fill`, linearly between the bracketing service levels.

    Below the curve's lowest fill rate (no safety stock at all), its lowest point is returned:
    skuflow holds no more than that for any lower fill rate, so a cut computed from it is a
    lower bound ("at least").
    """
    points = sorted(curve, key=lambda o: o.fill_rate)
    if points and fill < points[0].fill_rate:
        return points[0].average_units, points[0].average_value
    for low, high in pairwise(points):
        if low.fill_rate <= fill <= high.fill_rate:
            span = high.fill_rate - low.fill_rate
            share = (fill - low.fill_rate) / span if span > 0 else 0.0
            return (
                low.average_units + share * (high.average_units - low.average_units),
                low.average_value + share * (high.average_value - low.average_value),
            )
    return None


def fill_at_stock(curve: Sequence[Outcome], units: float) -> float | None:
    """The curve's fill rate at `units` of average stock, linearly between the points that
    bracket it; None when the curve holds more than `units` at every point."""
    points = sorted(curve, key=lambda o: o.average_units)
    if not points or units < points[0].average_units:
        return None
    if units >= points[-1].average_units:
        return points[-1].fill_rate  # more stock than the curve's top: at least this
    for low, high in pairwise(points):
        if low.average_units <= units <= high.average_units:
            span = high.average_units - low.average_units
            share = (units - low.average_units) / span if span > 0 else 0.0
            return low.fill_rate + share * (high.fill_rate - low.fill_rate)
    return None


def best_fill(
    named: dict[str, list[Outcome]], baseline: Outcome
) -> tuple[str, float] | tuple[None, None]:
    """The highest fill rate a curve placing no more orders than `baseline` reaches with no more
    average stock than it holds, and that curve's name."""
    reached = [
        (fill, name)
        for name, curve in named.items()
        if max(o.orders for o in curve) <= baseline.orders
        and (fill := fill_at_stock(curve, baseline.average_units)) is not None
    ]
    if not reached:
        return None, None
    fill, name = max(reached)
    return name, fill


def curves(outcomes: Sequence[Outcome]) -> dict[str, list[Outcome]]:
    """skuflow's trade-off curves by name: order-up-to, and EOQ at each order cost."""
    prefixes = [ORDER_UP_TO, *(eoq_curve(cost) for cost in EOQ_COSTS), LOGNORMAL]
    found = {p: [o for o in outcomes if o.policy.startswith(p + " ")] for p in prefixes}
    return {name: curve for name, curve in found.items() if curve}


def best_curve(
    named: dict[str, list[Outcome]], baseline: Outcome, fill: float
) -> tuple[str, list[Outcome]] | None:
    """The curve holding the least stock at `fill` among those placing no more orders than
    `baseline` (the order-up-to curve when none reaches the fill)."""
    fair = {n: c for n, c in named.items() if max(o.orders for o in c) <= baseline.orders}
    reached = [(stock_at_fill(c, fill), n) for n, c in fair.items()]
    ranked = sorted((found[0], n) for found, n in reached if found is not None)
    if ranked:
        return ranked[0][1], fair[ranked[0][1]]
    if ORDER_UP_TO in fair:
        return ORDER_UP_TO, fair[ORDER_UP_TO]
    return None


def compare(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    named = curves(outcomes)
    comparisons = []
    for baseline in (o for o in outcomes if o.policy.startswith("min/max")):
        chosen = best_curve(named, baseline, baseline.fill_rate)
        name, curve = chosen if chosen is not None else ("none", [])
        found = stock_at_fill(curve, baseline.fill_rate)
        row: dict[str, Any] = {"baseline": baseline.policy, "fill_rate": baseline.fill_rate}
        row["curve"] = name
        row["orders"] = baseline.orders
        row["curve_orders"] = max((o.orders for o in curve), default=None)
        row["fill_curve"], row["fill_at_baseline_stock"] = best_fill(named, baseline)
        row["at_least"] = bool(curve) and baseline.fill_rate < min(o.fill_rate for o in curve)
        row["baseline_units"], row["baseline_value"] = (
            baseline.average_units,
            baseline.average_value,
        )
        if found is None:
            row.update(skuflow_units=None, skuflow_value=None, cut_units=None, cut_value=None)
        else:
            row.update(
                skuflow_units=found[0],
                skuflow_value=found[1],
                cut_units=1 - found[0] / baseline.average_units,
                cut_value=1 - found[1] / baseline.average_value,
            )
        comparisons.append(row)
    targets = []
    by_name = {o.policy: o for o in outcomes}
    at_95 = None
    for row in comparisons:
        if row["baseline"] not in (ERP, WARM_UP):
            continue
        at_fill = best_curve(named, by_name[row["baseline"]], FILL_TARGET)
        at_95 = None if at_fill is None else stock_at_fill(at_fill[1], FILL_TARGET)
        cut = row["cut_units"]
        targets.append(
            {
                "target": f"{row['baseline']}'s fill rate with ≥ 40% less average stock",
                "measured": cut,
                "at_least": row["at_least"],
                "met": cut is not None and cut >= STOCK_CUT,
            }
        )
        targets.append(
            {
                "target": f"95% fill rate with no more stock than {row['baseline']}",
                "measured": None if at_95 is None else at_95[0] / row["baseline_units"],
                "met": at_95 is not None and at_95[0] <= row["baseline_units"],
                "baseline_units": row["baseline_units"],
            }
        )
    return {"comparisons": comparisons, "stock_at_95": at_95, "targets": targets}


def run(
    data_dir: Path,
    out: Path,
    *,
    options: Options | None = None,
    limit_rows: int | None = None,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, Any], str]:
    options = options or Options()
    began = time.perf_counter()
    demand = online_retail_demand(data_dir, limit_rows)
    series = panel(demand, options)
    units = sum(sum(s.demand) for s in series)
    took = time.perf_counter() - began
    log(f"{len(series)} SKU-site series, {units:,.0f} units, read in {took:.0f} s")
    began = time.perf_counter()
    pooled = SeasonalSmoothing.starting(POOLED_PROFILE, phase=demand.first_day.weekday())
    outcomes = simulate(
        series,
        policies(),
        lambda s: forecaster(s, options),
        pooled=pooled,
        warmup=options.warmup,
    )
    bound = simulate(
        series,
        bound_policies(),
        lambda s: known_level(s, options.warmup),
        pooled=SeasonalSmoothing.starting(POOLED_PROFILE, phase=demand.first_day.weekday()),
        warmup=options.warmup,
    )
    seconds = time.perf_counter() - began
    log(f"simulated in {seconds:.0f} s")
    erp = next(o for o in outcomes if o.policy == ERP)
    at_erp = stock_at_fill(bound, erp.fill_rate)
    document: dict[str, Any] = {
        "machine": machine(),
        "limit_rows": limit_rows,
        "options": options.__dict__,
        "series": len(series),
        "units": units,
        "seconds": seconds,
        "outcomes": [_outcome(o) for o in outcomes],
        **compare(outcomes),
        "bound": {
            "outcomes": [_outcome(o) for o in bound],
            "units_at_erp_fill": None if at_erp is None else at_erp[0],
            "cut_at_erp_fill": None if at_erp is None else 1 - at_erp[0] / erp.average_units,
            "at_least": bool(bound) and erp.fill_rate < min(o.fill_rate for o in bound),
        },
        "big_day_shares": big_day_shares(series, options.warmup),
        "fill_bound": fill_bound(series, outcomes, options.warmup),
    }
    markdown = to_markdown(document)
    out.mkdir(parents=True, exist_ok=True)
    (out / "replenishment.json").write_text(json.dumps(_clean(document), indent=2) + "\n")
    (out / "replenishment.md").write_text(markdown)
    return document, markdown


def _outcome(o: Outcome) -> dict[str, Any]:
    return {
        "policy": o.policy,
        "fill_rate": o.fill_rate,
        "average_units": o.average_units,
        "average_value": o.average_value,
        "orders": o.orders,
        "demand": o.demand,
    }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _number(value: float | None, fmt: str) -> str:
    return "not reached" if value is None else format(value, fmt)


def to_markdown(document: dict[str, Any]) -> str:
    m, o = document["machine"], document["options"]
    lines = [
        "# Replenishment: the Online Retail year, simulated",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; {m['date']}. "
        f"{document['series']} SKU-site series with demand on ≥ {o['min_days']} days "
        f"({document['units']:,.0f} units); warm-up {o['warmup']} days; lead times "
        f"N({o['lead_time_mean']:g}, {o['lead_time_std']:g}) days per order; review 14 days; "
        f"simulated in {document['seconds']:.0f} s. skuflow's forecaster: "
        + ("smoothing with the level-shift detector." if o.get("level_shift") else "smoothing."),
        "",
        "| policy | fill rate | average stock (units) | average stock (£) | orders |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in document["outcomes"]:
        lines.append(
            f"| {row['policy']} | {row['fill_rate']:.1%} | {row['average_units']:,.0f} | "
            f"{row['average_value']:,.0f} | {row['orders']:,} |"
        )
    lines += [
        "",
        "At each baseline's fill rate, skuflow's stock, interpolated on the curve that holds the",
        "least there among those placing no more orders than the baseline (≥: the baseline fills",
        "less than that curve's lowest point, so the cut is at least that):",
        "",
        "| baseline | fill rate | orders | baseline units | skuflow curve | its orders | "
        "skuflow units | less stock (units) | less stock (£) |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in document["comparisons"]:
        bound = "≥ " if row["at_least"] else ""
        curve_orders = row.get("curve_orders")
        lines.append(
            f"| {row['baseline']} | {row['fill_rate']:.1%} | {row.get('orders', 0):,} | "
            f"{row['baseline_units']:,.0f} | {row.get('curve', '')} | "
            f"{'' if curve_orders is None else format(curve_orders, ',')} | "
            f"{_number(row['skuflow_units'], ',.0f')} | "
            f"{bound}{_number(row['cut_units'], '+.1%')} | "
            f"{bound}{_number(row['cut_value'], '+.1%')} |"
        )
    lines += [
        "",
        "At each baseline's average stock, the highest fill rate of a skuflow curve placing no",
        "more orders than the baseline (interpolated; none: every point holds more):",
        "",
        "| baseline | fill rate | baseline units | skuflow curve | skuflow fill rate |",
        "|---|---:|---:|---|---:|",
    ]
    for row in document["comparisons"]:
        fill = row.get("fill_at_baseline_stock")
        lines.append(
            f"| {row['baseline']} | {row['fill_rate']:.1%} | {row['baseline_units']:,.0f} | "
            f"{row.get('fill_curve') or 'none'} | {_number(fill, '.1%')} |"
        )
    known = document.get("bound")
    if known:
        lines += [
            "",
            "## Why: the bound with the level known, and the big days",
            "",
            "skuflow's policy fed each series' average over the scored days from the start (what",
            "the hindsight min/max knows; α ≈ 0, the same weekly profile and error variance):",
            "",
            "| policy | fill rate | average stock (units) | orders |",
            "|---|---:|---:|---:|",
        ]
        for row in known["outcomes"]:
            lines.append(
                f"| {row['policy']} | {row['fill_rate']:.1%} | {row['average_units']:,.0f} | "
                f"{row['orders']:,} |"
            )
        cut = known["cut_at_erp_fill"]
        at_least = "at least " if known["at_least"] else ""
        held = (
            "not reached"
            if cut is None
            else f"{at_least}{abs(cut):.1%} {'less' if cut >= 0 else 'more'} stock than it"
        )
        shares = document.get("big_day_shares", {})
        lines += [
            "",
            f"At {ERP}'s fill rate this bound holds {held}: a better forecast of the level",
            "cannot reach a 40% cut with this policy. Share of the units that come on days",
            "bigger than k days of the series' average demand: "
            + ", ".join(f"k = {k}: {v:.0%}" for k, v in shares.items())
            + f" (28 days is more than {ERP}'s whole max level).",
        ]
    bounds = document.get("fill_bound") or []
    if bounds:
        lines += [
            "",
            "## The least stock when days cannot be foreseen",
            "",
            "No lead time, an order every day, each series' year of daily demand sizes known in",
            "advance but not their order (`state.demand.fill_bound`): the least average stock",
            "(units) for a fill rate, stock spent where it serves the most units. A real policy",
            "also waits 2-14 days for each order and orders far less often:",
            "",
            "| at | fill rate | that policy holds | least stock, days unforeseen |",
            "|---|---:|---:|---:|",
        ]
        for row in bounds:
            held = "" if row["held"] is None else f"{row['held']:,.0f}"
            lines.append(
                f"| {row['at']} | {row['fill_rate']:.1%} | {held} | "
                f"{_number(row['least_units'], ',.0f')} |"
            )
    lines += ["", "## Targets", ""]
    least_at_95 = next((row["least_units"] for row in bounds if row["held"] is None), None)
    for target in document["targets"]:
        measured = target["measured"]
        bound = "≥ " if target.get("at_least") else ""
        shown = "not reached" if measured is None else f"{bound}{measured:.1%}"
        why = ""
        held = target.get("baseline_units")
        if held and least_at_95 is not None and least_at_95 > held:
            why = (
                f" (even with no lead time and days unforeseen, 95% needs {least_at_95:,.0f} "
                f"units, {least_at_95 / held:.2f}× its {held:,.0f})"
            )
        lines.append(
            f"- {target['target']}: measured {shown} → "
            f"**{'met' if target['met'] else 'not met'}**{why}"
        )
    return "\n".join(lines) + "\n"
