"""The least average stock any policy needs for a unit fill rate, when days cannot be foreseen.

A generous rival to every replenishment policy: no lead time (stock ordered tonight is on the
shelf by morning), an order every day, and each series' distribution of daily demand over the
scored days known in advance, but not which day brings which demand. Each morning it chooses
the stock S on hand; the day serves min(y, S) at once and leaves (S − y)⁺ on the shelf:

    served(S) = Σ_days min(y, S),    stock-days(S) = Σ_days (S − y)⁺

If a series' days are exchangeable (drawn from its year's distribution in any order), nothing
learnt before a day tells its size, so a policy with lead times and fewer orders does no better
than choosing S each morning, and (stock-days(S), served(S)) is concave in S, so mixing levels
over days gains nothing. Across series the least total stock for a total fill rate spends stock
on the curves' pieces in order of units served per unit of stock (a fractional knapsack on
concave curves is solved greedily). Seasonality breaks exchangeability (a forecast
of the month's level helps), so this is a bound for policies that cannot tell one day from
another within a series' year, not a proof about every policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise


@dataclass(frozen=True, slots=True)
class Segment:
    """One straight piece of a series' curve: `stock` more stock-days serve `served` more units."""

    stock: float
    served: float

    @property
    def slope(self) -> float:
        return self.served / self.stock if self.stock > 0 else float("inf")


def segments(days: Sequence[float]) -> list[Segment]:
    """The pieces of (stock-days(S), served(S)) between S = 0 and each demand size seen.

    Between two sizes both are straight in S, so those S are all there is. Raising S by one
    unit serves P(y > S) more units a day for P(y ≤ S) more stock, a ratio that falls as S
    grows: the curve is concave, its pieces come in falling slope, and no mix of levels beats it.
    """
    ordered = sorted(y for y in days if y > 0)
    zeros = len(days) - len(ordered)
    below = [0.0, *accumulate(ordered)]  # Σ of the i smallest positive demands
    points = [(0.0, 0.0)]
    for i, level in enumerate(ordered):
        if i + 1 < len(ordered) and ordered[i + 1] == level:
            continue  # the last of equal sizes: every day of this size is then served in full
        smaller = i + 1  # positive days of size ≤ level
        stock = zeros * level + smaller * level - below[smaller]
        served = below[smaller] + (len(ordered) - smaller) * level
        points.append((stock, served))
    return [Segment(b[0] - a[0], b[1] - a[1]) for a, b in pairwise(points)]


def least_stock_days(panel: Sequence[Sequence[float]], fill_rate: float) -> float | None:
    """The least Σ stock-days over the series reaching `fill_rate` of all units; None when even
    holding every series' biggest day every morning does not (fill rate above 1)."""
    demand = sum(sum(days) for days in panel)
    if demand <= 0:
        return 0.0
    need = fill_rate * demand
    pieces = sorted((s for days in panel for s in segments(days)), key=lambda s: -s.slope)
    stock = served = 0.0
    for segment in pieces:
        if served + segment.served >= need:
            return stock + segment.stock * (need - served) / segment.served
        stock += segment.stock
        served += segment.served
    return None
