"""The open day's orders, kept for cancellations: each order costs the same to add however many
came before it, and they go when their day closes."""

from __future__ import annotations

import pickle
import time
from datetime import UTC, datetime, timedelta

from immutables import Map

from state.demand.daily import ORDER, PACKED_ORDERS, DailyDemand, _units_of
from state.keys import key64

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_twenty_thousand_orders_in_a_day_cost_a_constant_amount_each() -> None:
    # A tuple of the day's orders rebuilt on each order took ~1.3 s of CPU here (O(n²) a day).
    started = time.process_time()
    demand = DailyDemand()
    for n in range(20_000):
        demand = demand.observe(MONDAY, 1, f"SO-{n}")
        if n % 10 == 0:
            demand = demand.cancel(f"SO-{n}")

    assert time.process_time() - started < 0.5
    assert demand.open_units() == 18_000


def test_a_cancellation_takes_back_every_line_of_its_order_and_no_other() -> None:
    demand = DailyDemand().observe(MONDAY, 2, "SO-1").observe(MONDAY, 3, "SO-2")
    demand = demand.observe(MONDAY, 4, "SO-1")

    demand = demand.cancel("SO-1")

    assert demand.open_units() == 3
    assert demand.cancel("SO-1") is demand  # nothing left of it to take back


def test_an_earlier_value_is_unchanged_by_the_orders_after_it() -> None:
    before = DailyDemand().observe(MONDAY, 2, "SO-1")

    after = before.observe(MONDAY, 5, "SO-2").cancel("SO-1")

    assert (before.open_units(), after.open_units()) == (2, 5)
    assert before.cancel("SO-1").open_units() == 0


def test_the_orders_of_a_closed_day_are_forgotten_and_its_demand_stands() -> None:
    demand = DailyDemand(lateness=timedelta(hours=6)).observe(MONDAY, 2, "SO-1")
    tuesday = demand.observe(MONDAY + timedelta(days=1), 1, "SO-2")

    closed, days = tuesday.advance(MONDAY + timedelta(days=1, hours=9))

    assert days == ((MONDAY.date(), 2.0),)
    assert [day for day, _ in closed.orders] == [(MONDAY + timedelta(days=1)).date()]
    assert closed.cancel("SO-1") is closed


def test_a_snapshot_of_the_old_shape_resumes_with_its_open_orders() -> None:
    # Recovery snapshots taken before the orders were kept per day: one (id, day, units) each.
    today = DailyDemand().observe(MONDAY, 5, "SO-1").observe(MONDAY, 3, "SO-2")
    old_orders = (("SO-1", MONDAY.date(), 5.0), ("SO-2", MONDAY.date(), 3.0))
    state = [UTC, timedelta(hours=6), MONDAY.date(), ((MONDAY.date(), 8.0),), old_orders, 0.0]

    resumed = object.__new__(DailyDemand)
    resumed.__setstate__(state)

    assert resumed == today
    assert pickle.loads(pickle.dumps(today)) == today
    assert resumed.cancel("SO-1").open_units() == 3


def test_an_order_is_held_by_its_ids_key_in_sixteen_bytes() -> None:
    demand = DailyDemand().observe(MONDAY, 2, "SO-000000000001").observe(MONDAY, 3, "SO-2")

    ((_, placed),) = demand.orders

    assert placed == ORDER.pack(key64("SO-000000000001"), 2.0) + ORDER.pack(key64("SO-2"), 3.0)
    assert b"SO-000000000001" not in pickle.dumps(demand)


def test_a_busy_day_moves_to_a_map_and_keeps_every_order() -> None:
    demand = DailyDemand()
    for n in range(PACKED_ORDERS + 5):
        demand = demand.observe(MONDAY, 1, f"SO-{n}")
    demand = demand.observe(MONDAY, 4, "SO-0")  # a second line of the first order

    ((_, placed),) = demand.orders
    demand = demand.cancel("SO-0").cancel(f"SO-{PACKED_ORDERS + 4}")

    assert isinstance(placed, Map)
    assert len(placed) == PACKED_ORDERS + 5
    assert demand.open_units() == PACKED_ORDERS + 3


def test_a_packed_order_is_found_only_on_an_orders_boundary() -> None:
    # The 8 bytes of the units 7.0 spell a key: a lookup of that key must not land on them.
    spelt = ORDER.unpack(ORDER.pack(0, 7.0)[8:] + bytes(8))[0]
    packed = ORDER.pack(key64("SO-1"), 7.0) + ORDER.pack(key64("SO-2"), 1.0)

    assert _units_of(packed, spelt) is None
    assert _units_of(packed, key64("SO-2")) == 1.0


def test_a_snapshot_of_the_days_keyed_by_order_id_resumes_as_keys() -> None:
    # Snapshots taken while a day's orders were a Map of order id → units.
    today = DailyDemand().observe(MONDAY, 5, "SO-1").observe(MONDAY, 3, "SO-2")
    by_id = ((MONDAY.date(), Map({"SO-1": 5.0, "SO-2": 3.0})),)
    state = [UTC, timedelta(hours=6), MONDAY.date(), (8.0,), by_id, 0.0]

    resumed = object.__new__(DailyDemand)
    resumed.__setstate__(state)

    ((day, placed),) = resumed.orders
    assert (day, resumed.days) == (MONDAY.date(), today.days)
    assert dict(ORDER.iter_unpack(placed)) == {key64("SO-1"): 5.0, key64("SO-2"): 3.0}
    assert resumed.cancel("SO-2").open_units() == 5
