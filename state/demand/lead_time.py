"""Supplier lead times learnt from purchase order → ASN → receipt, per supplier (and SKU).

One `LeadTimeBook` per SKU (the dataflow's state is per SKU) keeps, per supplier:

    lead time  = receipt time − purchase order time          (days, fractional)
    transit    = receipt time − ASN time                     (days; when an ASN came first)
    on time    = receipt date ≤ the PO's expected date       (the supplier's promise at ordering)

Each is an exponentially weighted statistic with a memory of `memory` receipts (weights decay by
λ = 1 − 1/memory per observation), so a supplier that gets slower is noticed:

    W ← λ·W + 1,   S₁ ← λ·S₁ + x,   S₂ ← λ·S₂ + x²,   mean = S₁ / W,   var = S₂ / W − mean²

`estimate` shrinks towards a prior (the configured lead time) with `prior_weight` pseudo-receipts,
so a supplier seen once does not set the policy alone:

    L = (k·L₀ + W·mean) / (k + W),   σL² = (k·σ₀² + W·var) / (k + W)

A purchase order is observed once, at its first receipt (later partial receipts add nothing). A
receipt names its PO, or an ASN that names it; one that names neither teaches nothing. Open POs
are bounded (`max_open`, the oldest forgotten first) so a PO never received cannot grow the state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from state.shared import EMPTY

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Moments:
    """Exponentially weighted count, Σx and Σx²."""

    weight: float = 0.0
    total: float = 0.0
    squares: float = 0.0

    def add(self, x: float, keep: float) -> Moments:
        return Moments(keep * self.weight + 1.0, keep * self.total + x, keep * self.squares + x * x)

    @property
    def mean(self) -> float:
        return self.total / self.weight if self.weight > 0 else 0.0

    @property
    def variance(self) -> float:
        if self.weight <= 0:
            return 0.0
        return max(0.0, self.squares / self.weight - self.mean**2)


@dataclass(frozen=True, slots=True)
class LeadTimeStats:
    """One supplier's lead time, transit time (days) and on-time share."""

    lead_time: Moments = field(default_factory=Moments)
    transit: Moments = field(default_factory=Moments)
    on_time: Moments = field(default_factory=Moments)  # x = 1 on time, 0 late
    receipts: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time.mean if self.on_time.weight > 0 else None


@dataclass(frozen=True, slots=True)
class OpenPurchase:
    supplier: str
    site: str
    placed_at: datetime
    expected: date
    shipped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeadTimeObserved:
    """One receipt's lesson: what the dataflow may report besides learning it."""

    purchase_order_id: str
    supplier: str
    site: str
    days: float
    on_time: bool


@dataclass(frozen=True, slots=True)
class LeadTimeEstimate:
    mean: float  # days
    std: float  # days
    receipts: int
    on_time_rate: float | None


@dataclass(frozen=True, slots=True)
class LeadTimeBook:
    """Per supplier statistics and the purchase orders still open, for one SKU."""

    suppliers: Mapping[str, LeadTimeStats] = field(default_factory=lambda: EMPTY)
    open: Mapping[str, OpenPurchase] = field(default_factory=lambda: EMPTY)  # PO id → PO
    asns: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # ASN id → PO id
    memory: float = 20.0
    max_open: int = 256

    def __post_init__(self) -> None:
        # Most SKUs never see a purchase order: their empty mappings are the one shared `EMPTY`.
        for name in ("suppliers", "open", "asns"):
            if not getattr(self, name):
                object.__setattr__(self, name, EMPTY)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (Bytewax snapshots it) as plain dicts; a book that learnt nothing restores as
        the one shared `NOTHING_LEARNT` rather than a copy per SKU."""
        if self == NOTHING_LEARNT:
            return (nothing_learnt, ())
        mappings = (dict(self.suppliers), dict(self.open), dict(self.asns))
        return (LeadTimeBook, (*mappings, self.memory, self.max_open))

    def placed(
        self, po_id: str, supplier: str, site: str, at: datetime, expected: date
    ) -> LeadTimeBook:
        if po_id in self.open:
            return self
        opened = {**self.open, po_id: OpenPurchase(supplier, site, at, expected)}
        if len(opened) > self.max_open:
            oldest = min(opened, key=lambda key: (opened[key].placed_at, key))
            del opened[oldest]
        return self._with(open_=opened)

    def shipped(self, asn_id: str, po_id: str | None, at: datetime) -> LeadTimeBook:
        """An ASN: remember its PO, and when the goods left (the first ASN of a PO counts)."""
        if po_id is None or po_id not in self.open:
            return self
        purchase = self.open[po_id]
        if purchase.shipped_at is None:
            purchase = OpenPurchase(
                purchase.supplier, purchase.site, purchase.placed_at, purchase.expected, at
            )
        asns = {**self.asns, asn_id: po_id}
        if len(asns) > self.max_open:
            asns = {k: v for k, v in asns.items() if v in self.open}
        return self._with(open_={**self.open, po_id: purchase}, asns=asns)

    def received(
        self, po_id: str | None, asn_id: str | None, at: datetime
    ) -> tuple[LeadTimeBook, LeadTimeObserved | None]:
        """The first receipt of an open PO is one observation; anything else teaches nothing."""
        po = po_id if po_id in self.open else self.asns.get(asn_id or "")
        if po is None or po not in self.open:
            return self, None
        purchase = self.open[po]
        days = (at - purchase.placed_at).total_seconds() / SECONDS_PER_DAY
        on_time = at.date() <= purchase.expected
        keep = 1.0 - 1.0 / self.memory
        stats = self.suppliers.get(purchase.supplier, LeadTimeStats())
        transit = stats.transit
        if purchase.shipped_at is not None:
            transit = transit.add(
                (at - purchase.shipped_at).total_seconds() / SECONDS_PER_DAY, keep
            )
        learnt = LeadTimeStats(
            stats.lead_time.add(days, keep),
            transit,
            stats.on_time.add(1.0 if on_time else 0.0, keep),
            stats.receipts + 1,
        )
        opened = {k: v for k, v in self.open.items() if k != po}
        asns = {k: v for k, v in self.asns.items() if v != po}
        book = self._with(suppliers={**self.suppliers, purchase.supplier: learnt}, open_=opened)
        book = book._with(asns=asns)
        return book, LeadTimeObserved(po, purchase.supplier, purchase.site, days, on_time)

    def estimate(
        self, supplier: str, prior_days: float, prior_std: float, prior_weight: float = 2.0
    ) -> LeadTimeEstimate:
        """Mean and σ of the lead time (days), shrunk towards the prior; see the module doc."""
        stats = self.suppliers.get(supplier, _NONE_RECEIVED)
        w, k = stats.lead_time.weight, prior_weight
        if w + k <= 0:
            return LeadTimeEstimate(prior_days, prior_std, 0, None)
        mean = (k * prior_days + w * stats.lead_time.mean) / (k + w)
        variance = (k * prior_std**2 + w * stats.lead_time.variance) / (k + w)
        return LeadTimeEstimate(mean, math.sqrt(variance), stats.receipts, stats.on_time_rate)

    def _with(
        self,
        *,
        suppliers: Mapping[str, LeadTimeStats] | None = None,
        open_: Mapping[str, OpenPurchase] | None = None,
        asns: Mapping[str, str] | None = None,
    ) -> LeadTimeBook:
        return LeadTimeBook(
            self.suppliers if suppliers is None else suppliers,
            self.open if open_ is None else open_,
            self.asns if asns is None else asns,
            self.memory,
            self.max_open,
        )


NOTHING_LEARNT = LeadTimeBook()
_NONE_RECEIVED = LeadTimeStats()  # a supplier with no receipt yet (read per event: made once)


def nothing_learnt() -> LeadTimeBook:
    """The shared book of a SKU that has learnt no lead time (what its snapshot restores to)."""
    return NOTHING_LEARNT
