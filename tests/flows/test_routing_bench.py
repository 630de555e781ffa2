"""`skuflow bench routing` on a slice of the real data: every strategy sees the same orders and
supply, nothing is oversold, and the cost model earns its keep against the baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from connectors.replay.online_retail import build_catalog, data_file, replay
from connectors.replay.retail_routing import retail_policy
from connectors.settings import Settings
from dataflows.routing_bench import BenchResult, Supply, run_all, spread

ROWS = 2000


@pytest.fixture(scope="module")
def results(settings: Settings) -> dict[str, BenchResult]:
    try:
        path = data_file(settings.data_dir)
    except FileNotFoundError as exc:
        pytest.fail(f"the routing benchmark replays the real data set: {exc}", pytrace=False)
    events = list(replay(path, limit_rows=ROWS))
    found = run_all(events, build_catalog(path), retail_policy())
    return {result.strategy: result for result in found}


def test_every_strategy_routes_the_same_orders_and_units(results: dict[str, BenchResult]) -> None:
    assert len({(r.orders, r.units_ordered) for r in results.values()}) == 1
    for result in results.values():
        assert result.units_allocated + result.units_unfilled == result.units_ordered


def test_the_cost_model_splits_less_and_ships_cheaper_than_largest_stock_first(
    results: dict[str, BenchResult],
) -> None:
    cost, largest = results["cost"], results["largest_stock"]
    assert cost.split_rate < largest.split_rate
    assert cost.shipping_cost < largest.shipping_cost


def test_batching_orders_of_a_window_lowers_shipping_cost(results: dict[str, BenchResult]) -> None:
    assert results["cost_batched"].shipping_cost < results["cost"].shipping_cost
    assert results["cost_batched"].shipments < results["cost"].shipments


def test_supply_goes_whole_to_the_site_furthest_below_its_share() -> None:
    supply = Supply({"RETRO-CLOCK": {"LON": 0.75, "MAN": 0.25}})

    sites = [supply.site_for("RETRO-CLOCK", 10) for _ in range(4)]

    assert sites.count("LON") == 3
    assert spread(10, {"LON": 0.75, "MAN": 0.25}) == {"LON": 8, "MAN": 2}


def test_the_command_writes_json_and_markdown(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- bench:routing:start -->\nold\n<!-- bench:routing:end -->\n")

    options = ["--limit-rows", "300", "--out", str(tmp_path), "--readme", str(readme)]
    only = ["--strategy", "nearest", "--strategy", "cost"]
    answer = CliRunner().invoke(app, ["bench", "routing", *options, *only])

    assert answer.exit_code == 0, answer.output
    document = json.loads((tmp_path / "routing.json").read_text())
    assert [r["strategy"] for r in document["results"]] == ["nearest", "cost"]
    assert "| cost |" in (tmp_path / "routing.md").read_text()
    assert "old" not in readme.read_text()
    assert "| nearest |" in readme.read_text()
