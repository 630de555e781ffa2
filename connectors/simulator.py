"""A simulated multi-site operation: the demo's event stream when the real data is not at hand.

Three warehouses (LON, MAN, RTM), a dozen SKUs with memorable names, two sales channels, and the
floor's daily rhythm: suppliers' receipts land at each site's dock and are put away to a pick
face; orders arrive through the day and are picked and shipped; now and then a cycle count finds
a discrepancy, stock is damaged, a batch is put on hold. A few deliberately bad events (an unknown
SKU, an over-pick, malformed bytes) show how rejections and dead letters look.

Deterministic for a given seed: the same seed gives the same events with the same ids.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from state.catalog import Catalog, Channel, Sku
from state.events import (
    CycleCounted,
    Event,
    OrderLine,
    OrderPlaced,
    Picked,
    PutAway,
    ReceiptLine,
    ReceiptPosted,
    Shipped,
    ShipTo,
    StatusChanged,
    StockAdjusted,
)
from state.units import UnitsOfMeasure

SITES = ("LON", "MAN", "RTM")
SKUS = (
    "RETRO-CLOCK",
    "TEAL-KETTLE",
    "PAPER-BIRDIE",
    "GARDEN-HOSE",
    "LUNCH-BAG-RED",
    "JAM-JAR",
    "HEART-LANTERN",
    "TEA-MUG",
    "CAKE-STAND",
    "DOORMAT-UNION",
    "PICNIC-BASKET",
    "BIRD-HOUSE",
)
REGIONS = {"LON": "United Kingdom", "MAN": "EIRE", "RTM": "Netherlands"}
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
BUFFER = 2  # units the web channel keeps back from the marketplace


def dock(site: str) -> str:
    return f"{site}/RCV/00/00/0/DOCK"


def pick_face(site: str) -> str:
    return f"{site}/A/01/01/1/PICK"


def build_catalog() -> Catalog:
    return Catalog.build(
        skus=[Sku(code, units=UnitsOfMeasure("each", {"case": 6})) for code in SKUS],
        locations=[loc for site in SITES for loc in (dock(site), pick_face(site))],
        channels=[
            Channel("web", priority=1, buffer=BUFFER),
            Channel("marketplace", priority=2, shortfall="reject"),
        ],
        non_sellable_zones=[f"{site}/RCV" for site in SITES],
    )


@dataclass
class _Floor:
    """The simulator's own idea of what is on each pick face, so most events are valid."""

    available: dict[tuple[str, str], int]
    open_lines: list[tuple[datetime, str, str, str, int]]  # (due, order, sku, site, qty)
    held: dict[tuple[str, str], int]  # units put on hold: still on the shelf, not for sale


def simulate(events: int, seed: int = 7) -> Iterator[Event | bytes]:
    """`events` floor and commercial events in event-time order (bad ones included)."""
    rng = random.Random(seed)
    floor = _Floor(defaultdict(int), [], defaultdict(int))
    clock = START
    emitted = 0
    n = 0
    while emitted < events:
        n += 1
        clock += timedelta(minutes=rng.randint(1, 6))
        for event in _next(rng, floor, clock, n):
            yield event
            emitted += 1
            if emitted >= events:
                return


def _next(rng: random.Random, floor: _Floor, now: datetime, n: int) -> list[Event | bytes]:
    due = [line for line in floor.open_lines if line[0] <= now]
    if due:
        floor.open_lines.remove(due[0])
        return _fulfil(due[0], now)
    roll = rng.random()
    sku, site = rng.choice(SKUS), rng.choice(SITES)
    if roll < 0.12 or floor.available[(sku, site)] < 3:
        return _receive(rng, floor, now, n, sku, site)
    if roll < 0.85:
        return _order(rng, floor, now, n, site)
    if roll < 0.90:
        return [_count(rng, floor, now, n, sku, site)]
    if roll < 0.95:
        return [_damage(floor, now, n, sku, site)]
    return [_mistake(rng, now, n, site)]


def _stamp(now: datetime, kind: str, n: int, site: str) -> dict[str, object]:
    return {"event_id": f"sim-{kind}-{n}", "occurred_at": now, "source": f"sim-{site.lower()}"}


def _receive(
    rng: random.Random, floor: _Floor, now: datetime, n: int, sku: str, site: str
) -> list[Event | bytes]:
    cases = rng.randint(2, 8)
    floor.available[(sku, site)] += cases * 6
    line = ReceiptLine(sku=sku, quantity=cases, unit="case")
    return [
        ReceiptPosted(**_stamp(now, "receipt", n, site), location=dock(site), lines=(line,)),
        PutAway(
            **_stamp(now + timedelta(seconds=30), "putaway", n, site),
            sku=sku,
            quantity=cases * 6,
            from_location=dock(site),
            to_location=pick_face(site),
        ),
    ]


def _order(
    rng: random.Random, floor: _Floor, now: datetime, n: int, site: str
) -> list[Event | bytes]:
    wanted = [(sku, rng.randint(1, 4)) for sku in rng.sample(SKUS, rng.randint(1, 3))]
    # Order only what the site can serve even after the web channel's buffer, so that the
    # simulated pickers always find what the engine allocated.
    lines = tuple(
        OrderLine(sku=sku, quantity=quantity, site=site)
        for sku, quantity in wanted
        if floor.available[(sku, site)] >= quantity + BUFFER
    )
    if not lines:
        return _receive(rng, floor, now, n, wanted[0][0], site)
    channel = "web" if rng.random() < 0.7 else "marketplace"
    for line in lines:
        floor.available[(line.sku, site)] -= line.quantity
        floor.open_lines.append(
            (now + timedelta(hours=2), f"SO-{n}", line.sku, site, line.quantity)
        )
    ship_to = ShipTo(region=REGIONS[site], postal_code=f"{rng.randint(1, 99):02d}")
    return [
        OrderPlaced(
            **_stamp(now, "order", n, site),
            order_id=f"SO-{n}",
            channel=channel,
            ship_to=ship_to,
            lines=lines,
        )
    ]


def _fulfil(line: tuple[datetime, str, str, str, int], now: datetime) -> list[Event | bytes]:
    _, order_id, sku, site, quantity = line
    stamp = {"occurred_at": now, "source": f"sim-{site.lower()}"}
    return [
        Picked(
            event_id=f"sim-pick-{order_id}-{sku}",
            **stamp,
            order_id=order_id,
            sku=sku,
            quantity=quantity,
            location=pick_face(site),
        ),
        Shipped(
            event_id=f"sim-ship-{order_id}-{sku}",
            **stamp,
            order_id=order_id,
            sku=sku,
            quantity=quantity,
        ),
    ]


def _count(rng: random.Random, floor: _Floor, now: datetime, n: int, sku: str, site: str) -> Event:
    # A count sees what the floor holds (units on hold are on the shelf too), give or take a
    # unit or two of shrinkage.
    book = (
        floor.available[(sku, site)]
        + floor.held[(sku, site)]
        + sum(q for _, _, s, st, q in floor.open_lines if (s, st) == (sku, site))
    )
    shrinkage = min(rng.choice((0, 0, 0, 1, 2)), floor.available[(sku, site)])
    counted = book - shrinkage
    floor.available[(sku, site)] -= shrinkage
    return CycleCounted(
        **_stamp(now, "count", n, site), sku=sku, location=pick_face(site), quantity=counted
    )


def _damage(floor: _Floor, now: datetime, n: int, sku: str, site: str) -> Event:
    """A unit dropped (written off as damaged) or a suspect unit put on hold."""
    floor.available[(sku, site)] -= 1  # the caller made sure there are at least 3
    if n % 2:
        return StockAdjusted(
            **_stamp(now, "damage", n, site),
            sku=sku,
            quantity=1,
            location=pick_face(site),
            reason="damaged",
        )
    floor.held[(sku, site)] += 1
    return StatusChanged(
        **_stamp(now, "hold", n, site),
        sku=sku,
        location=pick_face(site),
        quantity=1,
        status="hold",
    )


def _mistake(rng: random.Random, now: datetime, n: int, site: str) -> Event | bytes:
    """What real floors send too: a SKU nobody set up, a typo'd payload."""
    if rng.random() < 0.5:
        return StockAdjusted(
            **_stamp(now, "typo", n, site),
            sku="UNKNOWN-THING",
            quantity=1,
            location=pick_face(site),
            reason="found",
        )
    return b'{"type": "Picked", "event_id": "sim-garbled-' + str(n).encode() + b'", "qty": "two"}'
