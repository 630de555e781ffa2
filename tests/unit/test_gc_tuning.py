"""The garbage collector as `skuflow run` sets it once start-up is done."""

from __future__ import annotations

import gc
import sys

import pytest

from dataflows import gc_tuning
from dataflows.gc_tuning import (
    YOUNG_THRESHOLD,
    _FreezeSurvivors,
    hold_collector_for_start_up,
    sweep,
    tune_for_streaming,
)


@pytest.mark.usefixtures("collector_restored")
def test_start_up_objects_are_frozen_and_young_collections_come_less_often() -> None:
    gc.unfreeze()
    catalog_built_at_start_up = [{"sku": "RETRO-CLOCK"}]

    tune_for_streaming()

    assert gc.get_threshold()[0] == YOUNG_THRESHOLD > 700
    assert gc.get_freeze_count() > 0
    # frozen: in no generation a collection walks
    assert all(obj is not catalog_built_at_start_up for obj in gc.get_objects())


@pytest.mark.usefixtures("collector_restored")
def test_cyclic_garbage_made_after_start_up_is_still_collected() -> None:
    tune_for_streaming()

    garbage = cycle()
    del garbage

    assert gc.collect() >= 2


@pytest.mark.usefixtures("collector_restored")
def test_the_gil_switch_interval_is_left_as_cpython_sets_it() -> None:
    # issue 9: shorter intervals did not shorten the epoch-end pauses (see the module docstring)
    before = sys.getswitchinterval()

    tune_for_streaming()

    assert sys.getswitchinterval() == before


@pytest.mark.usefixtures("collector_restored")
def test_the_collector_paused_for_start_up_runs_again_once_streaming() -> None:
    hold_collector_for_start_up()
    assert not gc.isenabled()

    tune_for_streaming()

    assert gc.isenabled()


class Node:
    peer: object = None


def cycle() -> list[Node]:
    first, second = Node(), Node()
    first.peer, second.peer = second, first
    return [first, second]


@pytest.mark.usefixtures("collector_restored")
def test_what_survives_a_full_collection_is_frozen_so_the_next_one_does_not_walk_it() -> None:
    tune_for_streaming()
    state_grown_while_streaming = [{"sku": f"SKU-{n}"} for n in range(100)]

    gc.collect()

    assert all(obj is not state_grown_while_streaming for obj in gc.get_objects())


@pytest.mark.usefixtures("collector_restored")
def test_a_cycle_frozen_alive_that_became_garbage_is_found_by_the_next_sweep() -> None:
    tune_for_streaming()
    (survivors,) = [c for c in gc.callbacks if isinstance(c, _FreezeSurvivors)]
    held = cycle()
    gc.collect()  # frozen alive
    del held[:]
    assert gc.collect() == 0  # garbage now, but frozen: no full collection walks it

    survivors.last_sweep -= survivors.sweep_seconds  # an hour has passed
    gc.collect()  # unfreezes at its end
    assert gc.collect() >= 2  # the sweep walks everything and finds the cycle
    assert gc.get_freeze_count() > 0  # and its survivors are frozen again


@pytest.fixture
def engine_collector(collector_restored: None) -> None:
    """The collector as `skuflow run` sets it (no sweeping thread started by the test)."""
    tune_for_streaming(freeze_young=True)


@pytest.mark.usefixtures("engine_collector")
def test_the_engines_young_collections_freeze_the_young_instead_of_walking_them() -> None:
    state_grown_while_streaming = [{"sku": f"SKU-{n}"} for n in range(100)]

    gc.collect(0)  # a young collection, as the allocations trigger them

    assert all(obj is not state_grown_while_streaming for obj in gc.get_objects())
    assert not any(isinstance(c, _FreezeSurvivors) for c in gc.callbacks)


@pytest.mark.usefixtures("engine_collector")
def test_a_cycle_that_became_garbage_in_the_engine_waits_for_the_sweep_and_is_found_there() -> None:
    held = cycle()
    gc.collect(0)  # frozen alive, as every young object is
    del held[:]
    assert gc.collect(0) == 0  # garbage now, but frozen: no young collection walks it

    assert sweep() >= 2  # everything walked: the cycle found
    assert gc.get_freeze_count() > 0  # and the survivors frozen again


@pytest.mark.usefixtures("engine_collector")
def test_a_young_collection_during_a_sweep_walks_as_usual() -> None:
    young = [{"sku": "RETRO-CLOCK"}]
    gc_tuning._sweeping.set()  # a sweep has unfrozen everything and not yet collected
    try:
        gc.collect(0)
    finally:
        gc_tuning._sweeping.clear()

    assert any(obj is young for obj in gc.get_objects())  # not frozen behind the sweep's back


@pytest.mark.usefixtures("engine_collector")
def test_the_sweeping_thread_goes_on_after_a_sweep_that_failed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[str] = ["raise", "raise", "stop"]

    def sweep_once() -> int:
        outcome = outcomes.pop(0)
        if outcome == "raise":
            raise RuntimeError("a finaliser raised")
        raise SystemExit  # ends the test's loop (not an Exception: the thread would end too)

    monkeypatch.setattr(gc_tuning, "sweep", sweep_once)

    with pytest.raises(SystemExit):
        gc_tuning._sweep_every(3600, wait=lambda _seconds: None)

    assert outcomes == []  # two failures logged, then the third sweep came
    assert caplog.text.count("the sweep failed") == 2
