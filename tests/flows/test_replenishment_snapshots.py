"""The replenishment step's snapshots (`dataflows.snapshots`): packed by skuflow, restored at a
key's first item, and snapshots written before packing (Bytewax's pickle of the
`SkuReplenishment`) still resume, proposing and forecasting as a run that never stopped."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSink, TestingSource, run_main

from connectors.inprocess import raw_event
from dataflows.inventory import Applied, InventorySinks, build_inventory_flow
from dataflows.replenishment import ReplenishLogic, ReplenishmentTap
from dataflows.snapshots import pack, restore
from state.apply import apply
from state.demand.proposals import ReorderProposed
from state.demand.published import DemandForecast
from state.events import Event, parts_by_sku, skus_of
from state.replenishment import ReplenishmentOutput, SkuReplenishment
from state.stock import SkuStock
from tests.flows.test_replenishment_flow import CONFIG, catalog, story

# Bytewax's pickle of RETRO-CLOCK's replenishment state after `story()[:CRASH]`, read from the
# recovery partition the code before packing wrote (`ReplenishLogic.snapshot` returned the state).
BEFORE_PACKING = (
    Path(__file__).parent.parent / "unit/snapshots/replenishment_snapshot_before_packing.pickle"
)
CRASH = 30  # events of `story()` folded before the crash: three receipts, then 27 days of orders


def story_events() -> list[Event]:
    return [event for event in story() if not isinstance(event, bytes)]


def applied_to(sku: str, events: list[Event]) -> list[Applied]:
    """What the fold hands the tap for `sku`: each event's part for it, applied in order."""
    stock: SkuStock | None = None
    items: list[Applied] = []
    for event in events:
        for part_sku, part in parts_by_sku(event, catalog(), skus_of(event, catalog())):
            if part_sku == sku:
                stock, outputs = apply(stock, part, catalog(), sku=sku)
                items.append(Applied(part, outputs, stock))
    return items


def split_at_crash(sku: str) -> tuple[list[Applied], list[Applied]]:
    """`sku`'s items before the crash and after it."""
    events = story_events()
    items = applied_to(sku, events)
    crashed = len(applied_to(sku, events[:CRASH]))
    return items[:crashed], items[crashed:]


def fed(logic: ReplenishLogic, items: list[Applied]) -> list[ReplenishmentOutput]:
    emitted: list[ReplenishmentOutput] = []
    for item in items:
        outputs, _ = logic.on_item(item)
        emitted.extend(outputs)
    return emitted


def written(snapshot: object) -> bytes:
    """What a restart reads back of a snapshot (Bytewax pickles it into the recovery partition
    and unpickles it on the restart): the state's own pickle, kept so until the key's first item."""
    packed = pickle.loads(pickle.dumps(snapshot))
    assert isinstance(packed, bytes)
    return packed


def replenishment_state(snapshot: object) -> SkuReplenishment:
    return restore(written(snapshot), SkuReplenishment, "the replenishment step")


def test_a_key_untouched_since_the_restart_snapshots_the_bytes_it_came_with() -> None:
    logic = ReplenishLogic(catalog(), CONFIG, None)
    fed(logic, applied_to("TEAL-KETTLE", story_events()[:CRASH]))
    packed = written(logic.snapshot())

    assert ReplenishLogic(catalog(), CONFIG, packed).snapshot() is packed


def test_a_resumed_key_proposes_and_forecasts_as_if_never_stopped() -> None:
    before, after = split_at_crash("RETRO-CLOCK")
    crashed = ReplenishLogic(catalog(), CONFIG, None)
    fed(crashed, before)
    never_stopped = ReplenishLogic(catalog(), CONFIG, None)
    fed(never_stopped, before)

    resumed = ReplenishLogic(catalog(), CONFIG, written(crashed.snapshot()))

    expected = fed(never_stopped, after)
    assert fed(resumed, after) == expected
    assert {type(output) for output in expected} == {ReorderProposed, DemandForecast}
    assert replenishment_state(resumed.snapshot()) == replenishment_state(never_stopped.snapshot())


def test_a_snapshot_written_before_packing_resumes_as_if_never_stopped() -> None:
    """Bytewax unpickles an old snapshot itself and hands the step a `SkuReplenishment`."""
    written_before = pickle.loads(BEFORE_PACKING.read_bytes())  # as Bytewax does on a restart
    before, after = split_at_crash("RETRO-CLOCK")
    never_stopped = ReplenishLogic(catalog(), CONFIG, None)
    fed(never_stopped, before)

    resumed = ReplenishLogic(catalog(), CONFIG, written_before)

    assert isinstance(written_before, SkuReplenishment)
    assert resumed.snapshot() == pack(written_before)  # packed from its next snapshot on
    assert fed(resumed, after) == fed(never_stopped, after)
    assert replenishment_state(resumed.snapshot()) == replenishment_state(never_stopped.snapshot())


def test_a_snapshot_of_another_flows_state_is_refused_with_what_to_do() -> None:
    with pytest.raises(TypeError) as refused:
        restore(pack(SkuStock.empty("RETRO-CLOCK")), SkuReplenishment, "the replenishment step")

    assert str(refused.value) == (
        "the replenishment step's snapshot holds a SkuStock, not a SkuReplenishment: the recovery "
        "directory belongs to another flow; point --recovery-dir at an empty directory"
    )


def run_story(
    recovery_dir: Path | None = None, after_crash: Callable[[], None] = lambda: None
) -> tuple[dict[str, ReorderProposed], dict[tuple[str, str, date], DemandForecast]]:
    """The story through the flow with the tap; with `recovery_dir`, crashing (an abort) after
    `CRASH` events, then `after_crash()`, then resuming from the recovery partitions."""
    items: list[object] = [raw_event(e, f"inline/{n}") for n, e in enumerate(story_events())]
    if recovery_dir is not None:
        items.insert(CRASH, TestingSource.ABORT())
    source = TestingSource(items)
    proposals: list[ReorderProposed] = []
    forecasts: list[DemandForecast] = []

    def attempt() -> None:
        tap = ReplenishmentTap(
            catalog(), CONFIG, [TestingSink(proposals)], [TestingSink(forecasts)]
        )
        flow = build_inventory_flow(source, InventorySinks(taps=[tap]), catalog())
        recovery = RecoveryConfig(str(recovery_dir)) if recovery_dir is not None else None
        run_main(flow, epoch_interval=timedelta(0), recovery_config=recovery)

    attempt()
    if recovery_dir is not None:
        after_crash()
        attempt()
    # A resumed run may emit again what the crashed one had (at least once): keyed, as the sinks.
    return (
        {p.proposal_id: p for p in proposals},
        {(f.sku, f.site, f.day): f for f in forecasts},
    )


@pytest.mark.parametrize("first_run_packs", [True, False], ids=["packed", "before_packing"])
def test_a_flow_resumed_after_a_crash_proposes_and_forecasts_as_one_that_never_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_run_packs: bool
) -> None:
    init_db_dir(tmp_path, 1)
    if not first_run_packs:  # as the code before packing did: the state itself
        monkeypatch.setattr(ReplenishLogic, "snapshot", lambda self: self._state)

    resumed = run_story(tmp_path, after_crash=monkeypatch.undo)
    never_stopped = run_story()

    assert resumed == never_stopped
    proposals, forecasts = resumed
    assert sorted(proposals) == ["rp:RETRO-CLOCK:LON:1", "rp:TEAL-KETTLE:MAN:1"]
    assert {sku for sku, _, _ in forecasts} == {"RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE"}
