"""`skuflow bench latency` at a tiny size: the API in its own process answers every read, the
open-loop generator keeps its rate, and its own floor and uvicorn's are measured beside the
figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.services.base import ServiceInfo
from dataflows.bench.engine import Services
from dataflows.bench.latency import Options, run

pytestmark = pytest.mark.integration


def test_every_read_at_each_rate_is_answered_and_timed(
    services: dict[str, ServiceInfo], tmp_path: Path
) -> None:
    options = Options(
        rates=(50, 100),
        duration=1.0,
        warmup=0.3,
        stop_p99_ms=10_000.0,
        runs=1,
        skus=20,
        feed_rate=20,
        connections=4,
        api_workers=2,  # `skuflow serve --workers 2`: both workers accept the same key
    )
    found = Services(services["kafka"].url, services["redis"].url, services["postgres"].url)
    figure = run(options, tmp_path / "out", tmp_path / "work", log=lambda _: None, services=found)

    assert [row["rate"] for row in figure.rows] == [50, 100]
    for row in figure.rows:
        assert row["errors"] == 0
        assert row["achieved_per_s"] == pytest.approx(row["rate"], rel=0.25)
        assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert 0 < row["generator_p50_ms"] <= row["generator_p99_ms"]
        assert 0 < row["p99_answer_ms"] <= row["p99_ms"]  # sent no earlier than due
        assert 0 < row["uvicorn_p50_ms"] <= row["uvicorn_p99_ms"]
    assert figure.parameters["feed_receipts_sent"] > 0
    written = json.loads((tmp_path / "out" / "latency.json").read_text())
    assert len(written["rows"]) == 2
    markdown = (tmp_path / "out" / "latency.md").read_text()
    assert "generator alone" in markdown
    assert "uvicorn alone" in markdown
