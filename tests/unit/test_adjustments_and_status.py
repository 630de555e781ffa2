"""Stock adjustments change on hand; status changes move units between buckets."""

from __future__ import annotations

import pytest
from stock_factories import LON_A, adjusted, days, received, run, status_changed

from state.buckets import Quantities
from state.catalog import Catalog
from state.rejections import RejectionCode

CLOCK = "RETRO-CLOCK"
MILK = "FRESH-MILK"


def code_of(outputs: tuple[object, ...]) -> RejectionCode:
    return outputs[-1].code  # type: ignore[attr-defined,no-any-return]


def test_found_stock_is_added_to_available(catalog: Catalog) -> None:
    stock, _ = run(catalog, [adjusted(CLOCK, 3, "found")])

    assert stock.quantities_at(LON_A) == Quantities(available=3)


@pytest.mark.parametrize("reason", ["lost", "stolen", "damaged", "expired", "scrapped"])
def test_a_write_off_removes_stock_from_available(catalog: Catalog, reason: str) -> None:
    stock, _ = run(catalog, [received(CLOCK, 5), adjusted(CLOCK, 2, reason)])

    assert stock.quantities_at(LON_A) == Quantities(available=3)


def test_losing_more_than_is_available_is_rejected(catalog: Catalog) -> None:
    stock, outputs = run(catalog, [received(CLOCK, 1), adjusted(CLOCK, 2, "lost")])

    assert code_of(outputs) == RejectionCode.INSUFFICIENT_STOCK
    assert stock.quantities_at(LON_A) == Quantities(available=1)


def test_damaged_stock_can_be_scrapped_from_the_damaged_bucket(catalog: Catalog) -> None:
    events = [
        received(CLOCK, 5),
        status_changed(CLOCK, 2, "damaged"),
        adjusted(CLOCK, 2, "scrapped", bucket="damaged"),
    ]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities(available=3)


def test_found_units_of_a_new_lot_need_an_expiry_for_expiry_tracked_skus(
    catalog: Catalog,
) -> None:
    _, outputs = run(catalog, [adjusted(MILK, 1, "found", lot="STRAY")])
    assert code_of(outputs) == RejectionCode.EXPIRY_REQUIRED

    stock, _ = run(catalog, [adjusted(MILK, 1, "found", lot="STRAY", expiry=days(4))])
    assert stock.expiry("STRAY") == days(4)


@pytest.mark.parametrize(
    ("status", "bucket"),
    [("hold", "on_hold"), ("quarantine", "quarantined"), ("damaged", "damaged")],
)
def test_a_status_change_moves_units_out_of_available(
    catalog: Catalog, status: str, bucket: str
) -> None:
    stock, _ = run(catalog, [received(CLOCK, 5), status_changed(CLOCK, 2, status)])

    assert stock.quantities_at(LON_A) == Quantities.of(available=3, **{bucket: 2})
    assert stock.quantities_at(LON_A).on_hand == 5


@pytest.mark.parametrize(
    ("status", "bucket"),
    [("hold", "on_hold"), ("quarantine", "quarantined"), ("damaged", "damaged")],
)
def test_release_returns_units_to_available(catalog: Catalog, status: str, bucket: str) -> None:
    events = [
        received(CLOCK, 5),
        status_changed(CLOCK, 2, status),
        status_changed(CLOCK, 2, "release", release_from=bucket),
    ]
    stock, _ = run(catalog, events)

    assert stock.quantities_at(LON_A) == Quantities(available=5)


def test_holding_more_than_is_available_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [received(CLOCK, 1), status_changed(CLOCK, 2, "hold")])

    assert code_of(outputs) == RejectionCode.INSUFFICIENT_STOCK


def test_releasing_more_than_is_held_is_rejected(catalog: Catalog) -> None:
    events = [received(CLOCK, 5), status_changed(CLOCK, 1, "hold")]
    _, outputs = run(catalog, [*events, status_changed(CLOCK, 2, "release")])

    assert code_of(outputs) == RejectionCode.INSUFFICIENT_STOCK
