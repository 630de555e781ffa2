"""The Online Retail replay: real rows in, valid skuflow events out, stock never fictional.

Edge cases run on tiny synthetic files written to tmp_path; the real file (SKUFLOW_DATA_DIR)
is read in slices, and a missing file fails these tests rather than skipping them.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

import pytest

from connectors.replay.online_retail import (
    COLUMNS,
    FILE_NAME,
    PICK_DELAY,
    RECEIPT_LEAD,
    UK_TIME,
    ReplayStats,
    build_catalog,
    data_file,
    replay,
    site_for,
)
from connectors.settings import Settings
from state.apply import apply
from state.catalog import Catalog
from state.events import (
    Event,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Picked,
    PutAway,
    ReceiptPosted,
    ShipTo,
    StockAdjusted,
    skus_of,
)
from state.outputs import Duplicate, LineAllocated, Output, Rejected, Released
from state.stock import SkuStock

ROOT = Path(__file__).resolve().parents[2]
HEART = "85123A"  # WHITE HANGING HEART T-LIGHT HOLDER
CAKESTAND = "22423"  # REGENCY CAKESTAND 3 TIER
SLICE_ROWS = 5_000
FOLD_ROWS = 20_000

WriteRetail = Callable[..., Path]
T = TypeVar("T")


def row(
    invoice: str,
    code: str,
    quantity: int | str,
    when: str,
    *,
    customer: str = "17850.0",  # served from MAN (see the site test)
    country: str = "United Kingdom",
    description: str = "WHITE HANGING HEART T-LIGHT HOLDER",
) -> list[str]:
    return [invoice, code, description, str(quantity), when, "2.55", customer, country]


@pytest.fixture
def write_retail(tmp_path: Path) -> WriteRetail:
    """Writes a small online_retail.csv.gz with the real file's columns."""

    def write(*rows: Sequence[str]) -> Path:
        path = tmp_path / FILE_NAME
        with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        return path

    return write


def run(path: Path, limit_rows: int | None = None) -> tuple[list[Event], ReplayStats]:
    stats = ReplayStats()
    return list(replay(path, limit_rows=limit_rows, stats=stats)), stats


def fold(events: Iterable[Event], catalog: Catalog) -> list[Output]:
    """Every event through the core, keyed by SKU the way the dataflow keys it."""
    states: dict[str, SkuStock] = {}
    outputs: list[Output] = []
    for event in events:
        for key in skus_of(event, catalog):
            states[key], emitted = apply(states.get(key), event, catalog, sku=key)
            outputs.extend(emitted)
    return outputs


def refused(outputs: Iterable[Output]) -> list[Output]:
    return [o for o in outputs if isinstance(o, Rejected | Duplicate)]


def of_type(events: Iterable[Event], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture(scope="module")
def retail_csv(settings: Settings) -> Path:
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else ROOT / settings.data_dir
    try:
        return data_file(data_dir)
    except FileNotFoundError as missing:
        reason = str(missing)
    pytest.fail(f"these tests replay the real data set: {reason}", pytrace=False)


@pytest.fixture(scope="module")
def retail_slice(retail_csv: Path) -> tuple[list[Event], ReplayStats]:
    return run(retail_csv, limit_rows=SLICE_ROWS)


# ---- rows and sites -------------------------------------------------------------------------


def test_non_products_and_unreadable_rows_are_filtered_with_their_reasons(
    write_retail: WriteRetail,
) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("536365", "POST", 1, "2010-12-01 08:26:00", description="POSTAGE"),
        row("536365", "DOT", 1, "2010-12-01 08:26:00", description="DOTCOM POSTAGE"),
        row("536365", "BANK CHARGES", 1, "2010-12-01 08:26:00"),
        row("536365", "gift_0001_10", 1, "2010-12-01 08:26:00"),
        row("536365", "m", 1, "2010-12-01 08:26:00"),
        row("536365", HEART, 0, "2010-12-01 08:26:00"),
        row("536365", HEART, "six", "2010-12-01 08:26:00"),
        row("536365", HEART, 6, "yesterday"),
        row("536365", HEART, 6, "2010-12-01 08:26:00", customer="anonymous"),
        row("C536366", HEART, 6, "2010-12-01 08:27:00"),
        ["536367", HEART, "SHORT ROW"],
    )

    events, stats = run(path)

    assert stats.filtered == {
        "non-product code POST": 1,
        "non-product code DOT": 1,
        "non-product code BANK CHARGES": 1,
        "non-product code gift_0001_10": 1,
        "non-product code m": 1,
        "zero quantity": 1,
        "unparsable quantity": 1,
        "unparsable date": 1,
        "unparsable customer": 1,
        "positive quantity on a credit note": 1,
        "malformed row": 1,
    }
    assert (stats.rows_read, stats.rows_used) == (12, 1)
    assert {key for e in events for key in skus_of(e, build_catalog(path))} == {HEART}


def test_the_real_files_non_products_never_reach_the_stream(
    retail_slice: tuple[list[Event], ReplayStats],
) -> None:
    events, stats = retail_slice
    assert stats.rows_read == stats.rows_used + sum(stats.filtered.values())
    assert stats.filtered["non-product code POST"] > 0
    assert all(
        r.startswith("non-product code ") or r == "adjustment beyond stock" for r in stats.filtered
    )
    assert not [e for e in of_type(events, OrderPlaced) for line in e.lines if line.sku == "POST"]


@pytest.mark.parametrize(
    ("country", "customer", "site"),
    [
        ("United Kingdom", "17850", "MAN"),
        ("United Kingdom", "13047", "LON"),
        ("United Kingdom", None, "LON"),
        ("EIRE", "14911", "MAN"),
        ("Channel Islands", "14936", "MAN"),
        ("Spain", "12557", "BCN"),
        ("RSA", "12446", "BCN"),
        ("Brazil", "17700", "BCN"),
        ("France", "12583", "RTM"),
        ("Iceland", "12347", "RTM"),
        ("USA", "12607", "LON"),
        ("European Community", "15108", "LON"),
        ("Unspecified", None, "LON"),
        ("Atlantis", "99999", "LON"),
    ],
)
def test_an_order_is_fulfilled_from_its_countrys_site(
    country: str, customer: str | None, site: str
) -> None:
    assert site_for(country, customer) == site


# ---- orders, receipts, picks ----------------------------------------------------------------


def test_an_invoice_becomes_one_order_with_its_duplicate_rows_summed(
    write_retail: WriteRetail,
) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("536365", CAKESTAND, 2, "2010-12-01 08:26:00", description="REGENCY CAKESTAND"),
        row("536365", HEART, 6, "2010-12-01 08:26:00"),  # an exact duplicate row
        row("536366", HEART, 1, "2010-12-01 08:28:00", customer=""),
    )

    events, stats = run(path)

    web, guest = of_type(events, OrderPlaced)
    assert (web.event_id, web.order_id, web.channel, web.priority) == (
        "or-order-536365",
        "536365",
        "web",
        1,
    )
    assert web.customer_tier == "standard"
    assert web.ship_to == ShipTo(region="United Kingdom", postal_code="unknown")
    assert web.lines == (
        OrderLine(sku=HEART, quantity=12, site="MAN"),
        OrderLine(sku=CAKESTAND, quantity=2, site="MAN"),
    )
    assert (guest.channel, guest.priority, guest.lines[0].site) == ("guest", 2, "LON")
    assert stats.rows_summed == 1
    assert refused(fold(events, build_catalog(path))) == []


def test_an_interrupted_invoice_is_still_one_order(write_retail: WriteRetail) -> None:
    # As 542806 in the real file, interrupted by C542805 in the same minute.
    path = write_retail(
        row("542806", HEART, 1, "2011-02-01 11:19:00", customer="12836.0"),
        row("C542805", CAKESTAND, -1, "2011-02-01 11:19:00", customer="14606.0"),
        row("542806", CAKESTAND, 2, "2011-02-01 11:20:00", customer="12836.0"),
    )

    events, _ = run(path)

    (order,) = of_type(events, OrderPlaced)
    assert [line.sku for line in order.lines] == [HEART, CAKESTAND]
    assert order.occurred_at.minute == 19  # an invoice's time is its first row's
    assert events.index(order) < events.index(of_type(events, StockAdjusted)[0])
    assert refused(fold(events, build_catalog(path))) == []


def test_receipts_precede_the_demand(write_retail: WriteRetail) -> None:
    # 65 units over 56 days: batch = ceil(14 × 65 / 56) = 17.
    path = write_retail(
        row("539001", HEART, 4, "2011-01-03 09:00:00"),
        row("539002", HEART, 1, "2011-01-04 09:00:00"),
        row("539003", HEART, 60, "2011-02-27 09:00:00"),
    )

    events, stats = run(path)

    assert [(e.type, e.event_id) for e in events[:3]] == [
        ("ReceiptPosted", "or-receipt-85123A-MAN-1"),
        ("PutAway", "or-putaway-85123A-MAN-1"),
        ("OrderPlaced", "or-order-539001"),
    ]
    receipts = of_type(events, ReceiptPosted)
    assert [r.lines[0].quantity for r in receipts] == [17, 48]  # the batch, then the shortfall
    assert [r.location for r in receipts] == ["MAN/RCV/00/00/0/DOCK"] * 2
    put_aways = of_type(events, PutAway)
    assert [(p.quantity, p.to_location) for p in put_aways] == [
        (17, "MAN/A/01/01/1/PICK"),
        (48, "MAN/A/01/01/1/PICK"),
    ]
    orders = {o.order_id: o for o in of_type(events, OrderPlaced)}
    assert receipts[1].occurred_at == orders["539003"].occurred_at - timedelta(seconds=2)
    # distinct times, so a merge of the topics by event time keeps the receipt first
    assert put_aways[1].occurred_at == receipts[1].occurred_at + timedelta(seconds=1)
    assert (stats.receipts, stats.units_received) == (2, 65)
    outputs = fold(events, build_catalog(path))
    assert refused(outputs) == []
    assert all(o.allocated == o.ordered for o in outputs if isinstance(o, LineAllocated))


def test_each_line_is_picked_and_shipped_after_the_pick_delay(write_retail: WriteRetail) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("536370", CAKESTAND, 3, "2010-12-01 12:00:00", customer="12583.0", country="France"),
    )

    events, _ = run(path)

    names = [e.event_id for e in events if e.type in {"Picked", "Shipped", "OrderPlaced"}]
    assert names == [
        "or-order-536365",
        "or-pick-536365-85123A",
        "or-ship-536365-85123A",
        "or-order-536370",
        "or-pick-536370-22423",  # flushed at the end
        "or-ship-536370-22423",
    ]
    pick = of_type(events, Picked)[0]
    assert pick.occurred_at == of_type(events, OrderPlaced)[0].occurred_at + PICK_DELAY
    assert of_type(events, Picked)[1].location == "RTM/A/01/01/1/PICK"


# ---- credit notes and adjustments -----------------------------------------------------------


@pytest.mark.parametrize("credited_at", ["2010-12-01 09:30:00", "2010-12-01 10:26:00"])
def test_a_credit_note_within_the_pick_delay_cancels_the_unpicked_line(
    write_retail: WriteRetail, credited_at: str
) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("536365", CAKESTAND, 2, "2010-12-01 08:26:00"),
        row("C536379", HEART, -6, credited_at),
    )

    events, stats = run(path)

    (cancelled,) = of_type(events, OrderCancelled)
    assert cancelled.event_id == "or-cancel-C536379-85123A"
    assert (cancelled.order_id, cancelled.skus) == ("536365", (HEART,))
    assert cancelled.reason == "credit note C536379"
    assert [p.sku for p in of_type(events, Picked)] == [CAKESTAND]  # the HEART pick is dropped
    assert (stats.cancellations, stats.returns) == (1, 0)
    outputs = fold(events, build_catalog(path))
    assert refused(outputs) == []
    assert [o.quantity for o in outputs if isinstance(o, Released)] == [6]


def test_a_credit_note_after_the_pick_is_a_return(write_retail: WriteRetail) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("C536379", HEART, -6, "2010-12-01 10:27:00"),
    )

    events, stats = run(path)

    assert [e.type for e in events][-3:] == ["Picked", "Shipped", "StockAdjusted"]
    (returned,) = of_type(events, StockAdjusted)
    assert returned.event_id == "or-return-C536379-85123A-1"
    assert (returned.reason, returned.bucket, returned.quantity) == ("returned", "available", 6)
    assert returned.location == "MAN/A/01/01/1/PICK"  # the matched order's site
    assert (stats.cancellations, stats.returns) == (0, 1)
    assert refused(fold(events, build_catalog(path))) == []


def test_a_partial_or_anonymous_credit_is_a_return(write_retail: WriteRetail) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("C536379", HEART, -2, "2010-12-01 09:00:00"),
        row("C536379", HEART, -2, "2010-12-01 09:00:00"),
        row("C536380", HEART, -1, "2010-12-01 09:05:00", customer=""),
    )

    events, stats = run(path)

    returns = of_type(events, StockAdjusted)
    assert [(r.event_id, r.location) for r in returns] == [
        ("or-return-C536379-85123A-1", "MAN/A/01/01/1/PICK"),
        ("or-return-C536379-85123A-2", "MAN/A/01/01/1/PICK"),
        ("or-return-C536380-85123A-1", "LON/A/01/01/1/PICK"),  # blank customers never match
    ]
    assert [p.quantity for p in of_type(events, Picked)] == [6]
    assert (stats.cancellations, stats.returns) == (0, 3)
    assert refused(fold(events, build_catalog(path))) == []


def test_other_negative_rows_are_adjustments_capped_at_the_projected_stock(
    write_retail: WriteRetail,
) -> None:
    def adjustment(code: str, quantity: int, description: str) -> list[str]:
        return row(
            "536401", code, quantity, "2010-12-01 09:00:00", customer="", description=description
        )

    # A guest order (LON) of 10 in a one-day file: the receipt brings 14 × 10 = 140.
    path = write_retail(
        row("536400", HEART, 10, "2010-12-01 08:00:00", customer=""),
        adjustment(HEART, -5, "damages"),
        adjustment(HEART, -3, "thrown away"),
        adjustment(HEART, -1, "mouldy, thrown away."),
        adjustment(HEART, -1, "expired"),
        adjustment(HEART, -2, ""),
        adjustment(HEART, -500, "?"),
        adjustment(HEART, -4, "wet"),
        adjustment(CAKESTAND, -3, "check"),
    )

    events, stats = run(path)

    adjusted = [(a.event_id, a.reason, a.quantity) for a in of_type(events, StockAdjusted)]
    assert adjusted == [
        ("or-adjust-536401-2", "damaged", 5),
        ("or-adjust-536401-3", "scrapped", 3),
        ("or-adjust-536401-4", "damaged", 1),  # first keyword group wins
        ("or-adjust-536401-5", "expired", 1),
        ("or-adjust-536401-6", "lost", 2),
        ("or-adjust-536401-7", "lost", 118),  # capped: 140 received − 10 ordered − 12
    ]
    assert {a.location for a in of_type(events, StockAdjusted)} == {"LON/A/01/01/1/PICK"}
    assert stats.adjustment_beyond_stock == (500 - 118) + 4 + 3
    assert stats.filtered == {"adjustment beyond stock": 2}
    assert stats.rows_read == stats.rows_used + sum(stats.filtered.values())
    assert refused(fold(events, build_catalog(path))) == []


def test_a_limited_replay_finishes_the_invoice_in_progress(write_retail: WriteRetail) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("536365", CAKESTAND, 2, "2010-12-01 08:26:00"),
        row("536365", "21730", 6, "2010-12-01 08:26:00"),
        row("536366", "22633", 6, "2010-12-01 08:28:00"),
    )

    events, stats = run(path, limit_rows=2)

    (order,) = of_type(events, OrderPlaced)
    assert len(order.lines) == 3
    assert stats.rows_read == 3


# ---- the real file --------------------------------------------------------------------------


def test_a_missing_data_file_says_where_it_looked_and_how_to_set_the_folder(
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError, match="SKUFLOW_DATA_DIR") as missing:
        data_file(tmp_path)
    assert str(tmp_path / FILE_NAME) in str(missing.value)


def test_the_catalog_holds_every_product_at_four_sites(retail_csv: Path) -> None:
    catalog = build_catalog(retail_csv)

    assert len(catalog.skus) == 4_070 - 33  # the published stock codes, less the non-products
    assert all(code[:5].isdigit() for code in catalog.skus)
    assert {s.units.base for s in catalog.skus.values()} == {"each"}
    assert not any(s.tracks_lot for s in catalog.skus.values())
    assert catalog.sites == {"LON", "MAN", "RTM", "BCN"}
    assert catalog.non_sellable_zones == {"LON/RCV", "MAN/RCV", "RTM/RCV", "BCN/RCV"}
    channels = {c.code: (c.priority, c.shortfall) for c in catalog.channels.values()}
    assert channels == {"web": (1, "backorder"), "guest": (2, "backorder")}


def test_event_ids_are_deterministic_across_two_runs(
    retail_csv: Path, retail_slice: tuple[list[Event], ReplayStats]
) -> None:
    first, _ = retail_slice
    second, _ = run(retail_csv, limit_rows=SLICE_ROWS)

    assert second == first
    assert len({e.event_id for e in first}) == len(first)


def test_times_are_aware_uk_times(
    write_retail: WriteRetail, retail_slice: tuple[list[Event], ReplayStats]
) -> None:
    path = write_retail(
        row("536365", HEART, 6, "2010-12-01 08:26:00"),
        row("560000", HEART, 6, "2011-07-14 08:26:00"),
    )
    winter, summer = of_type(run(path)[0], OrderPlaced)

    assert winter.occurred_at.utcoffset() == timedelta(0)  # GMT
    assert summer.occurred_at.utcoffset() == timedelta(hours=1)  # BST
    assert summer.occurred_at.hour == 8
    events, _ = retail_slice
    assert {e.occurred_at.tzinfo for e in events} == {UK_TIME}
    assert {e.source for e in events} == {"online-retail"}


def test_the_stream_runs_in_event_time_up_to_the_receipts_lead(
    retail_slice: tuple[list[Event], ReplayStats],
) -> None:
    events, _ = retail_slice
    times = [e.occurred_at for e in events]
    # A receipt is stamped two seconds before its order, so it may follow another order (or its
    # own put-away stamped a second later may follow) that minute.
    assert all(later >= earlier - RECEIPT_LEAD for earlier, later in pairwise(times))


def test_every_ordered_sku_had_stock_brought_to_its_site_first(
    retail_slice: tuple[list[Event], ReplayStats],
) -> None:
    events, _ = retail_slice
    stocked: set[tuple[str, str]] = set()  # by a receipt, or by a customer's return
    unstocked: list[tuple[str, str, str | None]] = []
    for event in events:
        if isinstance(event, ReceiptPosted):
            stocked.add((event.lines[0].sku, event.location.split("/")[0]))
        elif isinstance(event, StockAdjusted) and event.reason == "returned":
            stocked.add((event.sku, event.location.split("/")[0]))
        elif isinstance(event, OrderPlaced):
            unstocked += [
                (event.order_id, line.sku, line.site)
                for line in event.lines
                if (line.sku, line.site) not in stocked
            ]
    assert unstocked == []


@pytest.mark.slow
def test_the_core_accepts_the_first_20000_rows_and_allocates_every_line_in_full(
    retail_csv: Path,
) -> None:
    events, stats = run(retail_csv, limit_rows=FOLD_ROWS)

    outputs = fold(events, build_catalog(retail_csv))

    assert refused(outputs)[:5] == []
    lines = [o for o in outputs if isinstance(o, LineAllocated)]
    assert len(lines) == sum(len(o.lines) for o in of_type(events, OrderPlaced))
    assert [o for o in lines if o.allocated != o.ordered][:5] == []
    assert stats.cancellations > 0
    assert stats.returns > 0
