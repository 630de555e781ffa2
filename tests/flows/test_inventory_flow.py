"""The inventory flow on testing sources: one worker and a 2-worker cluster agree on everything."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from bytewax.testing import TestingSink, cluster_main, run_main

from connectors.inprocess import events_source
from dataflows.inventory import FoldLogic, InventorySinks, build_inventory_flow
from state.apply import apply
from state.catalog import Catalog, Channel, Sku
from state.events import (
    Event,
    OrderLine,
    OrderPlaced,
    Picked,
    ReceiptLine,
    ReceiptPosted,
    ShipTo,
    StockAdjusted,
)
from state.intake import MAX_EVENT_BYTES, DeadLetter, DeadLetterReason
from state.ledger import LedgerEntry
from state.outputs import LineAllocated, Movement, Rejected
from state.views import SkuView

T0 = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)
PICK = "LON/A/01/01/1/PICK"
MAN_PICK = "MAN/A/01/01/1/PICK"
SKUS = ("RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE", "GARDEN-HOSE")


def catalog() -> Catalog:
    return Catalog.build(
        skus=[Sku(code) for code in SKUS],
        locations=[PICK, MAN_PICK],
        channels=[Channel("web", priority=1)],
    )


def receipt(n: int, sku: str, quantity: int, location: str = PICK) -> ReceiptPosted:
    return ReceiptPosted(
        event_id=f"rcpt-{n}",
        occurred_at=T0 + timedelta(minutes=n),
        source="test",
        location=location,
        lines=(ReceiptLine(sku=sku, quantity=quantity),),
    )


def order(n: int, *lines: tuple[str, int]) -> OrderPlaced:
    return OrderPlaced(
        event_id=f"order-{n}",
        occurred_at=T0 + timedelta(minutes=n),
        source="test",
        order_id=f"O{n}",
        channel="web",
        ship_to=ShipTo(region="United Kingdom", postal_code="N1"),
        lines=tuple(OrderLine(sku=sku, quantity=q) for sku, q in lines),
    )


def pick(n: int, order_id: str, sku: str, quantity: int) -> Picked:
    return Picked(
        event_id=f"pick-{n}",
        occurred_at=T0 + timedelta(minutes=n),
        source="test",
        order_id=order_id,
        sku=sku,
        quantity=quantity,
        location=PICK,
    )


def story() -> list[Event | bytes]:
    """Receipts, a two-line order, a pick, an over-pick, an unknown SKU and bad bytes."""
    return [
        receipt(1, "RETRO-CLOCK", 10),
        receipt(2, "TEAL-KETTLE", 4),
        receipt(3, "PAPER-BIRDIE", 7, MAN_PICK),
        order(4, ("RETRO-CLOCK", 3), ("TEAL-KETTLE", 4)),
        pick(5, "O4", "RETRO-CLOCK", 3),
        pick(6, "O4", "TEAL-KETTLE", 5),  # more than allocated: rejected
        StockAdjusted(
            event_id="adj-7",
            occurred_at=T0 + timedelta(minutes=7),
            source="test",
            sku="NOT-IN-CATALOG",
            quantity=1,
            location=PICK,
            reason="lost",
        ),
        b"{not json",
        b'{"type": "Picked", "event_id": "x"}',
        b"x" * (MAX_EVENT_BYTES + 1),
    ]


def run(events: list[Event | bytes], workers: int = 1) -> dict[str, list]:
    ledger: list[LedgerEntry] = []
    views: list[SkuView] = []
    dead: list[DeadLetter] = []
    sinks = InventorySinks(
        ledger=[TestingSink(ledger)], views=[TestingSink(views)], dead_letters=[TestingSink(dead)]
    )
    flow = build_inventory_flow(events_source(events), sinks, catalog())
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return {"ledger": ledger, "views": views, "dead": dead}


def final_views(views: list[SkuView]) -> dict[str, SkuView]:
    latest: dict[str, SkuView] = {}
    for view in views:
        latest[view.sku] = view  # per SKU, views arrive in event order (one writer per key)
    return latest


def test_receipts_and_an_order_become_stock_and_allocations() -> None:
    out = run(story())
    views = final_views(out["views"])
    clock = views["RETRO-CLOCK"]
    assert clock.atp.network == 7
    assert [(p.location, p.quantities.available) for p in clock.positions] == [(PICK, 7)]
    assert views["TEAL-KETTLE"].atp.network == 0
    assert views["PAPER-BIRDIE"].atp.sites["MAN"] == 7
    allocations = [e.output for e in out["ledger"] if isinstance(e.output, LineAllocated)]
    assert sorted((a.sku, a.allocated) for a in allocations) == [
        ("RETRO-CLOCK", 3),
        ("TEAL-KETTLE", 4),
    ]


def test_an_over_pick_and_an_unknown_sku_are_rejected_into_the_ledger() -> None:
    out = run(story())
    rejected = {
        (e.event_id, e.output.code) for e in out["ledger"] if isinstance(e.output, Rejected)
    }
    assert rejected == {("pick-6", "pick_exceeds_allocation"), ("adj-7", "unknown_sku")}


def test_bad_bytes_become_dead_letters_with_their_reason_and_payload() -> None:
    out = run(story())
    codes = sorted(letter.code for letter in out["dead"])
    assert codes == sorted(
        [DeadLetterReason.NOT_JSON, DeadLetterReason.INVALID_EVENT, DeadLetterReason.OVERSIZED]
    )
    not_json = next(d for d in out["dead"] if d.code == DeadLetterReason.NOT_JSON)
    assert not_json.payload == b"{not json"
    oversized = next(d for d in out["dead"] if d.code == DeadLetterReason.OVERSIZED)
    assert oversized.payload_size == MAX_EVENT_BYTES + 1


def test_every_event_in_ends_in_the_ledger_or_the_dead_letters() -> None:
    events = story()
    out = run(events)
    in_ledger = {e.event_id for e in out["ledger"]}
    assert len(in_ledger) + len(out["dead"]) == len(events)


def test_the_ledger_movements_add_up_to_the_live_view() -> None:
    out = run(story())
    totals: Counter[tuple[str, str]] = Counter()
    for entry in out["ledger"]:
        if isinstance(entry.output, Movement) and entry.output.location in (PICK, MAN_PICK):
            totals[(entry.sku, entry.output.location)] += entry.output.deltas.available
    for view in final_views(out["views"]).values():
        for position in view.positions:
            assert totals[(view.sku, position.location)] == position.quantities.available


def test_an_event_delivered_twice_changes_nothing_the_second_time() -> None:
    once = run(story())
    twice = run([*story(), *[e for e in story() if not isinstance(e, bytes)]])
    assert final_views(twice["views"]) == final_views(once["views"])
    movements = lambda out: sorted(  # noqa: E731
        (e.event_id, e.sku, e.seq) for e in out["ledger"] if isinstance(e.output, Movement)
    )
    assert movements(twice) == movements(once)


@pytest.mark.parametrize("workers", [2])
def test_a_two_worker_cluster_ends_in_the_same_state_as_one_worker(workers: int) -> None:
    one = run(story())
    many = run(story(), workers=workers)
    assert final_views(many["views"]) == final_views(one["views"])
    key = lambda e: (e.event_id, e.sku, e.seq)  # noqa: E731
    assert sorted(map(key, many["ledger"])) == sorted(map(key, one["ledger"]))
    assert sorted(d.code for d in many["dead"]) == sorted(d.code for d in one["dead"])


def test_a_jsonl_file_is_folded_line_by_line_and_a_bad_line_is_dead_lettered_by_number(
    tmp_path,
) -> None:
    from connectors.files import JsonLinesSource

    path = tmp_path / "events.jsonl"
    lines = [e.model_dump_json().encode() for e in story() if not isinstance(e, bytes)]
    path.write_bytes(b"\n".join([*lines[:3], b"{broken", *lines[3:]]) + b"\n")
    ledger: list[LedgerEntry] = []
    dead: list[DeadLetter] = []
    sinks = InventorySinks(ledger=[TestingSink(ledger)], dead_letters=[TestingSink(dead)])
    run_main(build_inventory_flow(JsonLinesSource(path), sinks, catalog()))
    assert [(d.origin, d.code) for d in dead] == [("file:events.jsonl:4", "not_json")]
    assert len({e.event_id for e in ledger}) == len(lines)


def test_a_resumed_sku_re_asserts_its_view_even_when_its_first_events_are_redeliveries() -> None:
    """A process can fold an event and die before writing its view; after the resume the event
    comes again as a redelivery, which moves nothing. The resumed SKU's first batch still writes
    the view, so the live view and `current_stock` catch up with the state."""
    event = receipt(1, "RETRO-CLOCK", 12)
    stock, _ = apply(None, event, catalog(), sku="RETRO-CLOCK")

    resumed = FoldLogic(catalog(), stock, applied=False)
    first, _ = resumed.on_batch([("RETRO-CLOCK", event)])  # the same event, redelivered
    second, _ = resumed.on_batch([("RETRO-CLOCK", event)])

    views = [item for item in first if isinstance(item, SkuView)]
    assert [v.positions[0].quantities.available for v in views] == [12]
    assert not any(isinstance(item, SkuView) for item in second)  # only the first batch


def test_a_resumed_unknown_sku_whose_first_batch_is_a_redelivery_writes_no_view() -> None:
    """A SKU outside the catalog keeps the ids of its refused events; redelivered after a
    resume, its event is a duplicate, and there is no view to re-assert (the catalog has no
    such SKU to report ATP for)."""
    refused = receipt(1, "NO-SUCH-THING", 3)
    stock, _ = apply(None, refused, catalog(), sku="NO-SUCH-THING")
    assert stock is not None

    resumed = FoldLogic(catalog(), stock, applied=False)
    first, _ = resumed.on_batch([("NO-SUCH-THING", refused)])

    assert not any(isinstance(item, SkuView) for item in first)


def test_a_resumed_sku_whose_first_batch_is_new_but_moves_nothing_writes_no_view() -> None:
    """Only redeliveries re-assert the view: a refused event after a resume moves nothing and
    writes no view, as without the resume (so the view keeps the stamp of its last movement)."""
    stock, _ = apply(None, receipt(1, "RETRO-CLOCK", 12), catalog(), sku="RETRO-CLOCK")

    resumed = FoldLogic(catalog(), stock, applied=False)
    refused = pick(2, "O-none", "RETRO-CLOCK", 5)  # no such order: rejected, moves nothing
    first, _ = resumed.on_batch([("RETRO-CLOCK", refused)])

    assert any(isinstance(item, LedgerEntry) for item in first)
    assert not any(isinstance(item, SkuView) for item in first)
