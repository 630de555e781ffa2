"""`skuflow bench allocation` at a tiny size: both systems sell the scarce SKU out without
overselling a unit, answer every order, and their own records agree with what they answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.services.base import ServiceInfo
from dataflows.bench.allocation import Options, _rows, markdown, run, stock_of
from dataflows.bench.allocation_workload import Side
from dataflows.bench.engine import Services

pytestmark = pytest.mark.integration


def test_neither_system_oversells_the_scarce_sku_and_their_records_agree(
    services: dict[str, ServiceInfo], tmp_path: Path
) -> None:
    options = Options(
        clients=8, hot_skus=2, stock_per_sku=1000, scarce_stock=20, duration=2.0, runs=1
    )
    found = Services(services["kafka"].url, services["redis"].url, services["postgres"].url)
    figure = run(options, tmp_path / "out", tmp_path / "work", log=lambda _: None, services=found)

    stock = stock_of(options)
    (pair,) = figure.parameters["runs_detail"]
    for side in pair:
        assert side["oversold"] == 0
        assert side["unanswered"] == 0
        assert side["orders"] > 0
        assert side["sold_out"], f"{side['system']} never sold the scarce SKU out"
        assert side["allocated"] == side["stored_allocated"]
        assert all(units <= stock[sku] for sku, units in side["allocated"].items())
    ours, theirs = figure.rows
    assert ours["ratio"] == pytest.approx(ours["orders_per_s"] / theirs["orders_per_s"])
    # a skuflow side primed the services first, and is reported apart from the medians
    priming = figure.parameters["priming"]
    assert priming["system"] == "skuflow"
    assert priming["oversold"] == 0
    assert "primed the services and is not in the medians" in figure.markdown
    # the engine's CPU while the clients ran: its worker thread did some work for every order,
    # and no more than the wall time allows
    engine = ours["engine"]
    assert 0 < engine["worker_us_per_order"] < 1_000_000
    assert 0 < engine["worker_busy"] <= 1.05
    assert engine["cores"] >= engine["worker_busy"] * 0.95
    assert 0 <= engine["worker_waiting_for_cpu"] <= 1.05 - engine["worker_busy"]
    written = json.loads((tmp_path / "out" / "allocation.json").read_text())
    assert [row["system"] for row in written["rows"]] == ["skuflow", "row locks (PostgreSQL)"]
    table = (tmp_path / "out" / "allocation.md").read_text()
    assert "× row locks" in table
    assert "µs of CPU per order" in table


def side(system: str, orders_per_s: float) -> Side:
    return Side(
        system=system, orders=100, orders_per_s=orders_per_s, p50_ms=10, p99_ms=20,
        unanswered=0, allocated={}, stored_allocated={}, oversold=0, sold_out=True,
    )  # fmt: skip


def test_a_run_with_the_engine_reniced_is_a_diagnostic_that_judges_no_target() -> None:
    pairs = [(side("skuflow", 100_000), side("row locks (PostgreSQL)", 1_000))]
    judged, diagnostic = _rows(pairs), _rows(pairs, diagnostic=True)

    assert judged[0]["target_met"] is True  # 100× row locks, p99 20 ms
    assert "target" not in diagnostic[0]
    assert diagnostic[0]["ratio"] == 100
    text = markdown(diagnostic, Options(engine_nice=-10), durability={})
    assert "nice -10" in text
    assert "Target missed" not in text
