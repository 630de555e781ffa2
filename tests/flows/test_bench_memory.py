"""`skuflow bench memory` at a tiny size: the state Bytewax snapshots, measured per SKU-location."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from connectors.replay.online_retail import data_file
from connectors.services.base import ServiceInfo
from connectors.settings import Settings
from dataflows.bench import memory

runner = CliRunner()


def measured_at_400(tmp_path: Path) -> dict[str, Any]:
    """`skuflow bench memory` at 400 SKU-locations (100 SKUs at four sites): its one row."""
    result = runner.invoke(
        app,
        ["bench", "memory", "--no-redis", "--sku-locations", "400", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    (row,) = json.loads((tmp_path / "memory.json").read_text())["rows"]
    return dict(row)


def test_every_sku_of_the_stream_has_its_state_snapshotted_and_measured(tmp_path: Path) -> None:
    row = measured_at_400(tmp_path)
    fold = next(step for step in row["steps"] if step["step"] == "fold")
    assert row["sku_locations"] == 400
    assert row["events"] == 400 * 3  # a receipt and its put-away each, then one more per
    assert fold["keys"] == 100  # 400 SKU-locations are 100 SKUs at four sites
    assert 0 < fold["seen_bytes"] < fold["memory_bytes"]
    assert fold["snapshot_bytes"] > 0
    table = (tmp_path / "memory.md").read_text()
    assert "| target | met |" in table
    assert "≤ 300" in table


def test_at_rest_every_key_is_frozen_and_held_in_fewer_bytes_than_in_use(tmp_path: Path) -> None:
    row = measured_at_400(tmp_path)
    cold = {tiers["step"]: tiers for tiers in row["cold"]}
    assert set(cold) == {"bench-memory.fold", "bench-memory.replenish"}
    for tiers in cold.values():
        assert tiers["hot_keys"] == 0
        assert tiers["cold_keys"] == tiers["froze"] == 100  # every SKU once, at the end
    fold = next(step for step in row["steps"] if step["step"] == "fold")
    assert 0 < cold["bench-memory.fold"]["cold_bytes"] < fold["memory_bytes"] / 2
    assert fold["thaw_us"] > 0
    assert "at rest: " in (tmp_path / "memory.md").read_text()


def test_the_online_retail_state_is_measured_per_sku_location_where_skus_hold_stock(
    tmp_path: Path,
) -> None:
    try:
        data_file(Settings().data_dir)
    except FileNotFoundError as exc:
        pytest.fail(f"the Online Retail data is missing: {exc}", pytrace=False)
    result = runner.invoke(
        app,
        [
            *("bench", "memory", "--no-redis", "--online-retail", "--limit-rows", "3000"),
            *("--out", str(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    (row,) = json.loads((tmp_path / "memory-year.json").read_text())["rows"]
    fold = next(step for step in row["steps"] if step["step"] == "fold")
    assert row["skus"] == fold["keys"] > 0
    assert fold["keys"] <= row["sku_locations"] <= 4 * fold["keys"]  # four sites at most
    assert 0 < fold["seen_bytes"] < fold["memory_bytes"]
    assert "after the Online Retail year (3000 rows" in (tmp_path / "memory-year.md").read_text()


def test_deep_size_counts_a_shared_object_once() -> None:
    shared = "x" * 1000
    assert memory.deep_size([[shared], [shared]]) < memory.deep_size([[shared], ["y" * 1000]])


@pytest.mark.integration
def test_the_redis_view_is_measured_under_its_own_prefix_and_removed(
    services: dict[str, ServiceInfo],
) -> None:
    figure = memory.measure([200], 1, services, log=lambda _: None)
    (row,) = figure.rows
    assert row["counted"] == row["events"]
    assert row["redis_memory_usage"] > 0
    assert "n/a" not in figure.markdown
