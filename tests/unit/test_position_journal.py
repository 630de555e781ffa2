"""A position's journal, packed 16 bytes an entry, reads back exactly what was journalled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from stock_factories import LON_A, T0, counted, received, run

from state.buckets import Quantities
from state.catalog import Catalog
from state.journal import ENTRY, appended, entries, moved_since, packed, since
from state.positions import JOURNAL_LIMIT, Stamp, move
from state.rejections import Rejection, RejectionCode
from state.stock import SkuStock

CLOCK = "RETRO-CLOCK"
PARIS = timezone(timedelta(hours=1))


def journal_of(*pairs: tuple[datetime, int]) -> bytes:
    journal = b""
    for at, delta in pairs:
        journal = appended(journal, at, delta)
    return journal


def test_a_journalled_time_reads_back_as_the_same_instant_to_the_microsecond() -> None:
    at = datetime(2026, 3, 1, 10, 0, 0, 123457, tzinfo=PARIS)

    ((read_at, delta),) = entries(journal_of((at, -41)))

    assert (read_at, delta) == (at, -41)
    assert read_at.tzinfo is UTC
    assert read_at.hour == 9


def test_each_entry_takes_sixteen_bytes() -> None:
    journal = journal_of((T0, 5), (T0 + timedelta(minutes=1), -3))

    assert len(journal) == 2 * ENTRY.size == 32


def test_a_late_movement_is_journalled_in_time_order_as_insort_would() -> None:
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)

    journal = journal_of((t2, 4), (t1, 7), (t2, -1), (T0, 2))

    assert entries(journal) == ((T0, 2), (t1, 7), (t2, -1), (t2, 4))
    assert journal == packed(((T0, 2), (t1, 7), (t2, -1), (t2, 4)))


def test_what_moved_since_a_time_counts_movements_at_that_time_too() -> None:
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    journal = journal_of((T0, 10), (t1, -3), (t2, -2))

    assert moved_since(journal, t1) == -5
    assert entries(since(journal, t1)) == ((t1, -3), (t2, -2))
    assert since(journal, t2 + timedelta(seconds=1)) == b""


def test_a_full_journal_forgets_its_oldest_entry(catalog: Catalog) -> None:
    receipts = [received(CLOCK, 1, minutes=10 + m) for m in range(JOURNAL_LIMIT + 1)]

    stock, _ = run(catalog, receipts)

    position = stock.position((LON_A, ""))
    assert len(position.entries) == JOURNAL_LIMIT
    assert position.entries[0][0] == T0 + timedelta(minutes=11)
    assert position.horizon == T0 + timedelta(minutes=10)


def test_a_count_after_a_late_movement_in_another_time_zone_sees_the_same_book(
    catalog: Catalog,
) -> None:
    """A receipt stamped +01:00 five minutes after the count is journalled by its instant."""
    late = received(CLOCK, 4, minutes=5)
    late = late.model_copy(update={"occurred_at": late.occurred_at.astimezone(PARIS)})

    stock, _ = run(catalog, [received(CLOCK, 10), late, counted(CLOCK, 13, minutes=3)])

    count = stock.position((LON_A, "")).last_count
    assert count is not None
    assert (count.book, count.variance) == (10, 3)
    assert stock.quantities_at(LON_A).available == 17


def test_a_change_larger_than_any_stock_is_refused_not_journalled() -> None:
    stamp = Stamp("ev-huge", T0, "receipt_posted", CLOCK)

    with pytest.raises(Rejection) as refused:
        move(SkuStock.empty(CLOCK), (LON_A, ""), Quantities(available=2**63), stamp)

    assert refused.value.code == RejectionCode.INVALID_EVENT
    assert "unit's factor" in refused.value.message
