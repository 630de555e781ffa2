"""A synthetic stream over N SKU-locations: the benchmarks' load beyond Online Retail's 4,000 SKUs.

A SKU-location is a SKU stocked at one site. `build_catalog(n)` makes ⌈n / 4⌉ SKUs
(`SYN-0000000`, ...) at the four sites of the Online Retail replay (LON, MAN, RTM, BCN, each with
a receiving dock in a non-sellable zone and a pick bin), so every SKU is at every site. `synthetic`
streams events over them in event-time order with the replay's rhythm:

- **Orders** (55% of draws): one to three lines at one site, 1-4 units each, channel web (70%)
  or marketplace. A line the projection cannot serve first gets a receipt at the dock and its
  put-away to the pick bin (a batch of 24 units, or the shortfall), so stock is never fictional.
- **Picks and ships**: every order line is picked at the pick bin and shipped two minutes later
  (the clock runs at about four draws a second).
- **Receipts** (25%): a receipt of 6-48 units at the dock and its put-away.
- **Cycle counts** (12%): the pick bin counted at its book quantity less 0-2 units of shrinkage.
- **Damage** (8%): one unit written off as damaged, when the bin has one.

Popularity is skewed (the SKU-location drawn is ⌊n·u²⌋ for u uniform): the busiest 1% get about
a tenth of the draws, as with real assortments. `cover=True` first gives every SKU-location one
receipt and put-away, so that all n are in the state (the memory benchmark). Deterministic: the
same arguments give the same events with the same ids. Pure generation, no I/O but
`write_catalog`.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from connectors.replay.online_retail import dock, pick_bin
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
    StockAdjusted,
)

SITES = ("LON", "MAN", "RTM", "BCN")
CHANNELS = (Channel("web", priority=1), Channel("marketplace", priority=2))
SOURCE = "synthetic"
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
PICK_DELAY = timedelta(minutes=2)
BATCH = 24  # units received when an order line finds the bin short


def sku_count(sku_locations: int) -> int:
    return max(1, -(-sku_locations // len(SITES)))


def sku_code(index: int) -> str:
    return f"SYN-{index:07d}"


def locations() -> list[str]:
    return [path for site in SITES for path in (dock(site), pick_bin(site))]


def build_catalog(sku_locations: int) -> Catalog:
    """⌈n / 4⌉ SKUs at the four sites (so at least n SKU-locations), two channels."""
    return Catalog.build(
        skus=[Sku(sku_code(i)) for i in range(sku_count(sku_locations))],
        locations=locations(),
        channels=CHANNELS,
        non_sellable_zones=[f"{site}/RCV" for site in SITES],
    )


def write_catalog(path: Path, sku_locations: int) -> Path:
    """The same catalog as a `connectors.catalog_file.CatalogFile` JSON (for `SKUFLOW_CATALOG`)."""
    document = {
        "skus": [{"code": sku_code(i)} for i in range(sku_count(sku_locations))],
        "locations": locations(),
        "channels": [{"code": c.code, "priority": c.priority} for c in CHANNELS],
        "non_sellable_zones": [f"{site}/RCV" for site in SITES],
    }
    path.write_text(json.dumps(document))
    return path


class _Floor:
    """The generator's projection of units at each pick bin, so that events stay valid."""

    def __init__(self, sku_locations: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.skus = sku_count(sku_locations)
        self.available: dict[tuple[int, int], int] = {}  # (sku index, site index) → units
        self.allocated: dict[tuple[int, int], int] = {}  # ordered, not yet picked
        self.due: deque[tuple[datetime, str, int, int, int]] = deque()  # (at, order, sku, site, q)
        self.clock = START
        self.n = 0
        self.serial = 0  # makes every event id unique

    def stamp(self, now: datetime, kind: str) -> dict[str, object]:
        self.serial += 1
        return {"event_id": f"syn-{kind}-{self.serial}", "occurred_at": now, "source": SOURCE}

    def draw(self) -> tuple[int, int]:
        slot = int(self.skus * len(SITES) * self.rng.random() ** 2)
        return divmod(slot, len(SITES))

    def tick(self) -> datetime:
        self.n += 1
        self.clock += timedelta(milliseconds=self.rng.randint(50, 450))
        return self.clock


def synthetic(
    sku_locations: int, events: int, *, seed: int = 11, cover: bool = False
) -> Iterator[Event]:
    """Exactly `events` events over `sku_locations` SKU-locations (see the module's mix)."""
    floor = _Floor(sku_locations, seed)

    def steps() -> Iterator[Event]:
        if cover:
            for sku in range(floor.skus):
                for site in range(len(SITES)):
                    yield from _receive(floor, floor.tick(), sku, site, floor.rng.randint(6, 48))
        while True:
            yield from _next(floor)

    yield from islice(steps(), events)


def _next(floor: _Floor) -> list[Event]:
    now = floor.tick()
    if floor.due and floor.due[0][0] <= now:
        line = floor.due.popleft()
        floor.allocated[(line[2], line[3])] -= line[4]
        return _fulfil(line)
    roll = floor.rng.random()
    sku, site = floor.draw()
    if roll < 0.55:
        return _order(floor, now, site, sku)
    if roll < 0.80:
        return _receive(floor, now, sku, site, floor.rng.randint(6, 48))
    if roll < 0.92:
        return [_count(floor, now, sku, site)]
    if floor.available.get((sku, site), 0) > 0:
        return [_damage(floor, now, sku, site)]
    return _receive(floor, now, sku, site, BATCH)


def _receive(floor: _Floor, now: datetime, sku: int, site: int, units: int) -> list[Event]:
    code, where = sku_code(sku), SITES[site]
    floor.available[(sku, site)] = floor.available.get((sku, site), 0) + units
    return [
        ReceiptPosted(
            **floor.stamp(now, "receipt"),
            location=dock(where),
            lines=(ReceiptLine(sku=code, quantity=units),),
        ),
        PutAway(
            **floor.stamp(now, "putaway"),
            sku=code,
            quantity=units,
            from_location=dock(where),
            to_location=pick_bin(where),
        ),
    ]


def _order(floor: _Floor, now: datetime, site: int, first: int) -> list[Event]:
    rng, n = floor.rng, floor.n
    wanted = {first: rng.randint(1, 4)}
    for _ in range(rng.randint(0, 2)):
        wanted.setdefault(floor.draw()[0], rng.randint(1, 4))
    restocks: list[Event] = []
    for sku, quantity in wanted.items():
        shortfall = quantity - floor.available.get((sku, site), 0)
        if shortfall > 0:
            restocks += _receive(floor, now, sku, site, max(shortfall, BATCH))
    order_id = f"SYN-SO-{n}"
    for sku, quantity in wanted.items():
        floor.available[(sku, site)] -= quantity
        floor.allocated[(sku, site)] = floor.allocated.get((sku, site), 0) + quantity
        floor.due.append((now + PICK_DELAY, order_id, sku, site, quantity))
    channel = CHANNELS[0] if rng.random() < 0.7 else CHANNELS[1]
    order = OrderPlaced(
        **floor.stamp(now, "order"),
        order_id=order_id,
        channel=channel.code,
        priority=channel.priority,
        ship_to=ShipTo(region=SITES[site], postal_code="unknown"),
        lines=tuple(
            OrderLine(sku=sku_code(sku), quantity=q, site=SITES[site]) for sku, q in wanted.items()
        ),
    )
    return [*restocks, order]


def _fulfil(line: tuple[datetime, str, int, int, int]) -> list[Event]:
    at, order_id, sku, site, quantity = line
    code = sku_code(sku)
    stamp = {"occurred_at": at, "source": SOURCE}
    return [
        Picked(
            event_id=f"syn-pick-{order_id}-{code}",
            **stamp,
            order_id=order_id,
            sku=code,
            quantity=quantity,
            location=pick_bin(SITES[site]),
        ),
        Shipped(
            event_id=f"syn-ship-{order_id}-{code}",
            **stamp,
            order_id=order_id,
            sku=code,
            quantity=quantity,
        ),
    ]


def _count(floor: _Floor, now: datetime, sku: int, site: int) -> Event:
    """The pick bin holds what is available plus what is allocated and not yet picked."""
    allocated = floor.allocated.get((sku, site), 0)
    available = floor.available.get((sku, site), 0)
    shrinkage = min(floor.rng.choice((0, 0, 0, 1, 2)), available)
    floor.available[(sku, site)] = available - shrinkage
    return CycleCounted(
        **floor.stamp(now, "count"),
        sku=sku_code(sku),
        location=pick_bin(SITES[site]),
        quantity=available + allocated - shrinkage,
    )


def _damage(floor: _Floor, now: datetime, sku: int, site: int) -> Event:
    floor.available[(sku, site)] -= 1
    return StockAdjusted(
        **floor.stamp(now, "damage"),
        sku=sku_code(sku),
        quantity=1,
        location=pick_bin(SITES[site]),
        reason="damaged",
    )
