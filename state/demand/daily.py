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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

ClosedDay = tuple[date, float]


@dataclass(frozen=True, slots=True)
class DailyDemand:
    """Open days (after `start`) with their units, and the orders placed on them."""

    tz: tzinfo = UTC
    lateness: timedelta = timedelta(hours=6)
    start: date | None = None  # the first day not yet closed
    days: tuple[tuple[date, float], ...] = ()  # open days holding demand, in order
    orders: tuple[tuple[str, date, float], ...] = ()  # orders placed on open days
    late_units: float = 0.0

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
        orders = self.orders if order_id is None else (*self.orders, (order_id, day, units))
        return self._with(start, days, orders, self.late_units)

    def cancel(self, order_id: str) -> DailyDemand:
        """Take back what `order_id` added, if its day is still open."""
        mine = [(day, units) for oid, day, units in self.orders if oid == order_id]
        if not mine:
            return self
        days = self.days
        for day, units in mine:
            days = _added(days, day, -units)
        orders = tuple(order for order in self.orders if order[0] != order_id)
        return self._with(self.start, days, orders, self.late_units)

    def advance(self, watermark: datetime) -> tuple[DailyDemand, tuple[ClosedDay, ...]]:
        if self.start is None or watermark < self.closes_at(self.start):
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
        orders = tuple(order for order in self.orders if order[1] >= start)
        return self._with(start, days, orders, self.late_units), closed

    def open_units(self) -> float:
        return sum(units for _, units in self.days)

    def _with(
        self,
        start: date | None,
        days: tuple[tuple[date, float], ...],
        orders: tuple[tuple[str, date, float], ...],
        late_units: float,
    ) -> DailyDemand:
        return DailyDemand(self.tz, self.lateness, start, days, orders, late_units)


@lru_cache(maxsize=4096)
def _closes_at(day: date, tz: tzinfo, lateness: timedelta) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tz) + lateness


def _added(
    days: tuple[tuple[date, float], ...], day: date, units: float
) -> tuple[tuple[date, float], ...]:
    held = dict(days)
    held[day] = held.get(day, 0.0) + units
    return tuple(sorted(held.items()))
