"""The demo's simulation is a believable floor: repeatable; only its deliberate mistakes fail."""

from __future__ import annotations

from connectors.simulator import simulate
from dataflows.demo import run_simulation


def test_the_same_seed_simulates_the_same_events() -> None:
    assert list(simulate(300, seed=3)) == list(simulate(300, seed=3))


def test_only_the_deliberate_mistakes_are_rejected_or_dead_lettered() -> None:
    result = run_simulation(1500, seed=11)
    assert set(result.rejections) <= {"unknown_sku"}
    assert all(letter.code == "invalid_event" for letter in result.dead_letters)


def test_every_simulated_event_is_accounted_for() -> None:
    result = run_simulation(800, seed=5)
    in_ledger = {entry.event_id for entry in result.ledger}
    assert len(in_ledger) + len(result.dead_letters) == result.events
    assert result.views, "the simulation moved no stock"
    assert all(view.atp.network >= 0 for view in result.views.values())
