"""The dataflow's state held compactly (issue 9, memory): positions in a `PositionMap` on shared
layouts, a site's untouched reorder trigger shared, open days as units from the first open day,
the replenishment state without its own copy of the SKU. None of it changes what a rule sees."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stock_factories import LON_A, LON_DOCK, MAN_A, make_catalog, put_away, received, run
from test_reorder_proposals import Mug
from test_replenishment_hot_path import mug_after_twenty_days

from state.buckets import Quantities
from state.catalog import Catalog
from state.demand.daily import DailyDemand
from state.demand.proposals import ARMED
from state.position_map import INDEXED, PositionMap
from state.stock import Position, SkuStock

CLOCK, MUG = "RETRO-CLOCK", "TEA-MUG"
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
COMPACT = Path(__file__).parent / "snapshots" / "replenishment_compact.pickle"


def bins(n: int) -> list[tuple[str, str]]:
    return [(f"LON/A/{k:02d}/01/1/A", "L1" if k % 3 else "") for k in range(n)]


def test_a_position_map_reads_like_the_dict_it_replaces() -> None:
    rng = random.Random(4)
    for size in (0, 1, INDEXED, INDEXED + 1, 40):
        keys = bins(size)
        rng.shuffle(keys)
        held = {key: Position(Quantities(available=n)) for n, key in enumerate(keys)}
        positions = PositionMap.of(held)

        assert positions == held
        assert list(positions) == sorted(held)
        assert list(positions.items()) == sorted(held.items())
        assert list(positions.values()) == [held[key] for key in sorted(held)]
        assert all(positions[key] is held[key] and key in positions for key in keys)
        assert ("LON/Z/99/99/9/Z", "") not in positions
        assert positions.get(("LON/Z/99/99/9/Z", "")) is None


def test_a_position_changed_or_added_is_where_a_dict_would_have_it() -> None:
    keys = bins(INDEXED + 3)
    held = {key: Position() for key in keys[:-1]}
    positions = PositionMap.of(held)
    moved = Position(Quantities(available=7))

    for key in (keys[2], keys[-1]):  # one held, one new
        changed = positions.with_position(key, moved)

        assert changed == {**held, key: moved}
        assert list(changed) == sorted({**held, key: moved})
    assert positions == held  # the map it came from is unchanged


def test_skus_in_the_same_bins_share_one_layout_of_keys(catalog: Catalog) -> None:
    clock, mug = (
        run(
            catalog,
            [received(sku, 10, at=LON_DOCK), put_away(sku, 4, src=LON_DOCK, dst=LON_A, minutes=1)],
        )[0]
        for sku in (CLOCK, MUG)
    )
    restored: SkuStock = pickle.loads(pickle.dumps(clock))

    assert clock.positions._keys is mug.positions._keys is restored.positions._keys
    assert restored.positions == clock.positions
    assert isinstance(restored.positions, PositionMap)


def test_a_stock_snapshot_still_holds_its_positions_as_a_plain_dict(catalog: Catalog) -> None:
    # The pickled shape is the one every earlier snapshot has, so both ways restore.
    stock, _ = run(catalog, [received(CLOCK, 10, at=LON_DOCK), received(CLOCK, 2, at=MAN_A)])

    positions = stock.__getstate__()[1]

    assert type(positions) is dict
    assert positions == dict(stock.positions)


def test_a_site_that_never_proposed_restores_the_one_shared_armed_trigger() -> None:
    mug = Mug(make_catalog())
    mug.order(0)
    assert mug.state is not None

    restored = pickle.loads(pickle.dumps(mug.state))

    assert restored.sites["LON"].trigger is ARMED
    assert restored == mug.state


def test_a_snapshot_of_the_compact_form_resumes_as_if_never_stopped() -> None:
    # Pickled by this form: the state without its SKU, a proposed site's own trigger, and its
    # open day as units from the first open day.
    catalog = make_catalog()
    mug = mug_after_twenty_days(catalog)

    restored = pickle.loads(COMPACT.read_bytes())

    assert restored == mug.state
    twin = Mug(catalog)
    twin.stock, twin.state = mug.stock, restored
    assert [p for day in range(20, 40) for p in twin.order(day)] == [
        p for day in range(20, 40) for p in mug.order(day)
    ]


def test_open_days_are_units_counted_from_the_first_open_day() -> None:
    demand = DailyDemand().observe(MONDAY, 2, "SO-1").observe(MONDAY + timedelta(days=2), 3)

    assert demand.days == (2.0, 0.0, 3.0)
    assert demand.open_units() == 5.0
    resumed, closed = demand.advance(MONDAY + timedelta(days=2, hours=20))
    assert closed == ((MONDAY.date(), 2.0), ((MONDAY + timedelta(days=1)).date(), 0.0))
    assert resumed.days == (3.0,)


def test_a_snapshot_holding_days_as_pairs_resumes_with_the_same_open_days() -> None:
    demand = DailyDemand().observe(MONDAY, 2).observe(MONDAY + timedelta(days=2), 3)
    wednesday = (MONDAY + timedelta(days=2)).date()
    pairs = ((MONDAY.date(), 2.0), (wednesday, 3.0))

    resumed = object.__new__(DailyDemand)
    resumed.__setstate__([UTC, timedelta(hours=6), MONDAY.date(), pairs, (), 0.0])

    assert resumed == demand
