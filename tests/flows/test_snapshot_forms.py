"""What the fold and the replenishment step hand Bytewax as snapshots (`dataflows.snapshots`):
packed lazily until the process has seen Bytewax write one, plain packed bytes from then on (a
restart unpickles those without a `find_class` per key), and either form restores the same state.
"""

from __future__ import annotations

import pickle
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, run_main

from connectors.inprocess import raw_event
from dataflows.inventory import InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishmentTap
from dataflows.snapshots import PackedWhenWritten, pack, restore, when_written
from state.apply import apply
from state.ledger import LedgerEntry
from state.stock import SkuStock
from tests.flows.test_inventory_flow import catalog, receipt

# A pickle that calls a global (the lazy form: `bytes(packed)`) names its module.
CALLS_A_GLOBAL = b"builtins"


@pytest.fixture
def not_yet_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process in which Bytewax has written no snapshot yet (restored after the test)."""
    monkeypatch.setattr(PackedWhenWritten, "written", False)


def clock_stock() -> SkuStock:
    stock, _ = apply(None, receipt(1, "RETRO-CLOCK", 12), catalog(), sku="RETRO-CLOCK")
    assert stock is not None
    return stock


@pytest.mark.usefixtures("not_yet_written")
def test_a_snapshot_before_any_is_written_is_packed_only_when_bytewax_pickles_it() -> None:
    stock = clock_stock()
    snapshot = when_written(stock)

    assert isinstance(snapshot, PackedWhenWritten)
    assert pickle.loads(pickle.dumps(snapshot)) == pack(stock)
    assert PackedWhenWritten.written  # Bytewax pickled one: it runs with recovery


@pytest.mark.usefixtures("not_yet_written")
def test_once_one_is_written_a_snapshot_is_plain_bytes_a_restart_reads_without_a_global() -> None:
    stock = clock_stock()
    pickle.dumps(when_written(stock))  # Bytewax writes a first snapshot

    snapshot = when_written(stock)

    assert snapshot == pack(stock)
    assert CALLS_A_GLOBAL not in pickle.dumps(snapshot)
    assert restore(pickle.loads(pickle.dumps(snapshot)), SkuStock, "the fold") == stock


@pytest.mark.usefixtures("not_yet_written")
def test_a_lazy_snapshot_holds_what_keep_made_of_the_state() -> None:
    kept: list[SkuStock] = []

    def keep(stock: SkuStock) -> SkuStock:
        kept.append(stock)
        return stock

    snapshot = when_written(clock_stock(), keep)

    assert isinstance(snapshot, PackedWhenWritten)
    assert kept == [snapshot.state]


@pytest.mark.usefixtures("not_yet_written")
def test_a_flow_with_recovery_writes_plain_snapshots_after_its_first_epoch(tmp_path: Path) -> None:
    """The first epoch's snapshots are lazy (nothing written yet), every later one plain; a
    resumed run folds on from either."""
    init_db_dir(tmp_path, 1)
    events = [receipt(1, "RETRO-CLOCK", 12), receipt(2, "TEAL-KETTLE", 3)]
    later = [receipt(3, "RETRO-CLOCK", 5), receipt(4, "TEAL-KETTLE", 1)]
    raws = [raw_event(e, f"inline/{n}") for n, e in enumerate([*events, *later])]
    source = TestingSource([raws[0], raws[1], TestingSource.ABORT(), raws[2], raws[3]])
    ledger: list[LedgerEntry] = []

    def attempt() -> None:
        sinks = InventorySinks(ledger=[TestingSink(ledger)], taps=[ReplenishmentTap(catalog())])
        flow = build_inventory_flow(source, sinks, catalog(), flow_id="skuflow-inventory")
        run_main(flow, epoch_interval=timedelta(0), recovery_config=RecoveryConfig(str(tmp_path)))

    attempt()
    attempt()

    with sqlite3.connect(tmp_path / "part-0.sqlite3") as conn:
        rows = conn.execute(
            "SELECT step_id, state_key, snap_epoch, ser_change FROM snaps "
            "WHERE step_id LIKE '%fold' OR step_id LIKE '%replenish%' ORDER BY snap_epoch"
        ).fetchall()
    newest = {(step, key): blob for step, key, _, blob in rows}
    assert len(newest) == 4  # two SKUs, two steps
    assert all(CALLS_A_GLOBAL not in blob for blob in newest.values())
    clock = restore(pickle.loads(newest["skuflow-inventory.fold", "RETRO-CLOCK"]), SkuStock, "")
    assert sum(p.quantities.available for p in clock.positions.values()) == 17
    assert {e.event_id for e in ledger} == {"rcpt-1", "rcpt-2", "rcpt-3", "rcpt-4"}
