"""A cycle count sets an absolute quantity and records the variance, whatever the arrival order."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings
from stock_factories import (
    LON_A,
    LON_B,
    adjusted,
    counted,
    of_type,
    ordered,
    picked,
    received,
    run,
    status_changed,
)

from state.apply import apply
from state.buckets import Quantities
from state.catalog import Catalog
from state.events import Event
from state.outputs import CountRecorded, Movement, Rejected, ReservationShorted, VarianceRevised
from state.positions import JOURNAL_LIMIT
from state.rejections import RejectionCode

CLOCK = "RETRO-CLOCK"


def test_a_count_sets_the_absolute_quantity_and_records_shrinkage(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [received(CLOCK, 10, minutes=0), counted(CLOCK, 7, minutes=60)])

    assert stock.quantities_at(LON_A) == Quantities(available=7)
    [record] = of_type(outputs, CountRecorded)
    assert (record.book, record.counted, record.variance) == (10, 7, -3)


def test_a_count_finding_more_than_the_book_records_a_positive_variance(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [received(CLOCK, 10, minutes=0), counted(CLOCK, 12, minutes=60)])

    assert stock.quantities_at(LON_A).available == 12
    assert of_type(outputs, CountRecorded)[0].variance == 2


def test_a_late_pick_older_than_the_count_revises_the_variance_not_the_stock(
    catalog: Catalog,
) -> None:
    events = [
        received(CLOCK, 10, minutes=0),
        ordered("ORD-1", (CLOCK, 3), minutes=10),
        counted(CLOCK, 7, minutes=60),  # the pick at minute 30 had happened: 7 on the shelf
        picked("ORD-1", CLOCK, 3, minutes=30),  # ... but is reported only now
    ]
    stock, outputs = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities(available=7)
    assert stock.position((LON_A, "")).last_count.variance == 0  # type: ignore[union-attr]
    [revised] = of_type(outputs, VarianceRevised)
    assert (revised.variance, revised.by) == (0, 3)


def test_a_late_receipt_older_than_the_count_is_not_counted_twice(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10, minutes=0),
        counted(CLOCK, 15, minutes=60),
        received(CLOCK, 5, minutes=30),
    ]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A).on_hand == 15
    assert stock.position((LON_A, "")).last_count.variance == 0  # type: ignore[union-attr]


def test_a_movement_after_the_count_changes_stock_as_usual(catalog: Catalog) -> None:
    events = [received(CLOCK, 10, minutes=0), counted(CLOCK, 8, minutes=60)]
    events.append(received(CLOCK, 5, minutes=90))
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A).on_hand == 13


def test_a_count_that_arrives_after_later_movements_uses_the_book_as_of_its_own_time(
    catalog: Catalog,
) -> None:
    events = [
        received(CLOCK, 10, minutes=0),
        adjusted(CLOCK, 2, "lost", minutes=90),
        counted(CLOCK, 9, minutes=60),  # at minute 60 the book said 10
    ]
    stock, outputs = run(catalog, events)

    assert of_type(outputs, CountRecorded)[0].variance == -1
    assert stock.quantities_at(LON_A).on_hand == 7  # 9 counted, 2 lost since


def test_a_movement_at_the_very_time_of_the_count_is_not_in_it(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 10, minutes=0),
        counted(CLOCK, 10, minutes=60),
        received(CLOCK, 4, minutes=60),
    ]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A).on_hand == 14


def test_a_count_older_than_the_last_count_is_rejected(catalog: Catalog) -> None:
    events = [counted(CLOCK, 5, minutes=60), counted(CLOCK, 9, minutes=30)]
    stock, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.SUPERSEDED_COUNT  # type: ignore[union-attr]
    assert stock.quantities_at(LON_A).on_hand == 5


def test_a_recount_at_the_same_time_replaces_the_count(catalog: Catalog) -> None:
    events = [counted(CLOCK, 5, minutes=60), counted(CLOCK, 6, minutes=60)]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A).on_hand == 6


def test_a_count_older_than_the_journal_is_rejected(catalog: Catalog) -> None:
    receipts = [received(CLOCK, 1, minutes=10 + m) for m in range(JOURNAL_LIMIT + 1)]
    stock, outputs = run(catalog, [*receipts, counted(CLOCK, 0, minutes=10)])

    assert outputs[-1].code == RejectionCode.COUNT_PREDATES_JOURNAL  # type: ignore[union-attr]
    stock, outputs = run(catalog, [counted(CLOCK, 0, minutes=12)], stock)
    assert of_type(outputs, CountRecorded)[0].book == 2


def test_a_count_that_changes_nothing_moves_no_stock(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(CLOCK, 4), counted(CLOCK, 4, minutes=5)])

    assert [type(o) for o in outputs[-1:]] == [CountRecorded]


def test_a_short_count_takes_damaged_and_held_units_before_reserved_ones(
    catalog: Catalog,
) -> None:
    events = [
        received(CLOCK, 10),
        status_changed(CLOCK, 2, "damaged", minutes=1),
        status_changed(CLOCK, 2, "hold", minutes=2),
        ordered("ORD-1", (CLOCK, 4), minutes=3),
        counted(CLOCK, 5, minutes=10),
    ]
    stock, outputs = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities(allocated=4, on_hold=1)
    assert not of_type(outputs, ReservationShorted)


def test_a_count_short_of_reserved_units_backorders_the_least_urgent_order(
    catalog: Catalog,
) -> None:
    events = [
        received(CLOCK, 6),
        ordered("ORD-URGENT", (CLOCK, 3), priority=0, minutes=1),
        ordered("ORD-LATER", (CLOCK, 3), priority=5, minutes=2),
        counted(CLOCK, 4, minutes=10),
    ]
    stock, outputs = run(catalog, events)

    [shorted] = of_type(outputs, ReservationShorted)
    assert (shorted.order_id, shorted.quantity) == ("ORD-LATER", 2)
    assert stock.reservations["ORD-LATER"].backordered == 2
    assert stock.reservations["ORD-LATER"].reserved == 1
    assert stock.quantities_at(LON_A) == Quantities(allocated=4)


def test_a_late_movement_that_the_count_cannot_absorb_is_rejected(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 5, minutes=0),
        counted(CLOCK, 5, minutes=10),
        status_changed(CLOCK, 5, "hold", minutes=20),
        adjusted(CLOCK, 2, "found", bucket="damaged", minutes=5),
    ]
    stock, outputs = run(catalog, events)

    assert outputs[-1].code == RejectionCode.CONFLICTS_WITH_COUNT  # type: ignore[union-attr]
    assert stock.quantities_at(LON_A) == Quantities(on_hold=5)


def test_a_count_contradicted_by_later_movements_never_makes_stock_negative(
    catalog: Catalog,
) -> None:
    events = [
        received(CLOCK, 5, minutes=0),
        adjusted(CLOCK, 5, "lost", minutes=20),
        counted(CLOCK, 0, minutes=10),
    ]
    stock, outputs = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities()
    assert of_type(outputs, CountRecorded)[0].variance == -5


def test_counts_are_kept_per_bin(catalog: Catalog) -> None:
    events = [received(CLOCK, 5), received(CLOCK, 5, at=LON_B), counted(CLOCK, 1, minutes=5)]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_B).on_hand == 5


# ---- arrival order does not matter -------------------------------------------------------------

movements = st.lists(
    st.tuples(st.integers(1, 100), st.sampled_from(["found", "lost"]), st.integers(1, 5)),
    max_size=10,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    moves=movements,
    count_at=st.integers(1, 100),
    count_of=st.integers(60, 120),
    arrival=st.randoms(use_true_random=False),
)
def test_a_count_reads_the_same_whatever_order_movements_arrive_in(
    moves: list[tuple[int, str, int]], count_at: int, count_of: int, arrival: object
) -> None:
    from stock_factories import make_catalog

    catalog = make_catalog()
    opening = received(CLOCK, 100, minutes=0)
    events: list[tuple[int, int, Event]] = [
        (minute, 1, adjusted(CLOCK, q, reason, minutes=minute)) for minute, reason, q in moves
    ]
    events.append((count_at, 0, counted(CLOCK, count_of, minutes=count_at)))
    in_time_order = [e for _, _, e in sorted(events, key=lambda t: (t[0], t[1]))]
    shuffled = [e for _, _, e in events]
    arrival.shuffle(shuffled)  # type: ignore[attr-defined]

    results = []
    for order in (in_time_order, shuffled):
        stock, outputs = apply(None, opening, catalog)
        for event in order:
            stock, emitted = apply(stock, event, catalog)
            outputs += emitted
        assert not of_type(outputs, Rejected)
        results.append((stock.quantities_at(LON_A), stock.position((LON_A, "")).last_count))

    (in_order, in_order_count), (out_of_order, out_of_order_count) = results
    after = sum(q if r == "found" else -q for m, r, q in moves if m >= count_at)
    before = sum(q if r == "found" else -q for m, r, q in moves if m < count_at)
    assert in_order.on_hand == out_of_order.on_hand == count_of + after
    assert in_order_count is not None
    assert out_of_order_count is not None
    assert in_order_count.variance == out_of_order_count.variance == count_of - (100 + before)


def test_every_count_movement_is_in_the_ledger(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(CLOCK, 10), counted(CLOCK, 3, minutes=5)])

    assert sum((m.deltas for m in of_type(outputs, Movement)), Quantities()).on_hand == 3
