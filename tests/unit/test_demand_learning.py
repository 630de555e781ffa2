"""Daily demand in event time, and lead times learnt from purchase order to receipt."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from state.demand.daily import DailyDemand
from state.demand.lead_time import LeadTimeBook

MONDAY = datetime(2011, 3, 7, 10, 0, tzinfo=UTC)


def at(days: float, hours: float = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours)


def test_a_day_closes_once_the_skus_event_time_passes_its_end_and_the_lateness() -> None:
    demand = DailyDemand(lateness=timedelta(hours=6)).observe(at(0), 5, "O1")

    still_open, closed = demand.advance(at(0, hours=19))  # 05:00 next day: within lateness
    assert closed == ()

    _, closed = still_open.advance(at(0, hours=20))  # 06:00 next day
    assert closed == ((MONDAY.date(), 5.0),)


def test_closing_emits_every_day_in_order_zero_days_included() -> None:
    demand = DailyDemand().observe(at(0), 5).observe(at(3), 2)

    _, closed = demand.advance(at(5))

    assert closed == tuple(
        (MONDAY.date() + timedelta(days=n), units) for n, units in enumerate([5, 0, 0, 2, 0])
    )


def test_a_late_event_within_the_window_amends_its_open_day() -> None:
    demand = DailyDemand(lateness=timedelta(hours=6)).observe(at(0), 5)
    demand, _ = demand.advance(at(0, hours=18))  # 04:00 the next day; Monday still open

    demand = demand.observe(at(0, hours=-1), 3)  # 09:00 Monday, arriving late
    _, closed = demand.advance(at(1, hours=14))

    assert closed[0] == (MONDAY.date(), 8.0)


def test_an_event_for_a_closed_day_is_counted_as_too_late_never_applied() -> None:
    demand = DailyDemand().observe(at(0), 5)
    demand, closed = demand.advance(at(2))
    assert closed == ((MONDAY.date(), 5.0), (MONDAY.date() + timedelta(days=1), 0.0))

    demand = demand.observe(at(0), 4)

    assert demand.late_units == 4
    assert demand.open_units() == 0


def test_a_cancellation_takes_its_order_back_while_the_day_is_open() -> None:
    demand = DailyDemand().observe(at(0), 5, "O1").observe(at(0, 1), 7, "O2")

    demand = demand.cancel("O1")
    _, closed = demand.advance(at(1, 14))

    assert closed == ((MONDAY.date(), 7.0),)


def test_days_follow_the_sites_time_zone() -> None:
    from zoneinfo import ZoneInfo

    tokyo = DailyDemand(tz=ZoneInfo("Asia/Tokyo"))
    late_evening_utc = datetime(2011, 3, 7, 20, 0, tzinfo=UTC)  # 05:00 on the 8th in Tokyo

    assert tokyo.day_of(late_evening_utc) == date(2011, 3, 8)


def test_lead_time_is_learnt_from_purchase_order_to_receipt() -> None:
    book = LeadTimeBook().placed("PO-1", "ACME", "LON", at(0), expected=at(7).date())
    book = book.shipped("ASN-1", "PO-1", at(5))

    book, observed = book.received(None, "ASN-1", at(8))  # the receipt names only the ASN

    assert observed is not None
    assert (observed.purchase_order_id, observed.days, observed.on_time) == ("PO-1", 8.0, False)
    stats = book.suppliers["ACME"]
    assert stats.lead_time.mean == pytest.approx(8.0)
    assert stats.transit.mean == pytest.approx(3.0)
    assert stats.on_time_rate == 0.0
    assert "PO-1" not in book.open


def test_lead_time_mean_variance_and_on_time_rate_over_several_orders() -> None:
    book = LeadTimeBook(memory=1e9)  # equal weights, to compare with hand arithmetic
    for n, days in enumerate([6.0, 8.0, 7.0, 9.0]):
        start = at(10 * n)
        book = book.placed(f"PO-{n}", "ACME", "LON", start, expected=(start + timedelta(7)).date())
        book, _ = book.received(f"PO-{n}", None, start + timedelta(days=days))

    stats = book.suppliers["ACME"]
    assert stats.lead_time.mean == pytest.approx(7.5)
    assert stats.lead_time.variance == pytest.approx(1.25)  # population variance of 6, 8, 7, 9
    assert stats.on_time_rate == pytest.approx(0.5)  # 6 and 7 days were on time


def test_the_estimate_shrinks_towards_the_prior_until_receipts_accumulate() -> None:
    book = LeadTimeBook().placed("PO-1", "ACME", "LON", at(0), expected=at(7).date())
    assert book.estimate("ACME", 5.0, 1.0).mean == 5.0

    book, _ = book.received("PO-1", None, at(8))

    assert book.estimate("ACME", 5.0, 1.0, prior_weight=2).mean == pytest.approx((2 * 5 + 8) / 3)


def test_a_second_receipt_of_the_same_order_teaches_nothing() -> None:
    book = LeadTimeBook().placed("PO-1", "ACME", "LON", at(0), expected=at(7).date())
    book, _ = book.received("PO-1", None, at(6))

    book, observed = book.received("PO-1", None, at(9))

    assert observed is None
    assert book.suppliers["ACME"].receipts == 1


def test_open_orders_are_bounded() -> None:
    book = LeadTimeBook(max_open=3)
    for n in range(5):
        book = book.placed(f"PO-{n}", "ACME", "LON", at(n), expected=at(n + 7).date())

    assert sorted(book.open) == ["PO-2", "PO-3", "PO-4"]
