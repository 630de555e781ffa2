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

The orders of each open day are kept (order id → units) only for those cancellations, in an
immutable hash map (`immutables.Map`, a HAMT): adding an order or taking one back costs
O(log n) and shares the rest of the map, where a tuple rebuilt on each order cost O(n) (O(n²)
over a day) and churned memory. They go with their day when it closes, so what is held is the
orders of the open days (one entry per order and day), never more.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from immutables import Map

ClosedDay = tuple[date, float]
DayOrders = tuple[tuple[date, Map[str, float]], ...]  # open days in order, order id → units


@dataclass(frozen=True, slots=True)
class DailyDemand:
    """Open days (after `start`) with their units, and the orders placed on them."""

    tz: tzinfo = UTC
    lateness: timedelta = timedelta(hours=6)
    start: date | None = None  # the first day not yet closed
    days: tuple[tuple[date, float], ...] = ()  # open days holding demand, in order
    orders: DayOrders = ()  # orders placed on open days, per day
    late_units: float = 0.0

    def __setstate__(self, state: list[object]) -> None:
        """Unpickle (Bytewax's recovery snapshots), reading the orders of a snapshot taken when
        they were one (order id, day, units) tuple each, so a resumed run keeps its open days."""
        values = dict(zip([f.name for f in fields(self)], state, strict=True))
        values["orders"] = _per_day(values["orders"])
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
        days = _added(self.days, day, units)
        orders = self.orders if order_id is None else _ordered(self.orders, day, order_id, units)
        return self._with(start, days, orders, self.late_units)

    def cancel(self, order_id: str) -> DailyDemand:
        """Take back what `order_id` added, if its day is still open."""
        if not any(order_id in placed for _, placed in self.orders):
            return self
        days = self.days
        orders: list[tuple[date, Map[str, float]]] = []
        for day, placed in self.orders:
            units = placed.get(order_id)
            if units is None:
                orders.append((day, placed))
                continue
            days = _added(days, day, -units)
            if len(placed) > 1:
                orders.append((day, placed.delete(order_id)))
        return self._with(self.start, days, tuple(orders), self.late_units)

    def advance(self, watermark: datetime) -> tuple[DailyDemand, tuple[ClosedDay, ...]]:
        # Asked for every site each time a SKU's event time moves on; it seldom closes a day.
        if self.start is None or watermark < _closes_at(self.start, self.tz, self.lateness):
            return self, ()
        last = self.day_of(watermark - self.lateness) - timedelta(days=1)  # last closable day
        if last < self.start:
            return self, ()
        held = dict(self.days)
        closed = tuple(
            (self.start + timedelta(days=n), max(0.0, held.get(self.start + timedelta(days=n), 0)))
            for n in range((last - self.start).days + 1)
        )
        start = last + timedelta(days=1)
        days = tuple((day, units) for day, units in self.days if day >= start)
        orders = tuple((day, placed) for day, placed in self.orders if day >= start)
        return self._with(start, days, orders, self.late_units), closed

    def open_units(self) -> float:
        return sum(units for _, units in self.days)

    def _with(
        self,
        start: date | None,
        days: tuple[tuple[date, float], ...],
        orders: DayOrders,
        late_units: float,
    ) -> DailyDemand:
        return DailyDemand(self.tz, self.lateness, start, days, orders, late_units)


@lru_cache(maxsize=4096)
def _closes_at(day: date, tz: tzinfo, lateness: timedelta) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tz) + lateness


def _added(
    days: tuple[tuple[date, float], ...], day: date, units: float
) -> tuple[tuple[date, float], ...]:
    # Most demand is for the newest open day (or opens the next one): no sort for that.
    if days and days[-1][0] == day:
        return (*days[:-1], (day, days[-1][1] + units))
    if not days or days[-1][0] < day:
        return (*days, (day, 0.0 + units))  # the same float as the general case's below
    held = dict(days)
    held[day] = held.get(day, 0.0) + units
    return tuple(sorted(held.items()))


def _ordered(orders: DayOrders, day: date, order_id: str, units: float) -> DayOrders:
    """`orders` with `units` more for `order_id` on `day` (the few open days stay in order)."""
    for n, (held_day, placed) in enumerate(orders):
        if held_day == day:
            more = placed.set(order_id, placed.get(order_id, 0.0) + units)
            return (*orders[:n], (day, more), *orders[n + 1 :])
    added: DayOrders = (*orders, (day, Map({order_id: units})))
    return tuple(sorted(added, key=lambda held: held[0]))


def _per_day(orders: object) -> DayOrders:
    """`orders` as they are kept now, from either shape (see `DailyDemand.__setstate__`)."""
    assert isinstance(orders, tuple)
    if all(len(held) == 2 for held in orders):
        return orders
    kept: DayOrders = ()
    for order_id, day, units in orders:  # the old shape: (order id, day, units) per order
        kept = _ordered(kept, day, order_id, units)
    return kept
