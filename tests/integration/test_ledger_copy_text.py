"""The ledger's hand-written COPY text against a real PostgreSQL: every character comes back.

The writer formats ledger and view rows as COPY text itself (`connectors.postgres.copy_text`)
instead of handing tuples to psycopg's `write_row`. These tests hold it to psycopg's standard:
hostile strings (tabs, newlines, backslashes, `\\N`, `\\.`, control characters, unicode) read
back unchanged, NUL is refused, and generated entries of every output kind land exactly as
psycopg's own `write_row` of the former tuples (with the standard library's JSON) puts them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from itertools import count
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from connectors.postgres.ledger import PostgresLedger
from connectors.postgres.migrate import migrate
from connectors.postgres.retry import Backoff
from connectors.postgres.rows import LEDGER_COLUMNS
from state.atp import AtpReport
from state.buckets import ALL_BUCKETS, Quantities
from state.ledger import LedgerEntry
from state.outputs import (
    CountRecorded,
    Duplicate,
    LineAllocated,
    Movement,
    OrderProgressed,
    Output,
    Rejected,
    Released,
    RepeatedRead,
    ReservationShorted,
    Sighted,
    StockChanged,
    VarianceRevised,
)
from state.rejections import RejectionCode
from state.stock import Reserved
from state.views import PositionView, SkuView

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
HOSTILE = [
    "tab\there",
    "new\nline",
    "carriage\rreturn\r\n",
    "back\\slash",
    "\\N",
    "\\.",
    "\\",
    "ends with a backslash\\",
    "\\t is not a tab",
    "quotes \"double\" and 'single'",
    "ünïcødé ✓ 日本語 𝔘 🧪",
    "line\u2028and paragraph\u2029separators",
    "\x01\x02\x1b[31m\x1f\x7f control",
    "",
    "   spaces   ",
    "a,b;c|d",
]
COLUMNS = sql.SQL(", ").join(map(sql.Identifier, LEDGER_COLUMNS))


@pytest.fixture
def ledger(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection
) -> Iterator[PostgresLedger]:
    migrate(postgres_dsn, unique)
    with PostgresLedger(postgres_dsn, schema=unique, backoff=Backoff(attempts=2)) as writer:
        yield writer


def entry(output: Output, *, event_id: str, seq: int = 0, at: datetime = T0) -> LedgerEntry:
    return LedgerEntry(
        event_id=event_id,
        sku=output.sku,
        seq=seq,
        event_type="HostileEvent",
        occurred_at=at,
        source="test/copy-text",
        output=output,
    )


def movement(text: str, event_id: str) -> Movement:
    return Movement(
        event_id=event_id,
        sku=f"RETRO-CLOCK {text}",
        kind="ReceiptPosted",
        location=f"LON/A/01/{text}",
        lot=text,
        deltas=Quantities(available=3),
        resulting=Quantities(available=3),
        order_id=f"order {text}",
        reference=text,
    )


def test_hostile_text_reads_back_unchanged_from_every_column(
    ledger: PostgresLedger, pg_schema: psycopg.Connection
) -> None:
    items: list[Any] = []
    for n, text in enumerate(HOSTILE):
        event_id = f"ev-{n} {text}"
        items.append(entry(movement(text, event_id), event_id=event_id))
        refusal = Rejected(event_id, "TEAL-KETTLE", RejectionCode.UNKNOWN_SKU, f"no {text}")
        items.append(entry(refusal, event_id=event_id, seq=1))
    ledger.write(items)

    stored = pg_schema.execute(
        "SELECT event_id, sku, location, lot, order_id, reference, message, detail"
        " FROM ledger ORDER BY event_id, seq"
    ).fetchall()
    expected = sorted(
        (
            item.event_id,
            item.sku,
            getattr(item.output, "location", None),
            getattr(item.output, "lot", None),
            getattr(item.output, "order_id", None),
            getattr(item.output, "reference", None),
            getattr(item.output, "message", None),
            reference_detail(item.output),
        )
        for item in items
    )
    # ORDER BY uses the database's collation: compare as sets of rows, in Python's order
    assert sorted(stored, key=lambda row: (row[0], row[7]["sku"])) == sorted(
        expected, key=lambda row: (row[0], row[7]["sku"])
    )
    assert len(stored) == 2 * len(HOSTILE)


def test_hostile_text_in_a_view_reads_back_unchanged(
    ledger: PostgresLedger, pg_schema: psycopg.Connection
) -> None:
    views = [
        SkuView(
            sku=f"SKU {text}",
            as_of=T0.date(),
            updated_at=T0,
            last_event_id=f"last {text}",
            positions=(PositionView(f"LON/{text}", text, Quantities(available=2, on_hold=1)),),
            in_transit=4,
            on_order=5,
            atp=AtpReport(f"SKU {text}", T0.date(), {f"LON{text}": 2}, 2, {f"web{text}": 1}),
        )
        for text in HOSTILE
    ]
    ledger.write(views)

    stock = pg_schema.execute(
        "SELECT sku, location, lot, available, on_hold, on_hand, last_event_id FROM current_stock"
    ).fetchall()
    assert sorted(stock) == sorted(
        (f"SKU {t}", f"LON/{t}", t, 2, 1, 3, f"last {t}") for t in HOSTILE
    )
    atp = pg_schema.execute("SELECT sku, scope, name, atp FROM sku_atp").fetchall()
    assert sorted(atp) == sorted(
        row
        for t in HOSTILE
        for row in [
            (f"SKU {t}", "network", "", 2),
            (f"SKU {t}", "site", f"LON{t}", 2),
            (f"SKU {t}", "channel", f"web{t}", 1),
        ]
    )
    supply = pg_schema.execute("SELECT sku, in_transit, on_order, last_event_id FROM sku_supply")
    assert sorted(supply.fetchall()) == sorted((f"SKU {t}", 4, 5, f"last {t}") for t in HOSTILE)


@pytest.mark.parametrize("where", ["event_id", "location", "message"])
def test_a_nul_in_ledger_text_is_refused_and_nothing_is_written(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, where: str
) -> None:
    good = entry(movement("fine", "ev-good"), event_id="ev-good")
    bad: LedgerEntry
    if where == "event_id":
        bad = entry(movement("x", "ev\x00bad"), event_id="ev\x00bad")
    elif where == "location":
        bad = entry(movement("nul\x00here", "ev-bad"), event_id="ev-bad")
    else:
        refusal = Rejected("ev-bad", "TEAL-KETTLE", RejectionCode.UNKNOWN_SKU, "nul\x00")
        bad = entry(refusal, event_id="ev-bad")

    with pytest.raises(psycopg.DataError, match="NUL"):
        ledger.write([good, bad])

    assert pg_schema.execute("SELECT count(*) FROM ledger").fetchone() == (0,)


# ---- every output kind, generated, against psycopg's own write_row ---------------------------

# Any text PostgreSQL can hold: no NUL, no lone surrogate (not encodable as UTF-8).
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
optional = st.none() | texts
units = st.integers(-(10**12), 10**12)
stock = st.integers(0, 10**12)
quantities = st.builds(Quantities, *[units] * len(ALL_BUCKETS))
snapshots = st.builds(Quantities, *[stock] * len(ALL_BUCKETS))
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.builds(
    lambda micros, zone: (T0 + timedelta(microseconds=micros)).astimezone(zone),
    st.integers(0, 20 * 24 * 3600 * 10**6)
    | st.integers(0, 20 * 24 * 60).map(lambda m: m * 60_000_000),
    offsets,
)
days = st.dates(date(2025, 3, 1), date(2025, 3, 31))
reserved = st.tuples(st.builds(Reserved, texts, texts, stock))
# (event_id, sku) are filled in per entry, so every key is unique
kinds = st.one_of(
    st.builds(
        Movement,
        st.just(""),
        st.just(""),
        texts,
        texts,
        texts,
        quantities,
        snapshots,
        optional,
        optional,
    ),
    st.builds(Rejected, st.just(""), st.just(""), st.sampled_from(RejectionCode), texts),
    st.builds(Duplicate, st.just(""), st.just("")),
    st.builds(
        LineAllocated, st.just(""), st.just(""), texts, texts, stock, stock, stock, stock, reserved
    ),
    st.builds(
        Released,
        st.just(""),
        st.just(""),
        texts,
        stock,
        stock,
        st.sampled_from(["cancelled", "expired"]),
    ),
    st.builds(ReservationShorted, st.just(""), st.just(""), texts, texts, texts, stock),
    st.builds(OrderProgressed, st.just(""), st.just(""), texts, stock, stock, stock),
    st.builds(CountRecorded, st.just(""), st.just(""), texts, texts, moments, stock, stock, units),
    st.builds(VarianceRevised, st.just(""), st.just(""), texts, texts, texts, units, units),
    st.builds(
        Sighted, st.just(""), st.just(""), texts, stock, texts, optional, st.none() | days, optional
    ),
    st.builds(RepeatedRead, st.just(""), st.just(""), texts, texts, moments),
    st.builds(StockChanged, st.just(""), st.just(""), days, snapshots, stock),
)
batches = st.lists(st.tuples(kinds, texts, texts, moments), min_size=1, max_size=12)
numbers = count()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=batches)
def test_every_output_kind_lands_as_psycopgs_write_row_would_store_it(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, batch: list[tuple[Any, ...]]
) -> None:
    pg_schema.execute(
        "CREATE TABLE IF NOT EXISTS ledger_reference (LIKE ledger INCLUDING DEFAULTS)"
    )
    items = []
    for drawn, event_text, source, at in batch:
        event_id = f"{next(numbers)} {event_text}"
        sku = f"SKU {event_text}"
        output = type(drawn)(event_id, sku, *astuple(drawn)[2:])
        items.append(LedgerEntry(event_id, sku, 0, "HostileEvent", at, source, output))
    ledger.write(items)
    copy = sql.SQL("COPY ledger_reference ({}) FROM STDIN").format(COLUMNS)
    with pg_schema.cursor() as cur, cur.copy(copy) as writer:
        for item in items:
            writer.write_row(reference_row(item))

    differ = sql.SQL(
        "SELECT count(*) FROM ((SELECT {c} FROM ledger EXCEPT ALL SELECT {c} FROM ledger_reference)"
        " UNION ALL (SELECT {c} FROM ledger_reference EXCEPT ALL SELECT {c} FROM ledger)) d"
    ).format(c=COLUMNS)
    assert pg_schema.execute(differ).fetchone() == (0,)


def astuple(output: Output) -> tuple[Any, ...]:
    """The output's fields, one level deep (nested values kept as they are)."""
    return tuple(getattr(output, f.name) for f in fields(output))


# ---- the former row builder: tuples for psycopg, detail by the standard library's json ----


def reference_row(item: LedgerEntry) -> tuple[Any, ...]:
    output = item.output
    if isinstance(output, Movement):
        buckets = [getattr(q, b) for q in (output.deltas, output.resulting) for b in ALL_BUCKETS]
    else:
        buckets = [None] * (2 * len(ALL_BUCKETS))
    reason = (
        output.code.value
        if isinstance(output, Rejected)
        else output.reason
        if isinstance(output, Released)
        else None
    )
    return (
        item.event_id,
        item.sku,
        item.seq,
        type(output).__name__,
        item.event_type,
        item.occurred_at,
        item.source,
        getattr(output, "location", None),
        getattr(output, "lot", None),
        getattr(output, "order_id", None),
        getattr(output, "reference", None),
        reason,
        output.message if isinstance(output, Rejected) else None,
        *buckets,
        json.dumps(output, separators=(",", ":"), ensure_ascii=False, default=_jsonable),
    )


def reference_detail(output: Output) -> Any:
    return json.loads(json.dumps(output, default=_jsonable))


def _jsonable(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    raise TypeError(type(value).__name__)
