"""The fold's snapshots (`dataflows.snapshots`): packed by skuflow, restored at a key's first
event, and snapshots written before packing (Bytewax's pickle of the `SkuStock`) still resume."""

from __future__ import annotations

import pickle
from datetime import timedelta
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, run_main

from connectors.inprocess import raw_event
from dataflows.inventory import FoldLogic, InventorySinks, build_inventory_flow
from dataflows.snapshots import pack, restore
from state.apply import apply
from state.ledger import LedgerEntry
from state.stock import SkuStock
from state.views import SkuView
from tests.flows.test_inventory_flow import catalog, receipt

BEFORE_PACKING = Path(__file__).parent.parent / "unit/snapshots/fold_snapshot_before_packing.pickle"


def fold_state(snapshot: object) -> SkuStock:
    """The state a snapshot holds once Bytewax has written it and read it back."""
    return restore(pickle.loads(pickle.dumps(snapshot)), SkuStock, "the fold")


def test_a_packed_snapshot_restores_the_state_it_was_packed_from() -> None:
    stock, _ = apply(None, receipt(1, "RETRO-CLOCK", 12), catalog(), sku="RETRO-CLOCK")

    assert fold_state(pack(stock)) == stock


def test_a_snapshot_written_before_packing_resumes_the_fold_and_is_packed_from_then_on() -> None:
    """Bytewax unpickles an old snapshot itself and hands the fold a `SkuStock`."""
    written_before = pickle.loads(BEFORE_PACKING.read_bytes())
    logic = FoldLogic(catalog(), written_before, applied=False)

    emitted, _ = logic.on_batch([("RETRO-CLOCK", receipt(2, "RETRO-CLOCK", 5))])

    (view,) = [item for item in emitted if isinstance(item, SkuView)]
    assert view.positions[0].quantities.available == 12 + 5
    assert fold_state(logic.snapshot()).quantities_at(view.positions[0].location).available == 17


def test_a_key_untouched_since_the_restart_snapshots_the_bytes_it_came_with() -> None:
    stock, _ = apply(None, receipt(1, "TEAL-KETTLE", 3), catalog(), sku="TEAL-KETTLE")
    packed = pack(stock)

    assert FoldLogic(catalog(), packed, applied=False).snapshot() is packed


def test_a_snapshot_of_another_flows_state_is_refused_with_what_to_do() -> None:
    with pytest.raises(TypeError) as refused:
        fold_state(pickle.dumps({"not": "a SkuStock"}))

    assert str(refused.value) == (
        "the fold's snapshot holds a dict, not a SkuStock: the recovery directory belongs to "
        "another flow; point --recovery-dir at an empty directory"
    )


@pytest.mark.parametrize("first_run_packs", [True, False], ids=["packed", "before_packing"])
def test_a_flow_resumed_after_a_crash_folds_on_from_its_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_run_packs: bool
) -> None:
    """The first run crashes (an abort) after two receipts; the second resumes from the recovery
    partitions, with the code of now, whichever form the first run wrote."""
    init_db_dir(tmp_path, 2)
    events = [receipt(1, "RETRO-CLOCK", 12), receipt(2, "TEAL-KETTLE", 3)]
    later = [receipt(3, "RETRO-CLOCK", 5)]
    raws = [raw_event(e, f"inline/{n}") for n, e in enumerate([*events, *later])]
    source = TestingSource([*raws[:2], TestingSource.ABORT(), *raws[2:]])
    ledger: list[LedgerEntry] = []
    views: list[SkuView] = []

    def attempt() -> None:
        sinks = InventorySinks(ledger=[TestingSink(ledger)], views=[TestingSink(views)])
        flow = build_inventory_flow(source, sinks, catalog())
        run_main(flow, epoch_interval=timedelta(0), recovery_config=RecoveryConfig(str(tmp_path)))

    if not first_run_packs:  # as the code before packing did: the state itself
        monkeypatch.setattr(FoldLogic, "snapshot", lambda self: self._stock)
    attempt()
    monkeypatch.undo()
    attempt()

    clock = [v for v in views if v.sku == "RETRO-CLOCK"]
    assert clock[-1].positions[0].quantities.available == 17  # 12 before the crash, 5 after
    assert {e.event_id for e in ledger} == {"rcpt-1", "rcpt-2", "rcpt-3"}


def test_a_restored_state_is_a_sku_stock() -> None:
    assert isinstance(fold_state(pack(SkuStock.empty("PAPER-BIRDIE"))), SkuStock)
