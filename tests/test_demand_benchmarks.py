"""The demand benchmarks run end to end on a slice of the real data (they are not the numbers).

They need the data in SKUFLOW_DATA_DIR: without it these tests fail, saying where they looked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.forecast_bench import CALENDAR, HINDSIGHT, SHRUNK, carparts_panel, monthly_methods
from connectors.replay.demand_history import CARPARTS_FILE, carparts_demand, online_retail_demand
from connectors.replay.online_retail import data_file
from connectors.settings import Settings
from state.demand.evaluation import evaluate

runner = CliRunner()
SLICE = ["--limit-rows", "80000", "--min-days", "20"]


@pytest.fixture(scope="module")
def data_dir() -> Path:
    folder = Settings().data_dir
    try:
        data_file(folder)
        if not (folder / CARPARTS_FILE).is_file():
            raise FileNotFoundError(f"{CARPARTS_FILE} not found: looked for {folder.resolve()}")
    except FileNotFoundError as exc:
        pytest.fail(f"the benchmarks' data is missing: {exc}", pytrace=False)
    return folder


@pytest.mark.parametrize("command", ["forecast", "replenishment"])
def test_every_demand_bench_has_help(command: str) -> None:
    result = runner.invoke(app, ["bench", command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_forecast_bench_scores_every_method_on_a_slice(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "forecast",
            *SLICE,
            "--no-carparts",
            "--cost-repeats",
            "200",
            "--out",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "forecast.json").read_text())
    per_sku = document["panels"][0]
    assert per_sku["name"] == "Online Retail, daily, per SKU"
    methods = {row["method"]: row for row in per_sku["methods"]}
    assert {"moving average 28", "seasonal naive 7", "Croston"} <= set(methods)
    assert {"pooled online model (river): mean", "pooled online model (river): median"} <= set(
        methods
    )
    assert {CALENDAR, SHRUNK, HINDSIGHT} <= set(methods)
    assert methods[SHRUNK]["bias"] < methods[CALENDAR]["bias"]  # the shrink shows its cost
    assert document["target"]["method"] == CALENDAR
    assert len({row["series"] for row in methods.values()}) == 1  # every method, every series
    assert methods["moving average 28"]["series"] > 0
    assert {row["model"] for row in document["model_costs"]} >= {"TSB", "moving average 28"}
    assert "## Target" in (tmp_path / "forecast.md").read_text()
    assert "mean MASE" in result.output


def test_the_replenishment_bench_simulates_a_slice(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["bench", "replenishment", *SLICE, "--warmup", "7", "--out", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "replenishment.json").read_text())
    outcomes = {row["policy"]: row for row in document["outcomes"]}
    assert "min/max, 7 days safety" in outcomes
    assert "skuflow, service level by ABC/XYZ" in outcomes
    assert all(0 <= row["fill_rate"] <= 1 for row in outcomes.values())
    assert len(document["targets"]) == 4
    assert len(document["bound"]["outcomes"]) == 4  # skuflow's policy with the level known
    assert 0 < document["big_day_shares"]["28"] < document["big_day_shares"]["7"] < 1
    assert any("lognormal lead-time demand" in name for name in outcomes)
    least = {row["at"]: row["least_units"] for row in document["fill_bound"]}
    assert 0 < least["min/max set from the warm-up, 7 days safety"] < least["95% fill rate"]


def test_the_carparts_panel_scores_monthly_methods(data_dir: Path) -> None:
    panel = carparts_panel(carparts_demand(data_dir))
    panel.series = panel.series[:60]

    scores = [evaluate(panel.series, m, panel.warmup) for m in monthly_methods()[:4]]

    assert all(s.series > 0 and s.mase > 0 for s in scores)


def test_retail_demand_counts_orders_net_of_their_cancellations(data_dir: Path) -> None:
    demand = online_retail_demand(data_dir, limit_rows=3000)

    total = sum(sum(days.values()) for days in demand.by_sku_site.values())
    by_country = sum(sum(days.values()) for days in demand.by_country.values())
    assert total == pytest.approx(by_country)
    assert all(units > 0 for days in demand.by_sku_site.values() for units in days.values())
    assert demand.unit_price["85123A"] == pytest.approx(2.55)  # WHITE HANGING HEART T-LIGHT
