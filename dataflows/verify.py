"""`skuflow verify`: the live view, the ledger and a recomputation from the raw events must agree.

Three independent accounts of every SKU's stock are compared, position by position and bucket by
bucket (on-hand buckets at each bin and lot), plus network ATP:

- the recomputation: the sequenced log folded again from its first event by the pure core, in
  this process, with no Bytewax and no sink (what the stock must be);
- the ledger: `current_stock` in PostgreSQL, and separately the sum of every Movement's deltas
  (what was durably recorded, two ways);
- the live view in Redis (what channels are being told).

Every disagreement is reported; none is repaired here (`skuflow rebuild-view` repairs the view).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dataflows.inventory import route
from dataflows.routing import is_plan_key
from state.apply import apply
from state.atp import network_atp
from state.buckets import ON_HAND_BUCKETS, Quantities
from state.catalog import Catalog
from state.intake import DeadLetter, RawEvent
from state.stock import SkuStock

Place = tuple[str, str]  # (location, lot)
Positions = Mapping[str, Mapping[Place, Quantities]]  # sku -> place -> on-hand buckets


@dataclass(frozen=True)
class Mismatch:
    sku: str
    place: str
    account: str  # which account disagrees with the recomputation
    expected: str
    found: str

    def __str__(self) -> str:
        return (
            f"{self.sku} {self.place}: {self.account} has {self.found}, recomputed {self.expected}"
        )


@dataclass(frozen=True)
class Recomputed:
    states: dict[str, SkuStock]
    events: int
    dead_letters: int


def recompute(raws: Iterable[RawEvent], catalog: Catalog) -> Recomputed:
    """Fold raw events through the core exactly as the flow does, in the order given."""
    states: dict[str, SkuStock] = {}
    events = dead = 0
    for raw in raws:
        if is_plan_key(raw.key):
            continue  # a routing plan in the log: it explains an order, it moves no stock
        events += 1
        for item in route(catalog, raw):
            if isinstance(item, DeadLetter):
                dead += 1
                continue
            if not isinstance(item, tuple):
                continue  # a plan record: skipped above already
            sku, (_, event) = item
            states[sku], _ = apply(states.get(sku), event, catalog, sku=sku)
    return Recomputed(states, events, dead)


def on_hand_only(quantities: Quantities) -> Quantities:
    return Quantities(*(getattr(quantities, b) for b in ON_HAND_BUCKETS))


def positions_of(states: Mapping[str, SkuStock]) -> dict[str, dict[Place, Quantities]]:
    return {
        sku: {
            place: on_hand_only(position.quantities)
            for place, position in stock.positions.items()
            if on_hand_only(position.quantities)
        }
        for sku, stock in states.items()
    }


def compare(expected: Positions, found: Positions, account: str) -> list[Mismatch]:
    """Every (sku, place) whose buckets differ between the two accounts."""
    mismatches = []
    for sku in sorted(set(expected) | set(found)):
        mine, theirs = expected.get(sku, {}), found.get(sku, {})
        for place in sorted(set(mine) | set(theirs)):
            want, got = mine.get(place, Quantities()), theirs.get(place, Quantities())
            if want != got:
                where = f"{place[0]}" + (f" lot {place[1]}" if place[1] else "")
                mismatches.append(Mismatch(sku, where, account, _show(want), _show(got)))
    return mismatches


def compare_atp(
    recomputed: Mapping[str, SkuStock], catalog: Catalog, view_atp: Mapping[str, tuple[int, object]]
) -> list[Mismatch]:
    """Network ATP in the view (figure, as_of) against the recomputed state on that date."""
    mismatches = []
    for sku, (figure, as_of) in sorted(view_atp.items()):
        stock = recomputed.get(sku)
        want = network_atp(stock, catalog, as_of) if stock is not None else 0  # type: ignore[arg-type]
        if want != figure:
            mismatches.append(Mismatch(sku, "network ATP", "live view", str(want), str(figure)))
    return mismatches


def _show(quantities: Quantities) -> str:
    shown = {k: v for k, v in quantities.as_dict().items() if v}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "nothing"
