"""Cold keys (`dataflows.cold_state`): an idle SKU's state held compressed until its next event,
with the same outputs as a flow that never freezes anything."""

from __future__ import annotations

import math
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource, run_main

from connectors.engine_metrics import EngineCollector, step_tiers
from connectors.inprocess import raw_event
from connectors.replay import online_retail
from connectors.routing_config import routing_policy_for
from connectors.settings import Settings
from dataflows.bench.memory import deep_size
from dataflows.cold_state import (
    DEFAULT_POLICY,
    NEVER,
    ColdPolicy,
    IdleKeys,
    freeze,
    idle_keys,
    thaw,
)
from dataflows.inventory import FoldLogic, InventorySinks, build_inventory_flow
from dataflows.production import Wiring
from dataflows.replenishment import ReplenishmentTap
from dataflows.routing import Routing
from dataflows.runner import run_flow
from dataflows.snapshots import pack, restore
from state.apply import apply
from state.stock import SkuStock
from state.views import SkuView
from tests.flows.test_inventory_flow import catalog, receipt


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(eq=False)
class Key:
    """A logic that records when it is frozen."""

    name: str
    frozen: list[str] = field(default_factory=list)
    touched_round: int = -1

    def go_cold(self) -> int:
        self.frozen.append(self.name)
        return 100


def test_a_frozen_pack_thaws_to_the_same_bytes_and_is_smaller() -> None:
    stock, _ = apply(None, receipt(1, "RETRO-CLOCK", 12), catalog(), sku="RETRO-CLOCK")
    packed = pack(stock)

    assert thaw(freeze(packed)) == packed
    assert len(freeze(packed)) < len(packed)


def test_a_key_idle_for_the_policys_time_goes_cold_within_half_as_long_again() -> None:
    clock = Clock()
    tier = IdleKeys("fold", ColdPolicy(after_seconds=60), clock).tier()  # rounds of 30 s
    idle, busy = Key("idle"), Key("busy")
    tier.touch(idle)
    for _ in range(5):  # every 20 s until 100 s later
        clock.now += 20
        tier.touch(busy)
        if clock.now - 1000 < 60:
            assert idle.frozen == []  # never before its 60 s
    assert (idle.frozen, busy.frozen) == (["idle"], [])
    tier.touch(idle)  # thawed by an event: hot again
    figures = tier.cold_keys, tier.cold_bytes, tier.froze
    assert figures == (1, 100, 1)


def test_a_new_key_first_touched_by_a_rounds_first_event_is_not_taken_for_an_idle_one() -> None:
    clock = Clock()
    tier = IdleKeys("fold", ColdPolicy(after_seconds=60), clock).tier()
    old, new = Key("old"), Key("new")
    tier.touch(old)
    clock.now += 100  # a new round, and old idle long enough
    tier.touch(new)

    assert (old.frozen, new.frozen) == (["old"], [])


def test_a_key_touched_within_the_idle_time_stays_hot_however_long_it_lives() -> None:
    clock = Clock()
    tier = IdleKeys("fold", ColdPolicy(after_seconds=60), clock).tier()
    key = Key("busy")
    for _ in range(100):
        tier.touch(key)
        clock.now += 59

    assert key.frozen == []


def test_a_policy_of_zero_seconds_freezes_a_key_at_every_touch() -> None:
    tier = IdleKeys("fold", ColdPolicy(after_seconds=0), Clock()).tier()
    key = Key("k")
    tier.touch(key)
    tier.touch(key)

    assert key.frozen == ["k", "k"]


@dataclass(eq=False)
class Empty(Key):
    """A logic with no state to freeze."""

    def go_cold(self) -> int:
        super().go_cold()
        return 0


def test_a_key_with_nothing_to_freeze_stays_hot_and_is_not_counted_cold() -> None:
    tier = IdleKeys("fold", ColdPolicy(after_seconds=0), Clock()).tier()
    key = Empty("empty")
    tier.touch(key)

    assert key.frozen == ["empty"]
    assert (tier.cold_keys, tier.froze, key.touched_round) == (0, 0, tier.round)


def test_a_policy_that_never_freezes_tracks_nothing() -> None:
    assert idle_keys(op.input("in", Dataflow("f"), TestingSource([])), "fold", NEVER) is None
    with pytest.raises(ValueError, match="duration"):
        ColdPolicy(after_seconds=-1)


def fold_of(*quantities: int, idle: IdleKeys | None = None) -> FoldLogic:
    logic = FoldLogic(catalog(), None, applied=False, idle=idle)
    for n, quantity in enumerate(quantities, start=1):
        logic.on_batch([("RETRO-CLOCK", receipt(n, "RETRO-CLOCK", quantity))])
    return logic


def test_a_cold_fold_holds_its_pack_compressed_and_snapshots_the_pack() -> None:
    warm = fold_of(12, 3)
    stock = restore(pickle.loads(pickle.dumps(warm.snapshot())), SkuStock, "the fold")

    cold = fold_of(12, 3)
    held = cold.go_cold()

    snapshot = cold.snapshot()
    assert isinstance(snapshot, bytes)
    assert restore(snapshot, SkuStock, "the fold") == stock
    assert held == len(freeze(pack(stock))) + 33  # the bytes object's header
    assert held < 0.5 * deep_size([stock])  # the objects it held


def test_a_cold_key_thaws_at_its_next_event_and_folds_as_if_never_frozen() -> None:
    clock = Clock()
    idle = IdleKeys("fold", ColdPolicy(after_seconds=0), clock)
    cold = fold_of(12, 3, idle=idle)  # frozen after each batch (0 s)
    warm = fold_of(12, 3)

    next_event = [("RETRO-CLOCK", receipt(9, "RETRO-CLOCK", 5))]
    assert cold.on_batch(next_event) == warm.on_batch(next_event)
    figures = idle.tiering()
    assert (figures.froze, figures.thawed, figures.cold_keys) == (3, 2, 1)
    assert figures.thaw_seconds > 0


def run_online_retail(cold: ColdPolicy, tmp_path: Path, flow_id: str) -> dict[str, list[Any]]:
    """The first 5,000 Online Retail rows (ten days of orders, returns and cancellations), with
    routing, replenishment and recovery (cold keys are snapshotted too); every output kept."""
    try:
        path = online_retail.data_file(Settings().data_dir)
    except FileNotFoundError as exc:
        pytest.fail(f"the Online Retail data is missing: {exc}", pytrace=False)
    made = online_retail.build_catalog(path)
    events = list(online_retail.replay(path, limit_rows=5000))
    outputs: dict[str, list[Any]] = {"ledger": [], "views": [], "proposals": [], "forecasts": []}
    tap = ReplenishmentTap(
        made,
        sinks=[TestingSink(outputs["proposals"])],
        forecast_sinks=[TestingSink(outputs["forecasts"])],
        cold=cold,
    )
    sinks = InventorySinks(
        ledger=[TestingSink(outputs["ledger"])],
        views=[TestingSink(outputs["views"])],
        taps=[tap],
    )
    raws = [raw_event(event, f"test/{n}") for n, event in enumerate(events)]
    routing = Routing.for_catalog(made, routing_policy_for("online-retail", made))
    source = TestingSource(raws, batch_size=200)
    flow = build_inventory_flow(source, sinks, made, flow_id=flow_id, routing=routing, cold=cold)
    run_flow(flow, recovery_dir=tmp_path / "recovery", snapshot_seconds=0.5)
    return outputs


def test_a_flow_freezing_every_idle_key_at_once_writes_what_one_that_never_freezes_writes(
    tmp_path: Path,
) -> None:
    never = run_online_retail(NEVER, tmp_path / "never", "never-cold")
    always = run_online_retail(ColdPolicy(after_seconds=0), tmp_path / "always", "always-cold")

    assert never == always
    assert len(never["ledger"]) > 5000
    assert len(never["forecasts"]) > 500
    steps = {figures.step: figures for figures in step_tiers()}
    assert not [name for name in steps if name.startswith("never-cold.")]
    for step in ("always-cold.fold", "always-cold.replenish"):
        assert steps[step].hot_keys == 0  # every key cold once its batch is folded
        assert steps[step].cold_keys > 100
        assert steps[step].thawed > steps[step].cold_keys


def folded_without_recovery(cold: ColdPolicy) -> list[Any]:
    ledger: list[Any] = []
    events = [receipt(n, "RETRO-CLOCK", n) for n in range(1, 6)]
    source = TestingSource([raw_event(e, f"t/{n}") for n, e in enumerate(events)], batch_size=1)
    sinks = InventorySinks(ledger=[TestingSink(ledger)])
    run_main(build_inventory_flow(source, sinks, catalog(), cold=cold))
    return ledger


def test_without_recovery_a_key_frozen_after_every_event_folds_the_same_ledger() -> None:
    frozen = folded_without_recovery(ColdPolicy(after_seconds=0))

    assert len(frozen) >= 5
    assert frozen == folded_without_recovery(NEVER)


def test_the_engine_metrics_report_each_steps_hot_and_cold_keys() -> None:
    clock = Clock()
    idle = IdleKeys("metrics-flow.fold", ColdPolicy(after_seconds=60), clock)
    tier = idle.tier()
    busy = Key("b")
    tier.touch(Key("a"))
    for _ in range(4):
        clock.now += 30
        tier.touch(busy)  # a goes cold

    collector = EngineCollector(threading.get_native_id())
    families = {family.name: family for family in collector.collect()}
    keys = {
        s.labels["tier"]: s.value
        for s in families["skuflow_state_keys"].samples
        if s.labels["step"] == "metrics-flow.fold"
    }
    assert keys == {"hot": 1, "cold": 1}
    frozen = families["skuflow_state_frozen"].samples
    assert [s.value for s in frozen if s.labels["step"] == "metrics-flow.fold"] == [1]
    froze_for = families["skuflow_state_freeze_seconds"].samples
    assert [s.value > 0 for s in froze_for if s.labels["step"] == "metrics-flow.fold"] == [True]


@pytest.mark.parametrize(("setting", "after"), [("inf", math.inf), ("0", 0.0), ("900", 900.0)])
def test_the_setting_reaches_the_wiring(
    monkeypatch: pytest.MonkeyPatch, setting: str, after: float
) -> None:
    monkeypatch.setenv("SKUFLOW_COLD_AFTER_SECONDS", setting)

    assert Wiring.from_settings(Settings()).cold == ColdPolicy(after_seconds=after)


def test_the_default_freezes_after_ten_minutes() -> None:
    assert Settings().cold_after_seconds == 600 == DEFAULT_POLICY.after_seconds


def test_a_key_resumed_after_a_restart_and_left_idle_is_frozen_as_its_snapshot_came() -> None:
    clock = Clock()
    idle = IdleKeys("fold", ColdPolicy(after_seconds=60), clock)
    first = [("RETRO-CLOCK", receipt(1, "RETRO-CLOCK", 12))]
    snapshot = pack(restore(pickle.loads(pickle.dumps(fold_of(12).snapshot())), SkuStock, "f"))
    resumed = FoldLogic(catalog(), snapshot, applied=False, idle=idle)
    plain = FoldLogic(catalog(), snapshot, applied=False)

    clock.now += 100
    idle.tier().touch(Key("another"))  # a new round's walk: the resumed key idle 100 s

    assert idle.tiering().cold_keys == 1
    assert resumed.snapshot() == snapshot  # the same bytes, frozen and thawed
    # Its first batch, a redelivery, still rewrites the SKU's view as a resumed key does.
    outputs, _ = resumed.on_batch(first)
    assert outputs == plain.on_batch(first)[0]
    assert any(isinstance(output, SkuView) for output in outputs)
    assert idle.tiering().thawed == 1
