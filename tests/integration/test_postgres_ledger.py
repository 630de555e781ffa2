"""The durable ledger in a real PostgreSQL: migrations, the idempotent writer, its sink, its reads.

Every value written comes from the real core: events folded through `state.apply.apply`, wrapped
with `state.ledger.entries_of` and `state.views.view_of`, and bad payloads through
`state.intake.decode`. Each test has its own schema (`unique`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from bytewax import operators as op
from bytewax.dataflow import Dataflow, Stream
from bytewax.testing import TestingSource, run_main

import connectors.postgres.ledger as ledger_module
from connectors.postgres import queries
from connectors.postgres.ledger import (
    STAGED,
    Batch,
    LedgerItem,
    PostgresLedger,
    PostgresLedgerSink,
)
from connectors.postgres.migrate import MIGRATIONS, migrate
from connectors.postgres.retry import Backoff
from connectors.postgres.rows import LEDGER_LINE_COLUMNS
from connectors.services.base import free_port
from state.apply import apply
from state.buckets import Quantities
from state.catalog import Catalog, Channel, Sku
from state.events import (
    Event,
    OrderLine,
    OrderPlaced,
    Picked,
    PurchaseOrderLine,
    PurchaseOrderPlaced,
    PutAway,
    ReceiptLine,
    ReceiptPosted,
    ShipTo,
    TransferShipped,
    skus_of,
)
from state.intake import DeadLetter, DeadLetterReason, RawEvent, decode
from state.ledger import LedgerEntry, entries_of
from state.stock import SkuStock
from state.views import PositionView, SkuView, view_of

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LON_A = "LON/A/01/01/1/A"
LON_B = "LON/A/01/01/1/B"
LON_DOCK = "LON/RECV/00/00/0/DOCK"
MAN_A = "MAN/A/01/01/1/A"
CATALOG = Catalog.build(
    skus=[Sku("RETRO-CLOCK"), Sku("TEAL-KETTLE"), Sku("FRESH-MILK", tracks_lot=True)],
    locations=[LON_A, LON_B, LON_DOCK, MAN_A],
    channels=[Channel("wholesale", priority=1, buffer=2), Channel("web", priority=2)],
    non_sellable_zones=["LON/RECV"],
)


@dataclass
class Fold:
    """The core applied to events, as the dataflow would: per SKU, keeping each SKU's state."""

    unique: str
    states: dict[str, SkuStock] = field(default_factory=dict)
    count: int = 0

    def meta(self, minutes: float) -> dict[str, Any]:
        self.count += 1
        return {
            "event_id": f"{self.unique}-ev-{self.count}",
            "occurred_at": T0 + timedelta(minutes=minutes),
            "source": "integration-test",
        }

    def __call__(self, event: Event) -> tuple[list[LedgerEntry], list[SkuView]]:
        entries: list[LedgerEntry] = []
        views: list[SkuView] = []
        for sku in skus_of(event, CATALOG):
            state, outputs = apply(self.states.get(sku), event, CATALOG, sku=sku)
            self.states[sku] = state
            entries.extend(entries_of(event, sku, outputs))
            views.append(view_of(state, CATALOG, event.occurred_at, event.event_id))
        return entries, views

    def items(self, *events: Event) -> list[LedgerItem]:
        """Every entry and view of `events`, in the order the dataflow emits them."""
        out: list[LedgerItem] = []
        for event in events:
            entries, views = self(event)
            out.extend([*entries, *views])
        return out

    def received(self, sku: str, quantity: int, *, at: str = LON_A, minutes: float = 0) -> Event:
        line = ReceiptLine(sku=sku, quantity=quantity)
        return ReceiptPosted(**self.meta(minutes), location=at, lines=(line,))

    def put_away(self, sku: str, quantity: int, src: str, dst: str, minutes: float = 0) -> Event:
        return PutAway(
            **self.meta(minutes), sku=sku, quantity=quantity, from_location=src, to_location=dst
        )

    def ordered(self, order_id: str, sku: str, quantity: int, minutes: float = 0) -> Event:
        return OrderPlaced(
            **self.meta(minutes),
            order_id=order_id,
            channel="web",
            ship_to=ShipTo(region="GB-LND", postal_code="EC1A 1BB"),
            lines=(OrderLine(sku=sku, quantity=quantity),),
        )

    def picked(self, order_id: str, sku: str, quantity: int, minutes: float = 0) -> Event:
        return Picked(
            **self.meta(minutes), order_id=order_id, sku=sku, quantity=quantity, location=LON_A
        )


@pytest.fixture
def fold(unique: str) -> Fold:
    return Fold(unique)


@pytest.fixture
def ledger(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection
) -> Iterator[PostgresLedger]:
    migrate(postgres_dsn, unique)
    writer = PostgresLedger(
        postgres_dsn,
        schema=unique,
        application_name=f"ledger-{unique}",
        backoff=Backoff(attempts=4, base=0.05),
    )
    with writer:
        yield writer


def a_day_of_trading(fold: Fold) -> list[LedgerItem]:
    """Receipts, put-away, an order, a pick, a transfer, a purchase order and a rejection."""
    return fold.items(
        fold.received("RETRO-CLOCK", 12, at=LON_DOCK),
        fold.put_away("RETRO-CLOCK", 12, LON_DOCK, LON_A, minutes=1),
        fold.received("TEAL-KETTLE", 4, minutes=2),
        fold.ordered("o-1", "RETRO-CLOCK", 5, minutes=3),
        fold.picked("o-1", "RETRO-CLOCK", 3, minutes=4),
        TransferShipped(
            **fold.meta(5),
            transfer_id="tr-1",
            sku="RETRO-CLOCK",
            quantity=2,
            from_location=LON_A,
            to_site="MAN",
        ),
        PurchaseOrderPlaced(
            **fold.meta(6),
            purchase_order_id="po-1",
            supplier="ACME",
            site="LON",
            expected_date=date(2025, 3, 9),
            lines=(PurchaseOrderLine(sku="TEAL-KETTLE", quantity=24),),
        ),
        fold.put_away("TEAL-KETTLE", 99, LON_A, LON_B, minutes=7),  # more than there is
    )


# Every migration in the folder, in order: each issue adds its own.
MIGRATION_IDS = sorted(p.stem for p in MIGRATIONS.glob("*.sql") if ".rollback" not in p.name)


def table(conn: psycopg.Connection, name: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT * FROM {name} ORDER BY 1, 2, 3").fetchall()


def everything(conn: psycopg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    names = ("ledger", "dead_letter", "current_stock", "sku_supply", "sku_atp")
    return {name: table(conn, name) for name in names}


def test_migrations_apply_once_and_then_find_nothing_to_do(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection
) -> None:
    applied = migrate(postgres_dsn, unique)
    assert applied[:4] == [
        "0001_ledger",
        "0002_dead_letter",
        "0003_current_stock",
        "0004_routing_decision",
    ]
    assert applied == MIGRATION_IDS
    assert migrate(postgres_dsn, unique) == []

    tables = pg_schema.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [unique]
    ).fetchall()
    expected = {"ledger", "ledger_default", "dead_letter", "current_stock", "sku_supply", "sku_atp"}
    assert expected <= {name for (name,) in tables}


def test_migrate_creates_the_schema_it_is_given(postgres_dsn: str, unique: str) -> None:
    schema = f"{unique}_fresh"
    try:
        assert len(migrate(postgres_dsn, schema)) == len(MIGRATION_IDS)
        with psycopg.connect(postgres_dsn) as conn:
            found = conn.execute("SELECT to_regclass(%s)", [f"{schema}.ledger"]).fetchone()
        assert found == (f"{schema}.ledger",)
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_nothing_connects_until_the_first_write(free_port_dsn: str) -> None:
    writer = PostgresLedger(free_port_dsn, schema="nowhere")
    writer.write([])  # an empty batch has nothing to write, so it needs no server
    writer.close()


def test_writing_to_a_schema_never_migrated_says_to_migrate_first(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    with (
        PostgresLedger(postgres_dsn, unique) as writer,
        pytest.raises(psycopg.errors.UndefinedTable) as refused,
    ):
        writer.write(fold.items(fold.received("RETRO-CLOCK", 12)))

    assert any("migrate" in note for note in refused.value.__notes__)


@pytest.fixture
def free_port_dsn() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/skuflow"


def test_writing_the_same_batch_twice_leaves_one_copy_of_every_row(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold, unique: str
) -> None:
    bad = decode(RawEvent(b"{not json", origin=f"{unique}.events/0/17", received_at=T0))
    assert isinstance(bad, DeadLetter)
    batch: list[LedgerItem] = [*a_day_of_trading(fold), bad]

    ledger.write(batch)
    once = everything(pg_schema)
    ledger.write(batch)

    assert everything(pg_schema) == once
    entries = [item for item in batch if isinstance(item, LedgerEntry)]
    assert len(once["ledger"]) == len(entries)
    counts = queries.counts(pg_schema)
    assert counts["rows"] == len(entries)
    assert counts["events"] == len({entry.event_id for entry in entries})
    assert counts["rows_by_kind"]["Rejected"] == 1
    assert counts["dead_letters_by_code"] == {"not_json": 1}


def test_a_batch_partly_stored_keeps_the_stored_rows_and_adds_the_rest(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    stored = fold.items(fold.received("RETRO-CLOCK", 12))
    ledger.write(stored)
    before = pg_schema.execute("SELECT event_id, seq, xmin::text FROM ledger").fetchall()
    new = fold.items(fold.received("RETRO-CLOCK", 3))

    ledger.write([*stored, *new])  # what a resumed run writes: its last batch again, and more

    rows = pg_schema.execute("SELECT event_id, seq, xmin::text FROM ledger").fetchall()
    assert set(before) < set(rows)  # the stored rows untouched (same transaction ids)
    entries = [item for item in [*stored, *new] if isinstance(item, LedgerEntry)]
    assert len(rows) == len(entries)


def test_a_redelivered_event_is_not_recorded_twice(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    receipt = fold.received("RETRO-CLOCK", 12)
    ledger.write(fold.items(receipt))
    ledger.write(fold.items(receipt))  # the core answers a redelivery with Duplicate, seq 0

    kinds = pg_schema.execute("SELECT kind FROM ledger ORDER BY seq").fetchall()
    assert kinds == [("Movement",), ("StockChanged",)]


def test_an_event_folded_then_redelivered_in_one_batch_keeps_its_first_rows(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    """After a crash the sequencer re-sends events the fold had not reached: one write then
    holds an event's first fold and its `Duplicate` under the same key. ON CONFLICT DO NOTHING
    keeps whichever row PostgreSQL's scan of the staging table meets first, and that is not
    the COPY's order (the SIGKILL test: 1 staged row in 2 out of order, a pick's Movement lost to
    its Duplicate: COPY had put the narrow Duplicate row in a gap an earlier page had left).
    So a key's later rows never reach the staging table."""
    receipts = [fold.received("RETRO-CLOCK", n + 1) for n in range(1500)]
    first = fold.items(*receipts)
    redelivered = fold.items(*receipts)  # one Duplicate each, under its first fold's seq 0
    lines = Batch.of([*first, *redelivered]).ledger
    staged = [dict(zip(LEDGER_LINE_COLUMNS, line.split("\t"), strict=True)) for line in lines]
    assert [row["kind"] for row in staged if row["event_id"] == receipts[0].event_id] == [
        "Movement",
        "StockChanged",
    ]
    ledger.write([*first, *redelivered])

    kinds = pg_schema.execute("SELECT kind, count(*) FROM ledger GROUP BY 1 ORDER BY 1").fetchall()
    assert kinds == [("Movement", 1500), ("StockChanged", 1500)]


def test_an_entry_lands_in_its_months_partition_created_on_demand(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    march = fold.received("RETRO-CLOCK", 12)
    april = fold.received("RETRO-CLOCK", 3, minutes=60 * 24 * 31)
    ledger.write(fold.items(march, april))

    homes = pg_schema.execute(
        "SELECT DISTINCT event_id, tableoid::regclass::text FROM ledger ORDER BY 1"
    ).fetchall()
    assert homes == [
        (march.event_id, "ledger_y2025m03"),
        (april.event_id, "ledger_y2025m04"),
    ]


def test_rows_of_a_month_without_partition_move_into_it_when_it_is_created(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    pg_schema.execute(
        "INSERT INTO ledger (event_id, sku, seq, kind, event_type, occurred_at, source, detail)"
        " VALUES ('early', 'RETRO-CLOCK', 0, 'Duplicate', 'PutAway', %s, 'backfill', '{}')",
        [T0 + timedelta(days=3)],
    )
    assert pg_schema.execute("SELECT tableoid::regclass::text FROM ledger").fetchall() == [
        ("ledger_default",)
    ]

    ledger.write(fold.items(fold.received("RETRO-CLOCK", 12)))

    homes = pg_schema.execute("SELECT DISTINCT tableoid::regclass::text FROM ledger").fetchall()
    assert homes == [("ledger_y2025m03",)]
    assert pg_schema.execute("SELECT count(*) FROM ledger_default").fetchone() == (0,)


def insert_stock(conn: psycopg.Connection, *buckets: int, on_hand: int) -> None:
    conn.execute(
        "INSERT INTO current_stock VALUES ('RETRO-CLOCK', %s, '', %s, %s, %s, %s, %s, %s, %s, 'e')",
        [LON_A, *buckets, on_hand, T0],
    )


def test_current_stock_refuses_a_negative_bucket(
    ledger: PostgresLedger, pg_schema: psycopg.Connection
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="allocated"):
        insert_stock(pg_schema, 5, -1, 0, 0, 0, on_hand=4)


def test_current_stock_refuses_an_on_hand_that_is_not_the_sum_of_its_buckets(
    ledger: PostgresLedger, pg_schema: psycopg.Connection
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="on_hand_is_the_sum"):
        insert_stock(pg_schema, 5, 1, 0, 0, 0, on_hand=7)


def test_a_batch_holding_an_impossible_view_is_refused_whole(
    ledger: PostgresLedger,
    pg_schema: psycopg.Connection,
    fold: Fold,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entries, [view] = fold(fold.received("RETRO-CLOCK", 12))
    broken = replace(view, positions=(PositionView(LON_A, "", Quantities(available=-1)),))

    with pytest.raises(psycopg.errors.CheckViolation):
        ledger.write([*entries, broken])

    assert pg_schema.execute("SELECT count(*) FROM ledger").fetchone() == (0,)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # not retried


def test_replacing_a_skus_view_removes_positions_that_went_to_zero(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    ledger.write(fold.items(fold.received("RETRO-CLOCK", 12, at=LON_DOCK)))
    assert set(queries.current_stock(pg_schema, "RETRO-CLOCK")) == {(LON_DOCK, "")}

    ledger.write(fold.items(fold.put_away("RETRO-CLOCK", 12, LON_DOCK, LON_A, minutes=1)))

    assert queries.current_stock(pg_schema, "RETRO-CLOCK") == {
        (LON_A, ""): Quantities(available=12)
    }
    atp = pg_schema.execute(
        "SELECT scope, name, atp FROM sku_atp WHERE sku = 'RETRO-CLOCK' ORDER BY 1, 2"
    ).fetchall()
    assert atp == [
        ("channel", "web", 10),  # wholesale's buffer of 2 is held back from web
        ("channel", "wholesale", 12),
        ("network", "", 12),
        ("site", "LON", 12),
        ("site", "MAN", 0),
    ]


def test_each_write_empties_what_it_staged_so_the_next_stages_only_its_own(
    ledger: PostgresLedger,
    pg_schema: psycopg.Connection,
    fold: Fold,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ledger_module, "TRUNCATE_STAGING_AFTER_ROWS", 6)  # and truncates between
    received = fold.items(fold.received("RETRO-CLOCK", 12, at=LON_DOCK))
    ledger.write(received)
    ledger.write(received)  # rows already stored: this write stages them in `ledger_in`
    for minutes in (1, 2, 3):
        ledger.write(fold.items(fold.put_away("RETRO-CLOCK", 4, LON_DOCK, LON_A, minutes=minutes)))

    session = ledger._conn  # the writer's own session: its staging tables are temporary
    assert session is not None
    staged = [session.execute(f"SELECT count(*) FROM {name}_in").fetchone() for name in STAGED]
    assert staged == [(0,)] * len(STAGED)
    assert queries.current_stock(pg_schema, "RETRO-CLOCK") == {
        (LON_A, ""): Quantities(available=12)
    }
    # the receipt's Movement and StockChanged, each put-away's two Movements and StockChanged
    assert len(table(pg_schema, "ledger")) == 2 + 3 * 3


@pytest.mark.parametrize(("after_rows", "emptied"), [(1, True), (10**9, False)])
def test_the_staging_tables_give_back_their_space_once_enough_rows_were_staged(
    ledger: PostgresLedger,
    fold: Fold,
    monkeypatch: pytest.MonkeyPatch,
    after_rows: int,
    emptied: bool,
) -> None:
    # A deleted row stays dead in a temporary table (no vacuum comes) and every later statement
    # on it scans it again: the tables are truncated once this many rows were staged since.
    monkeypatch.setattr(ledger_module, "TRUNCATE_STAGING_AFTER_ROWS", after_rows)
    ledger.write(fold.items(fold.received("RETRO-CLOCK", 12, at=LON_DOCK)))
    ledger.write(fold.items(fold.put_away("RETRO-CLOCK", 5, LON_DOCK, LON_A, minutes=1)))

    session = ledger._conn  # the writer's own session: its staging tables are temporary
    assert session is not None
    sizes = [
        session.execute(f"SELECT pg_relation_size('{name}_in')").fetchone()
        for name in ("current_stock", "sku_supply", "sku_atp")
    ]
    assert (sizes == [(0,)] * 3) is emptied


def test_a_position_that_stays_takes_its_new_figures_and_one_that_empties_is_deleted(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    ledger.write(fold.items(fold.received("RETRO-CLOCK", 12, at=LON_DOCK)))
    ledger.write(fold.items(fold.put_away("RETRO-CLOCK", 5, LON_DOCK, LON_A, minutes=1)))
    assert queries.current_stock(pg_schema, "RETRO-CLOCK") == {
        (LON_DOCK, ""): Quantities(available=7),
        (LON_A, ""): Quantities(available=5),
    }
    ledger.write(fold.items(fold.put_away("RETRO-CLOCK", 7, LON_DOCK, LON_A, minutes=2)))

    assert queries.current_stock(pg_schema, "RETRO-CLOCK") == {
        (LON_A, ""): Quantities(available=12)
    }


def test_an_older_view_never_replaces_a_newer_one(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    # A run resumed after a crash writes again what its snapshot carried: the crashed run may
    # already have written newer views of those SKUs (and their ledger rows) before it died.
    received = fold.items(fold.received("RETRO-CLOCK", 12, at=LON_DOCK))
    put_away = fold.items(fold.put_away("RETRO-CLOCK", 12, LON_DOCK, LON_A, minutes=1))
    ledger.write(received + put_away)

    ledger.write(received)  # the older view, and ledger rows already there

    assert queries.current_stock(pg_schema, "RETRO-CLOCK") == {
        (LON_A, ""): Quantities(available=12)
    }
    assert pg_schema.execute("SELECT version FROM sku_supply").fetchall() == [(2,)]
    assert pg_schema.execute(
        "SELECT count(*) FROM sku_atp WHERE sku = 'RETRO-CLOCK' AND scope = 'network'"
    ).fetchone() == (1,)


def test_only_the_last_view_of_a_sku_in_a_batch_is_kept(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    ledger.write(a_day_of_trading(fold))

    clock = fold.states["RETRO-CLOCK"]
    assert queries.current_stock(pg_schema, "RETRO-CLOCK") == {
        key: position.quantities for key, position in clock.positions.items() if position.quantities
    }
    supply = pg_schema.execute(
        "SELECT sku, in_transit, on_order FROM sku_supply ORDER BY sku"
    ).fetchall()
    assert supply == [("RETRO-CLOCK", 2, 0), ("TEAL-KETTLE", 0, 24)]


def test_dead_letters_keep_their_reason_and_payload(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, unique: str
) -> None:
    origin = f"{unique}.events/3/1042"
    payload = b'{"type": "PutAway", "event_id": "x"}'
    letter = decode(RawEvent(payload, origin=origin, received_at=T0))
    assert isinstance(letter, DeadLetter)
    other_verdict = replace(letter, code=DeadLetterReason.UNRESOLVED_SKU, reason="no such SKU")

    ledger.write([letter])
    ledger.write([replace(letter, received_at=T0 + timedelta(hours=1)), other_verdict])

    rows = pg_schema.execute(
        "SELECT origin, received_at, code, reason, payload, payload_size FROM dead_letter"
        " ORDER BY id"
    ).fetchall()
    assert rows == [
        (origin, T0, "invalid_event", letter.reason, payload, len(payload)),
        (origin, T0, "unresolved_sku", "no such SKU", payload, len(payload)),
    ]


def test_ledger_pages_cover_every_row_once_in_time_order(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    items = a_day_of_trading(fold)
    ledger.write(items)
    entries = [item for item in items if isinstance(item, LedgerEntry)]

    seen: list[queries.LedgerRow] = []
    after = None
    while True:
        page = queries.ledger_page(pg_schema, after=after, limit=4)
        seen.extend(page.rows)
        if page.next is None:
            break
        after = page.next

    assert len(seen) == len(entries)
    assert [row.cursor for row in seen] == sorted(row.cursor for row in seen)
    assert {(r.event_id, r.sku, r.seq) for r in seen} == {
        (e.event_id, e.sku, e.seq) for e in entries
    }


def test_ledger_pages_filter_by_sku_location_kind_and_time(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    ledger.write(a_day_of_trading(fold))

    kettle = queries.ledger_page(pg_schema, sku="TEAL-KETTLE", kind="Movement").rows
    assert [(r.event_type, r.location, r.reference) for r in kettle] == [
        ("ReceiptPosted", LON_A, None),
        ("PurchaseOrderPlaced", "LON", "po-1"),
    ]
    assert kettle[1].deltas == Quantities(on_order=24)
    assert kettle[1].detail["resulting"]["on_order"] == 24

    [refused] = queries.ledger_page(pg_schema, kind="Rejected").rows
    assert (refused.reason_code, refused.deltas) == ("insufficient_stock", None)

    early = queries.ledger_page(pg_schema, location=LON_A, until=T0 + timedelta(minutes=3))
    assert {r.event_type for r in early.rows} == {"PutAway", "ReceiptPosted"}
    late = queries.ledger_page(pg_schema, since=T0 + timedelta(minutes=6))
    assert {r.kind for r in late.rows} == {"Movement", "StockChanged", "Rejected"}


def test_stock_as_of_rebuilds_a_past_position_from_movements(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    ledger.write(a_day_of_trading(fold))

    after_the_order = queries.stock_as_of(pg_schema, "RETRO-CLOCK", T0 + timedelta(minutes=3))
    assert after_the_order == {(LON_A, ""): Quantities(available=7, allocated=5)}
    before_anything = queries.stock_as_of(pg_schema, "RETRO-CLOCK", T0 - timedelta(seconds=1))
    assert before_anything == {}
    now = T0 + timedelta(days=1)
    assert queries.stock_as_of(pg_schema, "RETRO-CLOCK", now) == queries.current_stock(
        pg_schema, "RETRO-CLOCK"
    )


def test_movement_totals_agree_with_current_stock(
    ledger: PostgresLedger, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    ledger.write(a_day_of_trading(fold))

    totals = queries.movement_totals(pg_schema)
    for sku in ("RETRO-CLOCK", "TEAL-KETTLE"):
        stock = queries.current_stock(pg_schema, sku)
        assert {place: totals[(sku, *place)] for place in stock} == stock
    assert totals[("RETRO-CLOCK", "MAN", "")] == Quantities(in_transit=2)
    assert totals[("TEAL-KETTLE", "LON", "")] == Quantities(on_order=24)


def test_a_write_after_the_server_dropped_the_connection_still_succeeds(
    ledger: PostgresLedger,
    pg_schema: psycopg.Connection,
    fold: Fold,
    unique: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger.write(fold.items(fold.received("RETRO-CLOCK", 12)))
    killed = pg_schema.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        [f"ledger-{unique}"],
    ).fetchall()
    assert killed == [(True,)]

    with caplog.at_level(logging.INFO, logger="connectors.postgres.ledger"):
        ledger.write(fold.items(fold.put_away("RETRO-CLOCK", 12, LON_A, LON_B, minutes=1)))

    assert queries.current_stock(pg_schema, "RETRO-CLOCK") == {
        (LON_B, ""): Quantities(available=12)
    }
    assert queries.counts(pg_schema)["events"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "transient error" in warnings[0]
    assert "postgres@" not in caplog.text  # where the ledger is, never who connects


def test_an_unreachable_server_is_retried_then_reported(
    free_port_dsn: str, fold: Fold, caplog: pytest.LogCaptureFixture
) -> None:
    writer = PostgresLedger(free_port_dsn, backoff=Backoff(attempts=3, base=0.01))

    with pytest.raises(psycopg.OperationalError):
        writer.write(fold.items(fold.received("RETRO-CLOCK", 12)))

    levels = [r.levelname for r in caplog.records if r.name == "connectors.postgres.ledger"]
    assert levels == ["WARNING", "WARNING", "ERROR"]


def test_the_sink_writes_what_a_dataflow_emits(
    postgres_dsn: str, unique: str, pg_schema: psycopg.Connection, fold: Fold
) -> None:
    migrate(postgres_dsn, unique)
    items = a_day_of_trading(fold)
    flow = Dataflow("ledger_sink")
    emitted: Stream[LedgerItem] = op.input("outputs", flow, TestingSource(items, batch_size=5))
    op.output("ledger", emitted, PostgresLedgerSink(postgres_dsn, schema=unique))

    run_main(flow)

    counts = queries.counts(pg_schema)
    assert counts["rows"] == sum(isinstance(item, LedgerEntry) for item in items)
    assert set(queries.current_stock(pg_schema, "TEAL-KETTLE")) == {(LON_A, "")}
