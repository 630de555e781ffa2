"""`skuflow bench throughput` at a tiny size: every event is accounted for, every rate is real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from connectors.services.base import ServiceInfo
from dataflows.bench import throughput

runner = CliRunner()
# The bench sets the collector as `skuflow run` does, for the process: this one is pytest's.
pytestmark = pytest.mark.usefixtures("collector_restored")


def test_the_embedded_engine_and_its_ceiling_account_for_every_event_written_as_json_and_md(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        app,
        [
            *("bench", "throughput", "--no-full", "--no-retail", "--runs", "2"),
            *("--events", "300", "--sku-locations", "400", "--out", str(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "throughput.json").read_text())
    rows = document["rows"]
    assert {row["path"] for row in rows} == {"embedded", "bare fold"}
    assert len(rows) == 4  # two runs of two paths
    assert all(row["counted"] == row["events"] == 300 for row in rows)
    assert all(row["rate"] > 0 for row in rows)
    assert all(row["ratio_to_ceiling"] > 0 for row in rows if row["path"] == "embedded")
    table = (tmp_path / "throughput.md").read_text()
    assert "| target | met |" in table
    assert "≥ 150,000" in table
    assert document["machine"]["cpus"] >= 1


@pytest.mark.integration
def test_the_full_path_and_the_kafka_ceiling_count_every_event_produced(
    services: dict[str, ServiceInfo],
) -> None:
    workload = throughput.synthetic_workload(400, 300)
    figure = throughput.measure([workload], 1, services, snapshot_seconds=1, log=lambda _: None)
    by_path = {row["path"]: row for row in figure.rows}
    assert by_path["full path"]["counted"] == 300
    assert by_path["Kafka consume"]["counted"] == 300
    assert set(by_path["full path"]["stages"]) == {"produce", "sequence", "fold"}
    assert by_path["full path"]["rate"] > 0
    assert "≥ 50,000" in figure.markdown
