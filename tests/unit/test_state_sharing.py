"""SKU states share what they have in common (bin keys, empty mappings, bucket snapshots, empty
lead-time books), live and after a snapshot is restored, without any rule seeing a difference
(issue 9, memory)."""

from __future__ import annotations

import pickle
import struct
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from stock_factories import LON_A, LON_DOCK, counted, put_away, received, run

from state.apply import apply
from state.buckets import ZERO
from state.catalog import Catalog
from state.demand.lead_time import NOTHING_LEARNT, LeadTimeBook
from state.outputs import Duplicate
from state.shared import EMPTY
from state.stock import SeenIds, SkuStock, _among

CLOCK = "RETRO-CLOCK"
MUG = "TEA-MUG"
BEFORE_SHARING = Path(__file__).parent / "snapshots" / "sku_stock_before_sharing.pickle"


def received_and_put_away(catalog: Catalog, sku: str) -> SkuStock:
    stock, _ = run(
        catalog,
        [
            received(sku, 10, at=LON_DOCK),
            put_away(sku, 10, src=LON_DOCK, dst=LON_A, minutes=1),
        ],
    )
    return stock


def restored(stock: SkuStock) -> SkuStock:
    restored_stock: SkuStock = pickle.loads(pickle.dumps(stock))
    return restored_stock


def test_a_restored_snapshot_equals_the_state_it_was_taken_of(catalog: Catalog) -> None:
    stock, _ = run(
        catalog,
        [
            received(CLOCK, 10, at=LON_DOCK, lot="L7"),
            put_away(CLOCK, 6, src=LON_DOCK, dst=LON_A, lot="L7", minutes=1),
            counted(CLOCK, 5, at=LON_A, lot="L7", minutes=2),
        ],
    )

    assert restored(stock) == stock
    assert restored(restored(stock)) == stock


def test_two_skus_share_their_bin_keys_buckets_and_empty_mappings(catalog: Catalog) -> None:
    clock, mug = received_and_put_away(catalog, CLOCK), received_and_put_away(catalog, MUG)

    for one, other in [(clock, mug), (restored(clock), restored(mug))]:
        assert [id(key) for key in one.positions] == [id(key) for key in other.positions]
        assert one.quantities_at(LON_A) is other.quantities_at(LON_A)
        assert one.reservations is other.reservations is EMPTY
        assert one.lots is other.in_transit is other.tag_reads is EMPTY


def test_a_bin_a_put_away_emptied_holds_the_shared_zero(catalog: Catalog) -> None:
    stock = received_and_put_away(catalog, CLOCK)

    assert stock.quantities_at(LON_DOCK) is ZERO
    assert restored(stock).quantities_at(LON_DOCK) is ZERO
    assert stock.quantities_at(LON_A).available == 10
    bin_a = stock.position((LON_A, ""))
    assert bin_a.shared() is bin_a  # already on the shared snapshot: nothing to copy


def test_the_shared_empty_mapping_cannot_be_filled_by_mistake() -> None:
    stock = SkuStock.empty(CLOCK)

    with pytest.raises(TypeError):
        stock.lots["L1"] = None  # type: ignore[index]


def test_a_snapshot_written_before_the_sharing_restores(catalog: Catalog) -> None:
    """Bytes pickled by the previous `SkuStock` (a tuple of recent ids, a dict per mapping)."""
    stock: SkuStock = pickle.loads(BEFORE_SHARING.read_bytes())

    assert stock.quantities_at(LON_DOCK, "L1").available == 6
    assert stock.quantities_at(LON_A, "L1").available == 3
    assert stock.quantities_at(LON_A).available == 5
    t0 = stock.position((LON_A, "")).entries[0][0] - timedelta(minutes=3)
    assert stock.position((LON_DOCK, "L1")).entries == ((t0, 10), (t0 + timedelta(minutes=1), -4))
    assert stock.expiry("L1") is not None
    assert stock.reservations is EMPTY
    assert [stock.has_seen(f"ev-{n}") for n in range(1, 6)] == [True] * 4 + [False]
    again = received(CLOCK, 5, at=LON_A)
    again = again.model_copy(update={"event_id": "ev-4"})
    assert apply(stock, again, catalog)[1] == (Duplicate("ev-4", CLOCK),)
    assert stock.version == 0  # written before versions: any stored view may be replaced
    assert restored(stock) == stock


def test_an_id_inside_a_remembered_id_is_not_seen() -> None:
    seen = SeenIds().add("order-12", 1024).add("order-34", 1024)

    assert "order-12" in seen
    assert "order-34" in seen
    assert "order-1" not in seen
    assert "12" not in seen
    assert "order-12\0order-34" not in seen
    assert len(seen) == 2


def test_the_newest_ids_are_held_as_eight_byte_keys_whatever_their_length() -> None:
    uuid_like = "3f2b8c1e-6a4d-4e8f-9b7a-0c5d2e1f4a6b"
    seen = SeenIds().add(uuid_like, 1024).add("with\0a-nul", 1024)

    assert len(seen.recent) == 2 * 8
    assert uuid_like in seen
    assert "with\0a-nul" in seen
    assert "with" not in seen


def test_a_key_is_found_only_on_a_keys_boundary() -> None:
    # Two keys whose bytes, read from the middle of the first, would spell a third.
    first, second = 0x1122334455667788, 0x99AABBCCDDEEFF00
    recent = struct.pack("=QQ", first, second)
    straddling = struct.unpack("=Q", recent[4:12])[0]

    assert _among(recent, first)
    assert _among(recent, second)
    assert not _among(recent, straddling)


def test_a_snapshot_holding_the_newest_ids_whole_restores_them_as_keys() -> None:
    older = SeenIds.__new__(SeenIds)
    older.__setstate__(["\0ev-1\0ev-2\0", b"", b""])

    assert older.recent == SeenIds().add("ev-1", 1024).add("ev-2", 1024).recent
    assert "ev-1" in older
    assert "ev-2" in older
    assert len(older) == 2


def test_a_full_chunk_of_recent_ids_moves_into_the_current_generation_as_keys() -> None:
    seen = SeenIds()
    for n in range(70):
        seen = seen.add(f"ev-{n}", 1024)

    assert len(seen.current) == 64 * 8  # 64 keys, 8 bytes each
    assert seen.previous == b""
    assert len(seen) == 70
    assert all(f"ev-{n}" in seen for n in range(70))
    assert "ev-70" not in seen


def test_a_full_generation_becomes_the_previous_one_and_the_one_before_is_forgotten() -> None:
    seen = SeenIds()
    for n in range(3 * 128 + 10):
        seen = seen.add(f"ev-{n}", 128)

    assert len(seen.previous) == 128 * 8  # ev-256 .. ev-383
    assert seen.current == b""
    assert all(f"ev-{n}" in seen for n in range(256, 394))
    assert not any(f"ev-{n}" in seen for n in range(256))
    assert len(seen) == 138


def test_a_hot_skus_window_holds_a_thousand_ids_in_a_few_kilobytes() -> None:
    seen = SeenIds()
    for n in range(5000):
        seen = seen.add(f"or-order-{536365 + n}", 1024)

    held = len(seen.recent) + len(seen.current) + len(seen.previous)
    assert len(seen) >= 1024
    assert held <= 20_000
    assert all(f"or-order-{536365 + n}" in seen for n in range(5000 - 1024, 5000))


def test_the_window_restores_from_a_snapshot_and_from_one_of_sets_of_whole_ids() -> None:
    seen = SeenIds()
    for n in range(200):
        seen = seen.add(f"ev-{n}", 1024)
    assert pickle.loads(pickle.dumps(seen)) == seen

    before_generations = SeenIds.__new__(SeenIds)
    before_generations.__setstate__(
        ["\0ev-9\0", (frozenset({"ev-1", "ev-2"}), frozenset({"ev-3"}))]
    )
    assert all(f"ev-{n}" in before_generations for n in (1, 2, 3, 9))
    assert "ev-4" not in before_generations
    assert len(before_generations) == 4


def test_a_lead_time_book_that_learnt_nothing_restores_as_the_shared_one() -> None:
    book = LeadTimeBook()

    assert book.open is book.suppliers is EMPTY
    assert pickle.loads(pickle.dumps(book)) is NOTHING_LEARNT


def test_a_lead_time_book_with_an_open_purchase_order_restores_equal() -> None:
    placed_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    book = LeadTimeBook(memory=5.0).placed("PO-7", "ACME", "LON", placed_at, date(2026, 1, 12))

    again = pickle.loads(pickle.dumps(book))

    assert again == book
    assert again.memory == 5.0
    assert again.asns is EMPTY
    assert again.open["PO-7"].supplier == "ACME"


def test_every_event_a_sku_takes_in_raises_its_version_once_and_a_duplicate_does_not(
    catalog: Catalog,
) -> None:
    arrived = received(CLOCK, 10, at=LON_DOCK)
    stock, _ = run(catalog, [arrived, put_away(CLOCK, 10, src=LON_DOCK, dst=LON_A, minutes=1)])
    assert stock.version == 2

    again, outputs = apply(stock, arrived, catalog)
    refused, _ = apply(again, put_away(CLOCK, 99, src=LON_DOCK, dst=LON_A, minutes=2), catalog)

    assert outputs == (Duplicate(arrived.event_id, CLOCK),)
    assert again.version == 2
    assert refused.version == 3  # a refused event is taken in (remembered) all the same
    assert restored(refused).version == 3
