"""Daily demand in event time: one bucket per day, closed when the SKU's event time passes it.

    DailyDemand.observe(at, units, order_id)  adds demand to the day of `at` while it is open
    DailyDemand.cancel(order_id)              takes an order's units back while its day is open
    DailyDemand.advance(watermark)            closes every day that ended `lateness` before it

A day is the calendar date of the event time in `tz` (a site's local time zone). Day D closes
once the watermark (the newest event time seen for the SKU) reaches end(D) + lateness, where
end(D) is midnight starting D + 1: until then a late event of day D still amends it. Closing
returns every day from the first open day up to the last closed one, zero days included, in
order, exactly once: that is the series the forecaster learns, one value per day. An event for
a day already closed is too late: its units are counted in `late_units`, never applied twice.

Cancellations amend the day the order was placed, while that day is open (the replay's credit
notes arrive minutes after their order); once the day is closed the demand stands. Units are
the order lines' ordered quantities in base units: demand as customers asked for it, allocated
or not (sales would hide the demand that a stock-out refused).

The orders of each open day are kept only for those cancellations, by the 64-bit key of their
id (`state.keys.key64`: 8 bytes, where the id itself took 60-90) with their units. Most open days
of most SKU-sites hold a few orders: up to `PACKED_ORDERS` of them are one `bytes` of 16 bytes an
order (key, units), about 50 bytes for one order where a hash map of the ids took about 240
(issue 9's memory in use). A busier day moves to an immutable hash map (`immutables.Map`, a
HAMT, key → units): adding an order or taking one back then costs O(log n) and shares the rest
of the map, where bytes rebuilt on each order would cost O(n) (O(n²) over a day). The orders go
with their day when it closes, so what is held is the orders of the open days (one entry per
order and day), never more.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from struct import Struct

from immutables import Map

from state.keys import key64, key_offset
from state.shared import shared_value
from state.values import quick_init

ClosedDay = tuple[date, float]
NO_UNITS = 0.0
Placed = bytes | Map[int, float]  # a day's orders: packed (key, units) pairs, or key → units
DayOrders = tuple[tuple[date, Placed], ...]  # open days in order, with their orders
ORDER = Struct("=Qd")  # one order of a packed day: its id's key and its units
PACKED_ORDERS = 32  # orders a day holds packed; one more moves the day to a Map


@quick_init
@dataclass(frozen=True, slots=True)
class DailyDemand:
    """Open days (after `start`) with their units, and the orders placed on them."""

    tz: tzinfo = UTC
    lateness: timedelta = timedelta(hours=6)
    start: date | None = None  # the first day not yet closed
    # The units of each open day, `start` first, up to the newest day holding demand (a day
    # between with none holds 0.0): a day's date is its place, not a copy per day (issue 9).
    days: tuple[float, ...] = ()
    orders: DayOrders = ()  # orders placed on open days, per day
    late_units: float = NO_UNITS

    def __setstate__(self, state: list[object]) -> None:
        """Unpickle (Bytewax's recovery snapshots), reading the orders of a snapshot taken when
        they were one (order id, day, units) tuple each, and the days of one taken when each
        was a (day, units) pair, so a resumed run keeps its open days."""
        values = dict(zip([f.name for f in fields(self)], state, strict=True))
        values["orders"] = _per_day(values["orders"])
        values["days"] = _dense(values["start"], values["days"])
        # Every SKU-site's demand has the config's lateness and mostly no late units: restored,
        # they are shared rather than a copy per SKU-site (issue 9).
        values["lateness"] = shared_value(values["lateness"])
        if values["late_units"] == 0.0:
            values["late_units"] = NO_UNITS
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def day_of(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def closes_at(self, day: date) -> datetime:
        """end(day) + lateness: midnight starting the next day, in `tz`, plus the lateness."""
        return _closes_at(day, self.tz, self.lateness)

    def observe(self, at: datetime, units: float, order_id: str | None = None) -> DailyDemand:
        day = self.day_of(at)
        start = self.start if self.start is not None else day
        if day < start:
            return self._with(start, self.days, self.orders, self.late_units + units)
        days = _added(self.days, (day - start).days, units)
        orders = self.orders if order_id is None else _ordered(self.orders, day, order_id, units)
        return self._with(start, days, orders, self.late_units)

    def cancel(self, order_id: str) -> DailyDemand:
        """Take back what `order_id` added, if its day is still open."""
        key = key64(order_id)
        days, start, found = self.days, self.start, False
        orders: list[tuple[date, Placed]] = []
        for day, placed in self.orders:
            units = _units_of(placed, key)
            if units is None:
                orders.append((day, placed))
                continue
            assert start is not None  # an order is held only for an open day
            found = True
            days = _added(days, (day - start).days, -units)
            rest = _without(placed, key)
            if rest:
                orders.append((day, rest))
        if not found:
            return self
        return self._with(start, days, tuple(orders), self.late_units)

    def advance(self, watermark: datetime) -> tuple[DailyDemand, tuple[ClosedDay, ...]]:
        # Asked for every site each time a SKU's event time moves on; it seldom closes a day.
        if self.start is None or watermark < _closes_at(self.start, self.tz, self.lateness):
            return self, ()
        last = self.day_of(watermark - self.lateness) - timedelta(days=1)  # last closable day
        if last < self.start:
            return self, ()
        held = self.days
        closing = (last - self.start).days + 1
        closed = tuple(
            (self.start + timedelta(days=n), max(0.0, held[n] if n < len(held) else 0))
            for n in range(closing)
        )
        start = last + timedelta(days=1)
        days = held[closing:]
        orders = tuple((day, placed) for day, placed in self.orders if day >= start)
        return self._with(start, days, orders, self.late_units), closed

    def open_units(self) -> float:
        return sum(self.days)

    def _with(
        self,
        start: date | None,
        days: tuple[float, ...],
        orders: DayOrders,
        late_units: float,
    ) -> DailyDemand:
        return DailyDemand(self.tz, self.lateness, start, days, orders, late_units)


@lru_cache(maxsize=4096)
def _closes_at(day: date, tz: tzinfo, lateness: timedelta) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tz) + lateness


def _added(days: tuple[float, ...], place: int, units: float) -> tuple[float, ...]:
    """`days` with `units` more on the day at `place` (days after `start`), 0.0 for the days
    before it that held none: the same float a day first observed got before (0.0 + units)."""
    # Most demand is for the newest open day (or opens the next one): no copy of the rest.
    if place == len(days) - 1:
        return (*days[:-1], days[-1] + units)
    if place >= len(days):
        return (*days, *(NO_UNITS,) * (place - len(days)), NO_UNITS + units)
    return (*days[:place], days[place] + units, *days[place + 1 :])


def _dense(start: object, days: object) -> tuple[float, ...]:
    """`days` as they are kept now, from a snapshot that held (day, units) pairs."""
    assert isinstance(days, tuple)
    if not days or not isinstance(days[0], tuple):
        return days
    assert isinstance(start, date)
    dense: tuple[float, ...] = ()
    for day, units in days:
        dense = _added(dense, (day - start).days, units)
    return dense


def _ordered(orders: DayOrders, day: date, order_id: str, units: float) -> DayOrders:
    """`orders` with `units` more for `order_id` on `day` (the few open days stay in order)."""
    key = key64(order_id)
    for n, (held_day, placed) in enumerate(orders):
        if held_day == day:
            return (*orders[:n], (day, _placed_with(placed, key, units)), *orders[n + 1 :])
    added: DayOrders = (*orders, (day, ORDER.pack(key, units)))
    return tuple(sorted(added, key=lambda held: held[0]))


def _place_of(packed: bytes, key: int) -> int:
    """The byte offset of `key`'s order in a packed day, or -1 (8 bytes of units can spell a
    key: `key_offset` looks only on an order's boundary)."""
    return key_offset(packed, key, ORDER.size)


def _units_of(placed: Placed, key: int) -> float | None:
    if isinstance(placed, Map):
        return placed.get(key)
    at = _place_of(placed, key)
    return None if at < 0 else ORDER.unpack_from(placed, at)[1]


def _placed_with(placed: Placed, key: int, units: float) -> Placed:
    """A day's orders with `units` more for `key`."""
    if isinstance(placed, Map):
        return placed.set(key, placed.get(key, 0.0) + units)
    at = _place_of(placed, key)
    if at >= 0:
        held = ORDER.unpack_from(placed, at)[1]
        return placed[:at] + ORDER.pack(key, held + units) + placed[at + ORDER.size :]
    if len(placed) < PACKED_ORDERS * ORDER.size:
        return placed + ORDER.pack(key, units)
    busy: Map[int, float] = Map(ORDER.iter_unpack(placed))
    return busy.set(key, units)


def _without(placed: Placed, key: int) -> Placed:
    """A day's orders without `key`'s (held): empty (falsy) when it was the last."""
    if isinstance(placed, Map):
        return placed.delete(key)
    at = _place_of(placed, key)
    return placed[:at] + placed[at + ORDER.size :]


def _per_day(orders: object) -> DayOrders:
    """`orders` as they are kept now, from any shape a snapshot held (see
    `DailyDemand.__setstate__`): (order id, day, units) per order; or per day, the ids in a
    `Map` (id → units)."""
    assert isinstance(orders, tuple)
    if all(len(held) == 2 and not _by_id(held[1]) for held in orders):
        return orders
    kept: DayOrders = ()
    for held in orders:
        if len(held) == 3:  # the oldest shape: (order id, day, units) per order
            order_id, day, units = held
            kept = _ordered(kept, day, order_id, units)
            continue
        day, placed = held
        if not _by_id(placed):
            kept = (*kept, (day, placed))
            continue
        for order_id, units in placed.items():
            kept = _ordered(kept, day, order_id, units)
    return kept


def _by_id(placed: object) -> bool:
    """Whether a day's orders are keyed by their ids (snapshots before the keys)."""
    return isinstance(placed, Map) and isinstance(next(iter(placed), None), str)
